import BillingCore
import BillingJobs
import BillingStore

/// A job that writes nothing and reports deterministic rows, shaped to exercise every path of
/// `ReportRecords`: rows emitted out of order within a batch, rows `prepare` reports for a
/// customer of a later batch and for no customer, a later batch reporting a row of no customer
/// (both start a new chain), two rows with the same customer and sort key (their emission
/// order must survive), invoices with nested items, decimals, nulls, booleans and text that
/// needs escaping.
struct SpillJob: BillingJob {
    static let name = JobName.contractExpiryRollover

    func prepare(_ context: JobContext) throws -> JobOutput {
        var output = JobOutput()
        let last = try customers(context).last ?? 0
        output.append(.events, ReportRecord(customerID: last, sortKey: "a:prepared", fields: [("event", "contract_activated"), ("by", "prepare")]))
        output.append(.events, ReportRecord(customerID: nil, sortKey: "z:shared", fields: [("event", "contract_expired"), ("customer_id", .null)]))
        return output
    }

    func customers(_ context: JobContext) throws -> [Int64] {
        try context.db.query("SELECT id FROM customers ORDER BY id").map { try $0.decode(0, as: Int64.self) }
    }

    func process(_ batch: [CustomerRecord], _ context: JobContext) throws -> JobOutput {
        var output = JobOutput()
        for customer in batch.reversed() {
            let id = customer.id
            for n in (1...3).reversed() {
                output.append(.events, ReportRecord(customerID: id, sortKey: "e:\(n)", fields: [
                    ("customer_id", .int(id)), ("event", "suspended"), ("n", .int(Int64(n))), ("detail", .object([("ok", .bool(n % 2 == 0))])),
                ]))
            }
            output.append(.ledger, ReportRecord(customerID: id, sortKey: "same", fields: [("customer_id", .int(id)), ("copy", 1)]))
            output.append(.ledger, ReportRecord(customerID: id, sortKey: "same", fields: [("customer_id", .int(id)), ("copy", 2)]))
            output.append(.invoices, ReportRecord(customerID: id, sortKey: "inv:\(id)", fields: [
                ("id", .int(id * 10)), ("customer_id", .int(id)), ("currency", "USD"), ("kind", "period"),
                ("period_start", "2026-10-01"), ("period_end", "2026-11-01"), ("status", "issued"), ("due_on", .null),
                ("total", .int(12_345)), ("source_key", .string("inv:\(id)")),
                ("items", .array([
                    .object([("kind", "usage"), ("description", "Support \"rush\", line\nbreak · ü"), ("quantity", .decimal("1")),
                             ("unit_price", 6000), ("amount", .int(12_345)), ("minutes", .null)]),
                    .object([("kind", "recurring_fee"), ("description", "=SUM(A1)"), ("quantity", .decimal("2.25")), ("amount", 0)]),
                ])),
            ]))
            output.count("rows", 6)
        }
        output.append(.charges, ReportRecord(customerID: nil, sortKey: "no-customer:batch:\(batch[0].id)", fields: [("minutes", .int(batch[0].id))]))
        return output
    }
}
