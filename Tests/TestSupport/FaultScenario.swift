import BillingStore
import EmbeddedPostgres
import Foundation
import Postgres

/// The fault tests' starting point, built once per test process: a database of the shared
/// cluster holding a `FaultMonth` with its September history, used only as a template (no
/// session stays connected to it), and what one clean run of each job leaves behind, computed
/// on a copy. Every test faults a copy of its own.
public final class FaultScenario: @unchecked Sendable {
    public let template: TestDatabase
    public let jobsDir: String
    public let scale: FaultScale
    /// The snapshot of the template (before any November run).
    public let before: BillingSnapshot
    private let lock = NSLock()
    private var clean: [String: CleanRun] = [:]

    /// One clean run of a job on an identical copy: what it leaves, and how long it took.
    public struct CleanRun: Sendable {
        public let snapshot: BillingSnapshot
        public let duration: Duration
        public let stdout: String
    }

    nonisolated(unsafe) private static var shared: FaultScenario?
    private static let sharedLock = NSLock()

    public static func get() throws -> FaultScenario {
        sharedLock.lock()
        defer { sharedLock.unlock() }
        if let shared { return shared }
        let scenario = try FaultScenario(scale: .current)
        shared = scenario
        return scenario
    }

    /// A scenario of its own in a new database of `cluster` (a cluster the caller started, e.g.
    /// one a test crashes), not shared with other tests.
    public static func make(on cluster: EmbeddedPostgres, scale: FaultScale) throws -> FaultScenario {
        let admin = try cluster.connect()
        try admin.execute("CREATE DATABASE fault_template")
        admin.close()
        let database = TestDatabase(name: "fault_template", cluster: cluster)
        let db = try database.connect()
        _ = try Migrator().migrate(db)
        // The jobs run as a login member of supportbill_runner, on this cluster too.
        try RunnerRole.ensureLogin(db)
        db.close()
        return try FaultScenario(scale: scale, template: database)
    }

    private convenience init(scale: FaultScale) throws {
        try self.init(scale: scale, template: try TestCluster.makeDatabase())
    }

    private init(scale: FaultScale, template: TestDatabase) throws {
        self.scale = scale
        jobsDir = try FaultMonth.writeJobsDirectory()
        self.template = template
        let db = try template.connect()
        try FaultMonth(scale: scale).generate(db)
        db.close()
        // September's runs as the runner role, as the timers ran them; the payments (an input
        // of the billing platform, which the runner may not write) as the owner.
        try FaultMonth(scale: scale).history(conninfo: template.runnerConninfo, inputs: template.conninfo, jobsDir: jobsDir)
        let reader = try template.connect()
        before = try BillingSnapshot.take(reader)
        reader.close()
    }

    /// A fresh copy of the template for one test; `drop()` it at the end.
    public func makeDatabase(_ suffix: String) throws -> TestDatabase {
        try template.copy(suffix: "\(suffix)_\(UUID().uuidString.prefix(8).lowercased())")
    }

    /// The arguments of a job's November run against `database`, in batches of the scale's size,
    /// as a login member of `supportbill_runner` (the jobs' least privilege, as in production):
    /// a fault that needs a privilege the role lacks shows here, not only in the role's tests.
    public func arguments(_ job: String, _ database: TestDatabase, batchSize: Int? = nil, extra: [String] = []) -> [String] {
        FaultMonth.arguments(job, jobsDir: jobsDir) + ["--database", database.runnerConninfo, "--batch-size", String(batchSize ?? scale.batchSize)] + extra
    }

    /// What one clean run of `job` leaves (run once per process, on a copy).
    public func cleanRun(_ job: String) throws -> CleanRun {
        lock.lock()
        defer { lock.unlock() }
        if let known = clean[job] { return known }
        let copy = try makeDatabase("clean")
        defer { copy.drop() }
        let started = ContinuousClock.now
        let result = try ChildProcess.supportbill(arguments(job, copy))
        let duration = ContinuousClock.now - started
        guard result.status == 0 || result.status == 65 else {
            throw PostgresError.usage("the clean \(job) run exited \(result.status): \(result.stderr)")
        }
        let db = try copy.connect()
        defer { db.close() }
        let run = CleanRun(snapshot: try BillingSnapshot.take(db), duration: duration, stdout: result.stdout)
        clean[job] = run
        return run
    }
}
