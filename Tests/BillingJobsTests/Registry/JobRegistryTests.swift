import BillingCore
import BillingJobs
import BillingStore
import Foundation
import Postgres
import TestSupport
import Testing

/// Registering a job is one `JobName` case and one `RegisteredJob` conformance; the compiler
/// enforces the rest (docs/writing-a-job.md). These tests check what the compiler cannot:
/// that each case names the type that claims it, that lock keys and the day's order stay what
/// running systems rely on, and that a job registered through the same protocol (TallyJob) is
/// built from its jobs file, screened for the defects it declares and run by the real runner.
@Suite("The job registry: one case, one conformance")
struct JobRegistryTests {
    static let asOf = try! Instant(rfc3339: "2026-11-01T14:00:00Z")

    @Test("each case's type names that case; lock keys, the day's order and help lines are the jobs' own")
    func registeredFacts() throws {
        var lockIDs: [Int32] = []
        var ranks: Set<Int> = []
        for job in JobName.allCases {
            let registered: any RegisteredJob.Type = job.type
            #expect(registered.name == job, "\(job) is registered with a type named \(registered.name)")
            let built: any BillingJob = try JobRegistry.make(job, source: JobConfigurationSource(directory: nil))
            #expect(ObjectIdentifier(type(of: built)) == ObjectIdentifier(registered))
            let summary = registered.summary
            #expect(!summary.isEmpty && !summary.contains("\n"))
            lockIDs.append(registered.lockObjectID)
            ranks.insert(registered.dailyRank)
        }
        // Lock keys never change: an old binary still running during an upgrade must exclude the new one.
        #expect(lockIDs == [1, 2, 3, 4, 5])
        #expect(JobName.dailyOrder == [.contractExpiryRollover, .incidentGrants, .thresholdTopup, .monthlyRollup, .suspensionSweep])
        #expect(ranks.count == JobName.allCases.count)
        // What the runner screens for per job (docs/data-defects.md, "skipped by the runner").
        #expect(MonthlyRollupJob.defectsSkippedByRunner == [.serviceEndsBeforeStart, .entryFarFuture, .serviceBillingChanged])
        #expect(ThresholdTopupJob.defectsSkippedByRunner == [.serviceEndsBeforeStart, .entryFarFuture, .paymentCurrencyMismatch, .serviceBillingChanged])
        #expect(SuspensionSweepJob.defectsSkippedByRunner.isEmpty && IncidentGrantsJob.defectsSkippedByRunner.isEmpty)
        #expect(ContractExpiryRolloverJob.defectsSkippedByRunner == [.entryFarFuture, .ticketItemOtherCustomer])
    }

    @Test("a sixth job registered through RegisteredJob: built from its jobs file, screened, run, idempotent")
    func sixthJob() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tally-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("\(TallyJob.name.rawValue).toml")
        try "schedule = \"*-*-* 07:30:00 UTC\"\nminimum_minutes = 30\n".write(to: file, atomically: true, encoding: .utf8)
        let source = JobConfigurationSource(directory: directory.path)
        let job = try TallyJob.make(from: source)
        #expect(job.parameters.minimumMinutes == 30)
        #expect(try TallyJob.schedule(from: source) == "*-*-* 07:30:00 UTC")
        try "minimum_minutes = 30\ncolour = 1\n".write(to: file, atomically: true, encoding: .utf8)
        let unknown = #expect(throws: ConfigurationError.self) { try TallyJob.make(from: source) }
        #expect(unknown?.key == "colour")

        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        try db.execute(TallyJob.schema)
        let f = Fixtures(db)
        // enough: 45 min >= 30; short: 15 min; future: 45 min dated 2028, a defect the job declares.
        let enough = try f.customer("enough")
        try f.entry(customer: enough, ticket: try f.ticket(customer: enough, openedAt: "2026-10-12T09:00:00Z"), workedAt: "2026-10-12T10:00:00Z", minutes: 45)
        let short = try f.customer("short")
        try f.entry(customer: short, ticket: try f.ticket(customer: short, openedAt: "2026-10-12T09:00:00Z"), workedAt: "2026-10-12T10:00:00Z", minutes: 15)
        let future = try f.customer("future")
        let futureEntry = try f.entry(customer: future, ticket: try f.ticket(customer: future, openedAt: "2026-10-12T09:00:00Z"), workedAt: "2028-01-05T10:00:00Z", minutes: 45)

        let runner = JobRunner(target: database.target)
        let parameters = TallyParameters(minimumMinutes: 30)
        let first = runner.run(TallyJob.make(parameters), JobRunRequest(asOf: Self.asOf, invokedBy: "registry test"))
        #expect(first.exitStatus == .dataError)
        #expect(first.status == .partial)
        #expect(first.output.counts["tallies"] == 1)
        #expect(first.output.skipped.map(\.customerID) == [future])
        #expect(first.output.skipped.first?.reason.contains("time entry \(futureEntry) is dated 2028-01-05T10:00:00Z") == true)
        let rows = try db.query("SELECT customer_id, source_key, minutes, run_id FROM test_tallies ORDER BY customer_id").map {
            "\(try $0.decode(0, as: Int64.self)) \(try $0.decode(1, as: String.self)) \(try $0.decode(2, as: Int64.self)) \(try $0.decode(3, as: Int64.self))"
        }
        #expect(rows == ["\(enough) tally:\(enough) 45 \(first.runID ?? 0)"])

        // The future entry corrected: the rerun tallies that customer only.
        try db.execute("UPDATE time_entries SET worked_at = '2026-10-20T10:00:00Z' WHERE id = $1", [futureEntry])
        let second = runner.run(TallyJob.make(parameters), JobRunRequest(asOf: Self.asOf, invokedBy: "registry test"))
        #expect(second.exitStatus == .success)
        #expect(second.output.counts["tallies"] == 1)
        #expect(try db.query("SELECT customer_id FROM test_tallies WHERE run_id = $1", [second.runID]).scalar(Int64.self) == future)
        let third = runner.run(TallyJob.make(parameters), JobRunRequest(asOf: Self.asOf, invokedBy: "registry test"))
        #expect(third.exitStatus == .success)
        #expect(third.output.counts["tallies"] == nil)
        #expect(try db.query("SELECT count(*) FROM test_tallies").scalar(Int64.self) == 2)
    }
}

extension TallyParameters {
    init(minimumMinutes: Int) {
        self.init()
        self.minimumMinutes = minimumMinutes
    }
}
