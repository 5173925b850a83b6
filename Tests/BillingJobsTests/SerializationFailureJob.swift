import BillingJobs
import BillingStore
import Foundation
import Postgres

/// MarkJob whose batches first fail `failures` times with a real PostgreSQL serialization
/// failure (40001) or deadlock (40P01) raised by the server, for the runner's retry bound.
final class SerializationFailureJob: BillingJob, @unchecked Sendable {
    static let name = MarkJob.name

    /// Where the failures happen: in the batches, or in `prepare` and `customers` (the run-wide
    /// steps before the batches: activating contracts, revoking grants, choosing customers).
    enum Step { case batches, prepare, customers }

    let failures: Int
    let sqlState: String
    let step: Step
    private let mark = MarkJob()
    private let lock = NSLock()
    private(set) var attempts = 0

    init(failures: Int, sqlState: String, in step: Step = .batches) {
        self.failures = failures
        self.sqlState = sqlState
        self.step = step
    }

    func prepare(_ context: JobContext) throws -> JobOutput {
        guard step == .prepare else { return try mark.prepare(context) }
        // Writes first, as contract-expiry-rollover's prepare does, then fails.
        // Its source_key is UNIQUE: a retry that did not roll the failed attempt back fails on it.
        try context.db.execute("INSERT INTO test_marks (customer_id, source_key, run_id, check_value) SELECT min(id), 'prepare-' || $1::bigint, $1::bigint, 0 FROM customers",
                               [context.runID])
        try failIfDue(context.db)
        return try mark.prepare(context)
    }

    func customers(_ context: JobContext) throws -> [Int64] {
        guard step == .customers else { return try mark.customers(context) }
        let ids = try mark.customers(context)
        try failIfDue(context.db)
        return ids
    }

    func process(_ batch: [CustomerRecord], _ context: JobContext) throws -> JobOutput {
        guard step == .batches else { return try mark.process(batch, context) }
        // Written first, so a retry that did not roll the failed attempt back would show it twice.
        let output = try mark.process(batch, context)
        try failIfDue(context.db)
        return output
    }

    private func failIfDue(_ connection: PostgresConnection) throws {
        lock.lock()
        attempts += 1
        let fail = attempts <= failures
        lock.unlock()
        guard fail else { return }
        // The SQLSTATE is one of the two literals the tests pass, never input.
        try connection.execute("DO $$ BEGIN RAISE EXCEPTION 'test: forced failure' USING ERRCODE = '\(sqlState)'; END $$")
    }
}
