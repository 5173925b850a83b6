import Foundation
import Postgres

/// A throwaway PostgreSQL cluster for the demo, the tests and the benchmark: `initdb` into a
/// directory of its own, started on a Unix socket only (no TCP port is opened), stopped and
/// deleted when done.
///
/// PostgreSQL refuses to run as root. When this process is root, the cluster is created and run
/// as the `postgres` user through `runuser`, in a directory that user owns. Clients connect as
/// the cluster's superuser `postgres` over the socket (trust authentication: the socket's
/// directory is only reachable by its owner and root).
public final class EmbeddedPostgres: Sendable {
    public struct Options: Sendable {
        /// Where to put the cluster; nil creates a fresh temporary directory.
        public var directory: String?
        /// Delete the directory on `stop()`.
        public var removeOnStop: Bool
        /// Extra server settings (`name = value` in postgresql.conf).
        public var settings: [String: String]
        /// Lines replacing pg_hba.conf on a new cluster (empty: initdb's trust for everyone), e.g.
        /// `local all postgres trust` then `local all all scram-sha-256` to test password
        /// authentication over the socket.
        public var hba: [String]

        public init(directory: String? = nil, removeOnStop: Bool = true, settings: [String: String] = [:]) {
            self.init(directory: directory, removeOnStop: removeOnStop, settings: settings, hba: [])
        }

        public init(directory: String? = nil, removeOnStop: Bool = true, settings: [String: String] = [:], hba: [String]) {
            self.directory = directory
            self.removeOnStop = removeOnStop
            self.settings = settings
            self.hba = hba
        }

        /// Settings for disposable data: no fsync, as the data does not outlive the process.
        public static let disposable: [String: String] = [
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "200",
            "shared_buffers": "128MB",
            "max_locks_per_transaction": "256",
        ]
    }

    public let directory: String
    public let dataDirectory: String
    public let socketDirectory: String
    public let port: Int
    public let superuser = "postgres"
    private let binaries: PostgresBinaries
    private let runAsPostgresUser: Bool
    private let removeOnStop: Bool

    private init(directory: String, binaries: PostgresBinaries, runAsPostgresUser: Bool, removeOnStop: Bool, port: Int) {
        self.directory = directory
        self.dataDirectory = directory + "/data"
        self.socketDirectory = directory + "/socket"
        self.binaries = binaries
        self.runAsPostgresUser = runAsPostgresUser
        self.removeOnStop = removeOnStop
        self.port = port
    }

