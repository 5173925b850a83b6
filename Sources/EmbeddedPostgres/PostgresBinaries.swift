import Foundation

/// Where the PostgreSQL server programs (`initdb`, `pg_ctl`) live on this machine.
public struct PostgresBinaries: Sendable {
    public let directory: String

    public var initdb: String { directory + "/initdb" }
    public var pgCtl: String { directory + "/pg_ctl" }

    /// Looks in order at `SUPPORTBILL_PG_BINDIR`, `pg_config --bindir`, the newest
    /// `/usr/lib/postgresql/*/bin` (Debian, Ubuntu), `/usr/pgsql-*/bin` (RHEL),
    /// Homebrew's `postgresql@*`, and `PATH`.
    /// `standardLocations: false` searches only the environment (for tests of the error).
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment, standardLocations: Bool = true) throws -> PostgresBinaries {
        var candidates: [String] = []
        if let explicit = environment["SUPPORTBILL_PG_BINDIR"], !explicit.isEmpty {
            candidates.append(explicit)
        }
        if standardLocations, let bindir = try? ProcessRunner.run("pg_config", ["--bindir"], searchPath: true).output
            .trimmingCharacters(in: .whitespacesAndNewlines), !bindir.isEmpty {
            candidates.append(bindir)
        }
        if standardLocations {
            candidates += newestFirst(globbing: "/usr/lib/postgresql", suffix: "/bin")
            candidates += newestFirst(globbing: "/usr", prefix: "pgsql-", suffix: "/bin")
            candidates += newestFirst(globbing: "/opt/homebrew/opt", prefix: "postgresql@", suffix: "/bin")
            candidates += newestFirst(globbing: "/usr/local/opt", prefix: "postgresql@", suffix: "/bin")
        }
        candidates += (environment["PATH"] ?? "").split(separator: ":").map(String.init)

        let fileManager = FileManager.default
        for directory in candidates
        where fileManager.isExecutableFile(atPath: directory + "/initdb") && fileManager.isExecutableFile(atPath: directory + "/pg_ctl") {
            return PostgresBinaries(directory: directory)
        }
        throw EmbeddedPostgresError.binariesNotFound(searched: candidates)
    }

    /// Subdirectories named `<prefix><version>` of `parent`, highest version first.
    private static func newestFirst(globbing parent: String, prefix: String = "", suffix: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []
        let versions = names.compactMap { name -> ([Int], String)? in
            guard name.hasPrefix(prefix) else { return nil }
            let parts = name.dropFirst(prefix.count).split(separator: ".").map { Int($0) }
            guard !parts.isEmpty, parts.allSatisfy({ $0 != nil }) else { return nil }
            return (parts.compactMap { $0 }, parent + "/" + name + suffix)
        }
        return versions.sorted { $0.0.lexicographicallyPrecedes($1.0) }.reversed().map(\.1)
    }
}
