import BillingCore
import BillingJobs
import BillingStore
import Foundation
import Postgres

/// A minimal job for testing the runner: marks each customer once in `test_marks` (an
/// idempotent, set-based insert per batch). A customer named "poison" makes the batch's
/// statement fail (division by zero), one named "invalid" is skipped by the job itself, and
/// `gate` can hold the job inside a batch to test concurrency.
final class MarkJob: BillingJob, @unchecked Sendable {
    static let name = JobName.incidentGrants

    static let schema = """
        CREATE TABLE test_marks (
            customer_id bigint NOT NULL,
            source_key text NOT NULL UNIQUE,
            run_id bigint NOT NULL,
            check_value int NOT NULL
        )
        """

    let gate: DispatchSemaphore?
    let entered = DispatchSemaphore(value: 0)
    let stopIn: ((JobContext) throws -> Void)?
    private(set) var batchSizes: [Int] = []
    private let lock = NSLock()

    init(gate: DispatchSemaphore? = nil, stopIn: ((JobContext) throws -> Void)? = nil) {
        self.gate = gate
        self.stopIn = stopIn
    }

    func prepare(_ context: JobContext) throws -> JobOutput {
        try stopIn?(context)
        return JobOutput()
    }

    func customers(_ context: JobContext) throws -> [Int64] {
        try context.db.query("SELECT id FROM customers WHERE ($1::bigint[] IS NULL OR id = ANY($1)) ORDER BY id",
                             [context.customerFilterBind]).map { try $0.decode(0, as: Int64.self) }
    }

    func process(_ batch: [CustomerRecord], _ context: JobContext) throws -> JobOutput {
        lock.lock()
        batchSizes.append(batch.count)
        lock.unlock()
        if let gate {
            entered.signal()
            gate.wait()
        }
        var output = JobOutput()
        var ids: [Int64] = []
        for customer in batch {
            if customer.name == "invalid" {
                output.skip(customer.id, "no price in \(customer.currency.code) for plan test")
            } else {
                ids.append(customer.id)
            }
        }
        let inserted = try context.db.query("""
            INSERT INTO test_marks (customer_id, source_key, run_id, check_value)
            SELECT c.id, 'mark:' || c.id, $2, 1 / (length(c.name) - 6)  -- zero only for 'poison'; not constant-folded like 1 / 0
              FROM customers c WHERE c.id = ANY($1::bigint[])
            ON CONFLICT (source_key) DO NOTHING
            RETURNING customer_id, source_key
            """, [ids, context.runID])
        for row in inserted {
            let customer = try row.decode(0, as: Int64.self)
            let key = try row.decode(1, as: String.self)
            output.count("marks")
            output.total("marked", 100, batch.first { $0.id == customer }!.currency.code)
            output.append(.events, ReportRecord(customerID: customer, sortKey: key, fields: [
                ("customer_id", .int(customer)), ("source_key", .string(key)), ("amount", 100), ("currency", "USD"),
            ]))
        }
        return output
    }
}
