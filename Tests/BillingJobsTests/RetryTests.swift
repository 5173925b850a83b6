import BillingCore
import BillingJobs
import BillingStore
import Foundation
import Postgres
import TestSupport
import Testing

/// Serialization failures (40001) and deadlocks (40P01) are retried a bounded number of times
/// (`JobRunner.maxRetries`, 3): each attempt rolls back whole, and a batch that keeps failing
/// fails the run instead of looping. The end-to-end case (a real deadlock with a session of the
/// test, retried by the `supportbill` binary) is FaultTests.ConcurrencyTests.deadlockRetried.
@Suite("The runner retries serialization failures and deadlocks, a bounded number of times")
struct RetryTests {
    static let asOf = try! Instant(rfc3339: "2026-11-01T14:00:00Z")

    private func setUp() throws -> (TestDatabase, PostgresConnection) {
        let database = try TestCluster.makeDatabase()
        let db = try database.connect()
        try db.execute(MarkJob.schema)
        let fixtures = Fixtures(db)
        for name in ["a", "b", "c"] { _ = try fixtures.customer(name) }
        return (database, db)
    }

    @Test("a batch that fails 3 times succeeds on the 4th attempt, each failed attempt rolled back", arguments: ["40001", "40P01"])
    func retried(sqlState: String) throws {
        let (database, db) = try setUp()
        defer { database.drop() }
        let job = SerializationFailureJob(failures: 3, sqlState: sqlState)
        let report = JobRunner(target: database.target).run(job, JobRunRequest(asOf: Self.asOf, batchSize: 10, invokedBy: "test"))
        #expect(report.exitStatus == .success, "\(report.error ?? "")")
        #expect(report.status == .succeeded)
        #expect(job.attempts == 4)
        #expect(report.output.counts["marks"] == 3)
        #expect(try db.query("SELECT count(*) FROM test_marks").scalar(Int64.self) == 3)
        db.close()
    }

    @Test("a serialization failure or deadlock in prepare or in choosing the customers is retried too, each attempt rolled back",
          arguments: [SerializationFailureJob.Step.prepare, .customers], ["40001", "40P01"])
    func runWideStepsRetried(step: SerializationFailureJob.Step, sqlState: String) throws {
        let (database, db) = try setUp()
        defer { database.drop() }
        let job = SerializationFailureJob(failures: 2, sqlState: sqlState, in: step)
        let report = JobRunner(target: database.target).run(job, JobRunRequest(asOf: Self.asOf, batchSize: 10, invokedBy: "test"))
        #expect(report.exitStatus == .success, "\(report.error ?? "")")
        #expect(job.attempts == 3)
        #expect(report.output.counts["marks"] == 3)
        #expect(try db.query("SELECT count(*) FROM test_marks WHERE source_key NOT LIKE 'prepare-%'").scalar(Int64.self) == 3)
        #expect(try db.query("SELECT count(*) FROM test_marks WHERE source_key LIKE 'prepare-%'").scalar(Int64.self) == (step == .prepare ? 1 : 0))

        let stuck = SerializationFailureJob(failures: .max, sqlState: sqlState, in: step)
        let failed = JobRunner(target: database.target).run(stuck, JobRunRequest(asOf: Self.asOf, batchSize: 10, invokedBy: "test"))
        #expect(stuck.attempts == 4)
        #expect(failed.exitStatus == .failure)
        #expect(failed.error?.contains(sqlState) == true, "\(failed.error ?? "")")
        db.close()
    }

    @Test("a batch that keeps failing fails the run after 4 attempts (1 + 3 retries), nothing written, exit 1", arguments: ["40001", "40P01"])
    func bounded(sqlState: String) throws {
        let (database, db) = try setUp()
        defer { database.drop() }
        let job = SerializationFailureJob(failures: .max, sqlState: sqlState)
        let report = JobRunner(target: database.target).run(job, JobRunRequest(asOf: Self.asOf, batchSize: 10, invokedBy: "test"))
        #expect(job.attempts == 4)
        #expect(report.exitStatus == .failure)
        #expect(report.status == .failed)
        #expect(report.error?.contains(sqlState) == true, "\(report.error ?? "")")
        #expect(try db.query("SELECT count(*) FROM test_marks").scalar(Int64.self) == 0)
        let runID = try #require(report.runID)
        #expect(try JobRunStore.find(db, id: runID)?.status == "failed")
        db.close()
    }
}
