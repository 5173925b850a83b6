import Foundation
import Postgres

/// A throwaway Citus cluster for tests and the benchmark (docs/design.md §12): a coordinator and
/// `workerCount` workers, each an `EmbeddedPostgres` of its own with `citus` preloaded, in one
/// directory, stopped and deleted together.
///
/// Nodes reach each other with libpq like any client. Each node listens only on a Unix socket
/// in its own directory, and that directory is the node's name in the Citus metadata
/// (`citus_add_node('/tmp/…/worker-1/socket', 5432)`: libpq treats a host starting with `/` as
/// a socket directory). So no TCP port is opened, nothing collides with another test's cluster
/// or a system server, and every node can keep PostgreSQL's default port.
///
/// As root, every node runs as the `postgres` user exactly as `EmbeddedPostgres` does; the
/// shared parent directory is made traversable (0711) so that user can reach its nodes.
///
/// Citus keeps its metadata per database: a database used with Citus must exist on every node
/// with the extension created in it and the nodes registered on its coordinator.
/// `start()` prepares `postgres`; `createDatabase(_:)` prepares any other.
public final class EmbeddedCitusCluster: Sendable {
    public struct Options: Sendable {
        /// Where to put the nodes (one subdirectory each); nil creates a temporary directory.
        public var directory: String?
        /// How many workers besides the coordinator.
        public var workerCount: Int
        /// Server settings of every node; `shared_preload_libraries` and `wal_level` are added.
        public var settings: [String: String]
        /// Delete the directory on `stop()`.
        public var removeOnStop: Bool

        public init(directory: String? = nil, workerCount: Int = 2, settings: [String: String] = EmbeddedPostgres.Options.disposable, removeOnStop: Bool = true) {
            self.directory = directory
            self.workerCount = workerCount
            self.settings = settings
            self.removeOnStop = removeOnStop
        }
    }

    public let directory: String
    public let coordinator: EmbeddedPostgres
    public let workers: [EmbeddedPostgres]
    public let installation: CitusInstallation
    private let removeOnStop: Bool

    /// The coordinator first, then the workers.
    public var nodes: [EmbeddedPostgres] { [coordinator] + workers }

    private init(directory: String, coordinator: EmbeddedPostgres, workers: [EmbeddedPostgres], installation: CitusInstallation, removeOnStop: Bool) {
        self.directory = directory
        self.coordinator = coordinator
        self.workers = workers
        self.installation = installation
        self.removeOnStop = removeOnStop
    }

    /// Starts the nodes (in parallel: initdb dominates), creates the extension on each in
    /// database `postgres`, registers the coordinator and the workers, and checks that the
    /// coordinator sees every worker active. Throws `EmbeddedCitusError` when Citus is not
    /// installed (check `CitusInstallation.locate()` first to skip instead).
    public static func start(_ options: Options = Options()) throws -> EmbeddedCitusCluster {
        let binaries = try PostgresBinaries.locate()
        guard let installation = CitusInstallation.locate(binaries: binaries) else {
            throw EmbeddedCitusError.notInstalled(binaries: binaries)
        }
        let directory: String
        if let given = options.directory {
            directory = given
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } else {
            var template = Array((NSTemporaryDirectory() + "/supportbill-citus-XXXXXX").utf8CString)
            guard let created = mkdtemp(&template) else {
                throw EmbeddedCitusError("cannot create a temporary directory: \(String(cString: strerror(errno)))")
            }
            directory = String(cString: created)
        }
        // As root the nodes run as postgres, which must pass through this directory to its own
        // node directories (it cannot list it: 0711).
        chmod(directory, geteuid() == 0 ? 0o711 : 0o700)

        var settings = options.settings
        settings["shared_preload_libraries"] = "'citus'"
        // Shard moves (citus_rebalance_start, citus_move_shard_placement) use logical replication.
        settings["wal_level"] = "logical"
        // Citus runs a maintenance background worker per database that has the extension; tests
        // create a database each, and PostgreSQL's default of 8 workers runs out at once.
        settings["max_worker_processes"] = settings["max_worker_processes"] ?? "64"
        let nodeSettings = settings
        let names = ["coordinator"] + (0..<max(options.workerCount, 0)).map { "worker-\($0 + 1)" }
        let started = StartedNodes(count: names.count)
        DispatchQueue.concurrentPerform(iterations: names.count) { index in
            let nodeDirectory = directory + "/" + names[index]
            var settings = nodeSettings
            // How a node reaches itself (the rebalancer's background tasks connect to the local
            // node): 'localhost' by default, i.e. TCP, which these nodes do not listen on.
            // EmbeddedPostgres puts the socket in <directory>/socket.
            settings["citus.local_hostname"] = "'\(nodeDirectory)/socket'"
            let nodeOptions = EmbeddedPostgres.Options(directory: nodeDirectory, removeOnStop: options.removeOnStop, settings: settings)
            started.set(index, Result { try EmbeddedPostgres.start(nodeOptions) })
        }
        let results = started.results()
        let running = results.compactMap { try? $0?.get() }
        if let failure = results.lazy.compactMap({ result -> Error? in
            if case .failure(let error)? = result { return error }
            return nil
        }).first {
            for node in running { try? node.stop() }
            if options.removeOnStop { try? FileManager.default.removeItem(atPath: directory) }
            throw failure
        }

        let cluster = EmbeddedCitusCluster(directory: directory, coordinator: running[0], workers: Array(running.dropFirst()),
                                           installation: installation, removeOnStop: options.removeOnStop)
        do {
            try cluster.prepare(database: "postgres")
        } catch {
            try? cluster.stop()
            throw error
        }
        return cluster
    }

