import BillingJobs
import BillingStore
import Foundation
import Postgres

/// MarkJob whose batches first fail `failures` times with a real PostgreSQL serialization
/// failure (40001) or deadlock (40P01) raised by the server, for the runner's retry bound.
final class SerializationFailureJob: BillingJob, @unchecked Sendable {
    static let name = MarkJob.name

    let failures: Int
    let sqlState: String
    private let mark = MarkJob()
    private let lock = NSLock()
    private(set) var attempts = 0

    init(failures: Int, sqlState: String) {
        self.failures = failures
        self.sqlState = sqlState
    }

    func prepare(_ context: JobContext) throws -> JobOutput { try mark.prepare(context) }

    func customers(_ context: JobContext) throws -> [Int64] { try mark.customers(context) }

    func process(_ batch: [CustomerRecord], _ context: JobContext) throws -> JobOutput {
        lock.lock()
        attempts += 1
        let fail = attempts <= failures
        lock.unlock()
        // Written first, so a retry that did not roll the failed attempt back would show it twice.
        let output = try mark.process(batch, context)
        if fail {
            // The SQLSTATE is one of the two literals the tests pass, never input.
            try context.db.execute("DO $$ BEGIN RAISE EXCEPTION 'test: forced failure' USING ERRCODE = '\(sqlState)'; END $$")
        }
        return output
    }
}
