import BillingStore
import EmbeddedPostgres
import Foundation
import Postgres

/// One Citus cluster (a coordinator and two workers) for the whole test process, started on
/// first use where Citus is installed, and a migrated (hence distributed) database per test.
/// A Citus database cannot be cloned from a template (its shards live on the workers), so each
/// database is created on every node and migrated. Tests that use it are enabled only where
/// `CitusTestCluster.isAvailable` (Swift Testing lists them as skipped with the reason).
public enum CitusTestCluster {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var cluster: EmbeddedCitusCluster?
    nonisolated(unsafe) private static var startError: Error?
    nonisolated(unsafe) private static var counter = 0

    /// Whether Citus is installed for the PostgreSQL the tests use.
    public static var isAvailable: Bool { CitusInstallation.isAvailable }

    /// Prints, once per call site, why a Citus test does not run: a skip is never silent.
    public static func reportSkipped(_ suite: String) {
        if !isAvailable { print("\(suite): \(CitusInstallation.notInstalledMessage); the Citus tests are skipped") }
    }

    /// The shared cluster, started on first use.
    public static func shared() throws -> EmbeddedCitusCluster {
        lock.lock()
        defer { lock.unlock() }
        if let cluster { return cluster }
        if let startError { throw startError }
        do {
            let started = try EmbeddedCitusCluster.start()
            cluster = started
            atexit { CitusTestCluster.shutdown() }
            return started
        } catch {
            startError = error
            throw error
        }
    }

    /// A new database on every node, migrated on the coordinator (which distributes it).
    public static func makeDatabase(migrate: Bool = true) throws -> CitusTestDatabase {
        let cluster = try shared()
        lock.lock()
        counter += 1
        let name = "c_\(getpid())_\(counter)"
        lock.unlock()
        try cluster.createDatabase(name)
        let database = CitusTestDatabase(name: name, cluster: cluster)
        if migrate {
            let db = try database.connect()
            defer { db.close() }
            _ = try Migrator().migrate(db)
            // The migration created supportbill_runner (Citus propagates roles to the workers).
            let roles = try cluster.connect()
            defer { roles.close() }
            try RunnerRole.ensureLogin(roles)
        }
        return database
    }

    static func shutdown() {
        lock.lock()
        let running = cluster
        cluster = nil
        lock.unlock()
        try? running?.stop()
    }
}

/// A database of the shared Citus cluster; clients connect to the coordinator.
public struct CitusTestDatabase: Sendable {
    public let name: String
    public let cluster: EmbeddedCitusCluster

    public var target: PostgresTarget { cluster.target(database: name) }
    public var conninfo: String { cluster.conninfo(database: name) }

    public func connect() throws -> PostgresConnection { try cluster.connect(database: name) }

    /// Drops the database on every node (best effort: a test's leftovers die with the cluster).
    public func drop() {
        for node in cluster.nodes {
            guard let admin = try? node.connect() else { continue }
            _ = try? admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            admin.close()
        }
    }
}