    /// Creates `name` on every node and prepares it for Citus (extension, coordinator, workers).
    public func createDatabase(_ name: String) throws {
        // Identifiers cannot be bound as parameters: accept only plain ones.
        guard name.range(of: "^[a-z_][a-z0-9_]*$", options: .regularExpression) != nil else {
            throw EmbeddedCitusError.invalidDatabaseName(name)
        }
        for node in nodes {
            try step("CREATE DATABASE \(name)", on: node, database: "postgres") { db in
                try db.execute("CREATE DATABASE \(name)")
            }
        }
        try prepare(database: name)
    }

    /// Makes `database` (present on every node) a Citus database: the extension on every node,
    /// the coordinator's own address, and the workers registered on the coordinator. Safe to
    /// repeat: each step leaves what is already there.
    public func prepare(database: String) throws {
        for node in nodes {
            try step("CREATE EXTENSION citus", on: node, database: database) { db in
                try db.execute("CREATE EXTENSION IF NOT EXISTS citus")
            }
        }
        try step("registering the nodes", on: coordinator, database: database) { db in
            _ = try db.query("SELECT citus_set_coordinator_host($1, $2)", [coordinator.socketDirectory, Int32(coordinator.port)])
            for worker in workers {
                // Returns the existing node id when the worker is registered already.
                _ = try db.query("SELECT citus_add_node($1, $2)", [worker.socketDirectory, Int32(worker.port)])
            }
            let active = try db.query("SELECT count(*)::bigint FROM citus_get_active_worker_nodes()").scalar(Int64.self) ?? 0
            guard active == Int64(workers.count) else {
                throw EmbeddedCitusError.workersMissing(expected: workers.count, active: Int(active))
            }
        }
    }

    /// Connects to `database` on the coordinator, where clients and supportbill connect.
    public func connect(database: String = "postgres") throws -> PostgresConnection {
        try coordinator.connect(database: database)
    }

    /// The coordinator's `database` as a connection target.
    public func target(database: String = "postgres") -> PostgresTarget {
        coordinator.target(database: database)
    }

    /// A conninfo string for the coordinator's `database`.
    public func conninfo(database: String = "postgres") -> String {
        coordinator.conninfo(database: database)
    }

    /// Stops every node (the workers first, so the coordinator never sees them vanish while it
    /// still serves) and, unless kept, deletes the directory. Tries every node; throws the first
    /// failure.
    public func stop() throws {
        var firstError: Error?
        for node in workers + [coordinator] {
            do { try node.stop() } catch { firstError = firstError ?? error }
        }
        if removeOnStop { try? FileManager.default.removeItem(atPath: directory) }
        if let firstError { throw firstError }
    }

    private func step(_ what: String, on node: EmbeddedPostgres, database: String, _ body: (PostgresConnection) throws -> Void) throws {
        do {
            let db = try node.connect(database: database)
            defer { db.close() }
            try body(db)
        } catch let error as EmbeddedCitusError {
            throw error
        } catch {
            throw EmbeddedCitusError.setupFailed(what, node: node.directory, underlying: error)
        }
    }
}

/// The nodes' start results, filled from concurrent threads.
private final class StartedNodes: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Result<EmbeddedPostgres, Error>?]

    init(count: Int) {
        slots = Array(repeating: nil, count: count)
    }

    func set(_ index: Int, _ result: Result<EmbeddedPostgres, Error>) {
        lock.lock()
        defer { lock.unlock() }
        slots[index] = result
    }

    func results() -> [Result<EmbeddedPostgres, Error>?] {
        lock.lock()
        defer { lock.unlock() }
        return slots
    }
}
