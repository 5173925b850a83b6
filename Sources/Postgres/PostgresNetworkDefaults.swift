import CLibPQ
import Foundation

/// TCP settings that bound how long a connection waits on a network that went silent (a
/// firewall's state timeout, a failed link, a host that vanished), added to every connection
/// unless the user set them. Without them libpq waits as long as the kernel lets it: hours.
///
/// The bound, with these defaults, on Linux (`keepalives_*` and `tcp_user_timeout` are libpq's
/// connection keywords; they apply to TCP connections only, never to a Unix socket):
/// - waiting for a reply with nothing unacknowledged (a statement running, or its result lost):
///   keepalive probes start after 30 s of silence, every 10 s; `tcp_user_timeout` (60 s) then
///   ends the connection at the first probe 60 s after the last packet received, about 60-70 s;
/// - sending with data unacknowledged: `tcp_user_timeout` ends it 60 s after the oldest unacked
///   byte was sent.
/// Either way the call fails with a lost connection (exit 69) within about 70 s; 2 minutes is
/// the documented bound (docs/failover.md). The server's side of the session gets the same
/// values (`tcp_keepalives_*`, `tcp_user_timeout`), so its backend, and the job's lock, go too.
public enum PostgresNetworkDefaults {
    /// The defaults, as libpq keywords and values (seconds, `tcp_user_timeout` in milliseconds).
    public static let keywords: [(String, String)] = [
        ("keepalives", "1"),
        ("keepalives_idle", "30"),
        ("keepalives_interval", "10"),
        ("keepalives_count", "3"),
        ("tcp_user_timeout", "60000"),
    ]

    /// The defaults the user has not set: neither in `conninfo` (a conninfo string or URI), nor
    /// in `parameters`, nor through libpq's environment (`PQconndefaults` reports what PG*
    /// variables and the service named by PGSERVICE supply), nor in the service `conninfo` or
    /// `parameters` names (read from the service file as libpq would).
    public static func unset(conninfo: String?, parameters: [(String, String)],
                             environment: [String: String] = ProcessInfo.processInfo.environment) -> [(String, String)] {
        var given = Set(parameters.map(\.0))
        var service = parameters.last { $0.0 == "service" }?.1
        if let conninfo, !conninfo.isEmpty {
            for (keyword, value) in parsed(conninfo) {
                given.insert(keyword)
                if keyword == "service", service == nil { service = value }
            }
        }
        if let defaults = PQconndefaults() {
            given.formUnion(options(defaults).map(\.0))
            PQconninfoFree(defaults)
        }
        if let name = service ?? environment["PGSERVICE"], !name.isEmpty {
            given.formUnion(PostgresServiceFile.keywords(of: name, environment: environment))
        }
        return keywords.filter { !given.contains($0.0) }
    }

    /// The server's settings for the session that mirror the connection's own keepalives, so
    /// that the server too notices a silent client within the bound (and frees its locks). Empty
    /// when keepalives are off. `effective` is what the connection uses (`PQconninfo`).
    public static func serverSettings(effective: [String: String]) -> [(String, String)] {
        guard effective["keepalives"] != "0" else { return [] }
        let pairs = [
            ("tcp_keepalives_idle", "keepalives_idle"), ("tcp_keepalives_interval", "keepalives_interval"),
            ("tcp_keepalives_count", "keepalives_count"), ("tcp_user_timeout", "tcp_user_timeout"),
        ]
        return pairs.compactMap { setting, keyword in
            guard let value = effective[keyword], !value.isEmpty, Int(value) != nil else { return nil }
            return (setting, value)
        }
    }

    /// The keywords a conninfo string or URI sets, with their values (empty when unparsable:
    /// libpq will report that itself when connecting).
    static func parsed(_ conninfo: String) -> [(String, String)] {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let list = PQconninfoParse(conninfo, &errorMessage) else {
            if let errorMessage { PQfreemem(errorMessage) }
            return []
        }
        defer { PQconninfoFree(list) }
        return options(list)
    }

    /// The options of a libpq option array that have a value.
    static func options(_ list: UnsafeMutablePointer<PQconninfoOption>) -> [(String, String)] {
        var found: [(String, String)] = []
        var option = list
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val { found.append((String(cString: keyword), String(cString: value))) }
            option = option.advanced(by: 1)
        }
        return found
    }
}

/// The keywords a service of libpq's connection service file sets (`pg_service.conf`): the
/// user's file (PGSERVICEFILE, else ~/.pg_service.conf) first, then the system's (PGSYSCONFDIR,
/// else the usual places), the first that has the service wins, as in libpq.
enum PostgresServiceFile {
    static func keywords(of service: String, environment: [String: String]) -> Set<String> {
        var files: [String] = []
        if let file = environment["PGSERVICEFILE"], !file.isEmpty {
            files.append(file)
        } else if let home = environment["HOME"], !home.isEmpty {
            files.append(home + "/.pg_service.conf")
        }
        if let directory = environment["PGSYSCONFDIR"], !directory.isEmpty {
            files.append(directory + "/pg_service.conf")
        } else {
            files += ["/etc/postgresql-common/pg_service.conf", "/etc/pg_service.conf", "/etc/sysconfig/pgsql/pg_service.conf"]
        }
        for file in files {
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { continue }
            if let found = section(service, in: text) { return found }
        }
        return []
    }

    /// The keys of `[service]` in an INI-style text, nil when the section is absent.
    static func section(_ service: String, in text: String) -> Set<String>? {
        var inside = false
        var found: Set<String>?
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("[") {
                inside = line.dropFirst().prefix { $0 != "]" } == service[...]
                if inside && found == nil { found = [] }
                continue
            }
            if inside, let equals = line.firstIndex(of: "=") {
                found?.insert(line[..<equals].trimmingCharacters(in: .whitespaces))
            }
        }
        return found
    }
}
