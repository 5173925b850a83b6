import BillingCore
import BillingStore
import Postgres
import TestSupport
import Testing

@Suite("Issued invoices are immutable (corrections are new rows)")
struct ImmutabilityTests {
    private func setUp(_ db: PostgresConnection) throws -> (customer: Int64, run: Int64) {
        let customer = try Fixtures(db).customer()
        let run = try JobRunStore.insert(db, .init(job: "monthly-rollup", asOf: Instant(utc: try LocalDate("2026-11-01")), period: nil, dryRun: false, invokedBy: "test", host: "h", pid: 1))
        return (customer, run)
    }

    @Test("a draft can be corrected in place; once issued only its status moves")
    func invoices() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        let (customer, run) = try setUp(db)
        let invoice = try #require(try db.query("""
            INSERT INTO invoices (customer_id, currency, kind, status, total, source_key, run_id)
            VALUES ($1, 'USD', 'period', 'draft', 1000, 'test:inv:1', $2) RETURNING id
            """, [customer, run]).scalar(Int64.self))
        try db.execute("""
            INSERT INTO billable_items (customer_id, invoice_id, kind, description, unit_price, amount, currency, source_key, run_id)
            VALUES ($1, $2, 'usage', 'Support', 1000, 1000, 'USD', 'test:item:1', $3)
            """, [customer, invoice, run])
        // Draft: corrections in place are allowed.
        try db.execute("UPDATE invoices SET total = 1200 WHERE id = $1", [invoice])
        try db.execute("UPDATE billable_items SET amount = 1200 WHERE source_key = 'test:item:1'")
        // Issue it.
        try db.execute("UPDATE invoices SET status = 'issued', issued_at = now(), due_on = DATE '2026-11-15' WHERE id = $1", [invoice])
        for statement in [
            "UPDATE invoices SET total = 1 WHERE id = $1",
            "UPDATE invoices SET due_on = due_on + 1 WHERE id = $1",
            "UPDATE invoices SET status = 'draft' WHERE id = $1",
            "DELETE FROM invoices WHERE id = $1",
        ] {
            do {
                try db.execute(statement, [invoice])
                Issue.record("accepted: \(statement)")
            } catch let error as PostgresError {
                #expect(error.sqlState == "23000")
                #expect(error.hint?.contains("adjustment") == true || statement.contains("status"))
            }
        }
        for statement in [
            "UPDATE billable_items SET amount = 1 WHERE invoice_id = $1",
            "DELETE FROM billable_items WHERE invoice_id = $1",
            "UPDATE billable_items SET invoice_id = NULL WHERE invoice_id = $1",
        ] {
            #expect(throws: PostgresError.self, "\(statement)") { try db.execute(statement, [invoice]) }
        }
        // Adding an item to an issued invoice is refused too.
        #expect(throws: PostgresError.self) {
            try db.execute("""
                INSERT INTO billable_items (customer_id, invoice_id, kind, description, unit_price, amount, currency, source_key, run_id)
                VALUES ($1, $2, 'adjustment', 'late', 5, 5, 'USD', 'test:item:2', $3)
                """, [customer, invoice, run])
        }
        // Status may move: paid, back to issued (payment reversed), void.
        try db.execute("UPDATE invoices SET status = 'paid' WHERE id = $1", [invoice])
        try db.execute("UPDATE invoices SET status = 'issued' WHERE id = $1", [invoice])
        #expect(try db.query("SELECT total FROM invoices WHERE id = $1", [invoice]).scalar(Int64.self) == 1200)
        #expect(try db.query("SELECT amount FROM billable_items WHERE invoice_id = $1", [invoice]).scalar(Int64.self) == 1200)
        db.close()
    }
}
