import BillingStore
import EmbeddedPostgres
import Foundation
import Postgres

/// One embedded PostgreSQL cluster for the whole test process, with a migrated template
/// database; every test gets a fresh database cloned from the template (cheap and isolated, so
/// tests run in parallel). The cluster is stopped and deleted when the process exits.
public enum TestCluster {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var cluster: EmbeddedPostgres?
    nonisolated(unsafe) private static var startError: Error?
    nonisolated(unsafe) private static var counter = 0
    static let templateName = "supportbill_template"

    /// The shared cluster, started (and the template migrated) on first use.
    public static func shared() throws -> EmbeddedPostgres {
        lock.lock()
        defer { lock.unlock() }
        if let cluster { return cluster }
        if let startError { throw startError }
        do {
            let started = try EmbeddedPostgres.start()
            let admin = try started.connect()
            try admin.execute("CREATE DATABASE \(templateName)")
            admin.close()
            let template = try started.connect(database: templateName)
            _ = try Migrator().migrate(template)
            template.close()
            // The migration created supportbill_runner; tests run jobs as a member of it too.
            let roles = try started.connect()
            try RunnerRole.ensureLogin(roles)
            roles.close()
            cluster = started
            atexit { TestCluster.shutdown() }
            return started
        } catch {
            startError = error
            throw error
        }
    }

    /// A new database with the full schema, for one test.
    public static func makeDatabase() throws -> TestDatabase {
        let cluster = try shared()
        lock.lock()
        counter += 1
        let name = "t_\(getpid())_\(counter)"
        lock.unlock()
        let admin = try cluster.connect()
        defer { admin.close() }
        // Identifiers cannot be bound as parameters; this one is generated here, never input.
        var attempts = 0
        while true {
            do {
                try admin.execute("CREATE DATABASE \(name) TEMPLATE \(templateName)")
                break
            } catch let error as PostgresError where error.sqlState == "55006" && attempts < 20 {
                attempts += 1 // the template is briefly busy with another clone
                usleep(50_000)
            }
        }
        return TestDatabase(name: name, cluster: cluster)
    }

    static func shutdown() {
        lock.lock()
        let running = cluster
        cluster = nil
        lock.unlock()
        try? running?.stop()
    }
}

/// A database of the shared test cluster.
public struct TestDatabase: Sendable {
    public let name: String
    public let cluster: EmbeddedPostgres

    public var target: PostgresTarget { cluster.target(database: name) }
    public var conninfo: String { cluster.conninfo(database: name) }

    public func connect() throws -> PostgresConnection { try target.connect() }

    /// This database as a login member of `supportbill_runner`: the jobs' least privilege.
    public var runnerTarget: PostgresTarget { RunnerRole.target(cluster, database: name) }
    public var runnerConninfo: String { RunnerRole.conninfo(cluster, database: name) }

    public func connectAsRunner() throws -> PostgresConnection { try runnerTarget.connect() }

    /// Drops the database (forcing out any session a test left behind).
    public func drop() {
        guard let admin = try? cluster.connect() else { return }
        _ = try? admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
        admin.close()
    }
}
