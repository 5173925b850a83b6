import Foundation

/// A streaming standby of an embedded cluster, for failover tests: `pg_basebackup -R` of the
/// running cluster into a directory of its own, started on a socket of its own, promoted when
/// the test stops the primary.
extension EmbeddedPostgres {
    /// Takes a base backup of this (running) cluster and starts it as a streaming standby
    /// (`standby.signal` and `primary_conninfo` written by `-R`, streaming from this cluster's
    /// socket). Replication connections are trusted on the socket (initdb's default hba).
    public func startStandby() throws -> EmbeddedPostgres {
        let binaries = try PostgresBinaries.locate()
        var template = Array((NSTemporaryDirectory() + "/supportbill-pg-standby-XXXXXX").utf8CString)
        guard let created = mkdtemp(&template) else {
            throw EmbeddedPostgresError.filesystem("cannot create a temporary directory: \(String(cString: strerror(errno)))")
        }
        let standbyDirectory = String(cString: created)
        if geteuid() == 0 {
            guard let entry = getpwnam("postgres"), chown(standbyDirectory, entry.pointee.pw_uid, entry.pointee.pw_gid) == 0 else {
                throw EmbeddedPostgresError.noPostgresUser()
            }
        }
        chmod(standbyDirectory, 0o700)
        try EmbeddedPostgres.runAsPostgres(binaries.directory + "/pg_basebackup", [
            "-D", standbyDirectory + "/data", "-R", "-X", "stream", "-c", "fast", "--no-sync",
            "-h", socketDirectory, "-p", String(port), "-U", superuser,
        ], log: nil)
        // The copied postgresql.conf names the primary's socket directory; a later line wins.
        let conf = "\n# supportbill embedded standby\nunix_socket_directories = '\(standbyDirectory)/socket'\n"
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: standbyDirectory + "/data/postgresql.conf"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(conf.utf8))
        try handle.close()
        // The backup holds PG_VERSION: start() only starts it.
        return try EmbeddedPostgres.start(Options(directory: standbyDirectory, removeOnStop: true))
    }

    /// Promotes a standby to primary and waits until it accepts writes.
    public func promote() throws {
        try pgCtl(["promote", "-D", dataDirectory, "-w", "-t", "120", "-s"])
    }

    /// Stops the server at once, as a crash or a lost host would (`pg_ctl stop -m immediate`),
    /// and leaves it stopped; `stop()` later removes the directory.
    public func stopImmediately() throws {
        try pgCtl(["stop", "-D", dataDirectory, "-m", "immediate", "-w", "-t", "60", "-s"])
    }

    /// Runs pg_ctl as the cluster's owner, in the network namespace `networkNamespace` (a
    /// /proc/<pid>/ns/net path) when given: a server started there listens on that namespace's
    /// loopback.
    func pgCtl(_ arguments: [String], networkNamespace: String? = nil) throws {
        let binaries = try PostgresBinaries.locate()
        try EmbeddedPostgres.runAsPostgres(binaries.pgCtl, arguments, networkNamespace: networkNamespace, log: directory + "/server.log")
    }

    /// Runs a server program as the `postgres` user when this process is root (PostgreSQL
    /// refuses root), as this user otherwise.
    static func runAsPostgres(_ program: String, _ arguments: [String], networkNamespace: String? = nil, log: String?) throws {
        var environment = ProcessInfo.processInfo.environment
        environment["LC_ALL"] = "C"
        environment.removeValue(forKey: "PGDATA")
        var command = [program] + arguments
        if geteuid() == 0 {
            let runuser = FileManager.default.isExecutableFile(atPath: "/usr/sbin/runuser") ? "/usr/sbin/runuser" : "/sbin/runuser"
            command = [runuser, "-u", "postgres", "--"] + command
        }
        if let networkNamespace { command = ["/usr/bin/nsenter", "--net=\(networkNamespace)"] + command }
        let outcome = try ProcessRunner.run(command[0], Array(command.dropFirst()), environment: environment)
        guard outcome.status == 0 else {
            var output = outcome.output
            if let log, let text = try? String(contentsOfFile: log, encoding: .utf8) { output += "\nserver.log:\n" + text }
            throw EmbeddedPostgresError.commandFailed((program as NSString).lastPathComponent, status: outcome.status, output: output)
        }
    }
}