    /// Creates (if needed) and starts a cluster.
    public static func start(_ options: Options = Options(settings: Options.disposable)) throws -> EmbeddedPostgres {
        let binaries = try PostgresBinaries.locate()
        let asRoot = geteuid() == 0
        var owner: (uid: uid_t, gid: gid_t)?
        if asRoot {
            guard let entry = getpwnam("postgres"), FileManager.default.isExecutableFile(atPath: "/usr/sbin/runuser") || FileManager.default.isExecutableFile(atPath: "/sbin/runuser") else {
                throw EmbeddedPostgresError.noPostgresUser()
            }
            owner = (entry.pointee.pw_uid, entry.pointee.pw_gid)
        }

        let directory: String
        if let given = options.directory {
            directory = given
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } else {
            // /tmp is reachable by every user, so the postgres user can use a directory in it.
            var template = Array((NSTemporaryDirectory() + "/supportbill-pg-XXXXXX").utf8CString)
            guard let created = mkdtemp(&template) else {
                throw EmbeddedPostgresError.filesystem("cannot create a temporary directory: \(String(cString: strerror(errno)))")
            }
            directory = String(cString: created)
        }
        let cluster = EmbeddedPostgres(directory: directory, binaries: binaries, runAsPostgresUser: asRoot, removeOnStop: options.removeOnStop, port: 5432)
        if let owner {
            guard chown(directory, owner.uid, owner.gid) == 0 else {
                throw EmbeddedPostgresError.filesystem("cannot give \(directory) to the postgres user: \(String(cString: strerror(errno)))")
            }
            // The postgres user must be able to reach the directory through every parent.
            var parent = (directory as NSString).deletingLastPathComponent
            while parent != "/" && !parent.isEmpty {
                var info = stat()
                if stat(parent, &info) == 0, info.st_mode & S_IXOTH == 0 {
                    throw EmbeddedPostgresError.filesystem("\(parent) is not reachable by the postgres user (mode o+x missing); choose another directory")
                }
                parent = (parent as NSString).deletingLastPathComponent
            }
        }
        chmod(directory, 0o700)

        if !FileManager.default.fileExists(atPath: cluster.dataDirectory + "/PG_VERSION") {
            try cluster.runAsOwner(binaries.initdb, [
                "-D", cluster.dataDirectory, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions",
            ])
            var settings = options.settings
            settings["listen_addresses"] = "''"
            settings["unix_socket_directories"] = "'\(cluster.socketDirectory)'"
            settings["port"] = String(cluster.port)
            settings["logging_collector"] = "off"
            let lines = settings.sorted { $0.key < $1.key }.map { "\($0.key) = \($0.value)" }
            let conf = "\n# supportbill embedded cluster\n" + lines.joined(separator: "\n") + "\n"
            let confURL = URL(fileURLWithPath: cluster.dataDirectory + "/postgresql.conf")
            let handle = try FileHandle(forWritingTo: confURL)
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(conf.utf8))
            try handle.close()
            if !options.hba.isEmpty {
                // Written in place, so the file keeps its owner (the postgres user, when root).
                try Data((options.hba.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: cluster.dataDirectory + "/pg_hba.conf"))
            }
        }
        try cluster.runAsOwner("/bin/mkdir", ["-p", cluster.socketDirectory])
        try cluster.runAsOwner(binaries.pgCtl, ["start", "-D", cluster.dataDirectory, "-l", directory + "/server.log", "-w", "-t", "120", "-s"])
        return cluster
    }

    /// libpq connection parameters for `database` as the superuser.
    public func connectionParameters(database: String = "postgres") -> [(String, String)] {
        [("host", socketDirectory), ("port", String(port)), ("dbname", database), ("user", superuser)]
    }

    /// A conninfo string for `database` (the socket path has no spaces or quotes by construction).
    public func conninfo(database: String = "postgres") -> String {
        "host=\(socketDirectory) port=\(port) dbname=\(database) user=\(superuser)"
    }

    public func connect(database: String = "postgres") throws -> PostgresConnection {
        try PostgresConnection(parameters: connectionParameters(database: database))
    }

    /// Stops the server (fast shutdown) and, unless kept, deletes the directory.
    public func stop() throws {
        if FileManager.default.fileExists(atPath: dataDirectory + "/postmaster.pid") {
            try runAsOwner(binaries.pgCtl, ["stop", "-D", dataDirectory, "-m", "fast", "-w", "-t", "60", "-s"])
        }
        if removeOnStop { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// Stops the server at once, as a crash would (`pg_ctl stop -m immediate`), and restarts it:
    /// for fault tests.
    public func restartImmediately() throws {
        try runAsOwner(binaries.pgCtl, ["restart", "-D", dataDirectory, "-m", "immediate", "-w", "-t", "120", "-s", "-l", directory + "/server.log"])
    }

    private func runAsOwner(_ program: String, _ arguments: [String]) throws {
        let outcome: ProcessRunner.Outcome
        var environment = ProcessInfo.processInfo.environment
        environment["LC_ALL"] = "C"
        environment.removeValue(forKey: "PGDATA")
        if runAsPostgresUser {
            let runuser = FileManager.default.isExecutableFile(atPath: "/usr/sbin/runuser") ? "/usr/sbin/runuser" : "/sbin/runuser"
            outcome = try ProcessRunner.run(runuser, ["-u", "postgres", "--", program] + arguments, environment: environment)
        } else {
            outcome = try ProcessRunner.run(program, arguments, environment: environment)
        }
        guard outcome.status == 0 else {
            var output = outcome.output
            if let log = try? String(contentsOfFile: directory + "/server.log", encoding: .utf8) {
                output += "\nserver.log:\n" + log
            }
            throw EmbeddedPostgresError.commandFailed(((program as NSString).lastPathComponent), status: outcome.status, output: output)
        }
    }
}
