import BillingCore
import BillingStore
import Postgres
import TestSupport
import Testing

/// sql/230: the guard of items inserted onto invoices runs once per INSERT statement (on its
/// transition table) instead of once per row, with the same refusal: one item of a statement
/// on an invoice that is not a draft refuses the whole statement.
@Suite("Items inserted onto invoices: one guard per statement (sql/230)")
struct ItemGuardPerStatementTests {
    @Test("many items onto drafts in one statement are accepted; one item onto an issued invoice refuses the whole statement, naming that invoice")
    func oneStatement() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        let customer = try Fixtures(db).customer()
        let run = try JobRunStore.insert(db, .init(job: "monthly-rollup", asOf: Instant(utc: try LocalDate("2026-11-01")), period: nil, dryRun: false, invokedBy: "test", host: "h", pid: 1))
        let invoices = try db.query("""
            INSERT INTO invoices (customer_id, currency, kind, status, total, source_key, run_id)
            SELECT $1, 'USD', 'period', 'draft', 0, 'test:inv:' || g, $2 FROM generate_series(1, 3) g
            RETURNING id
            """, [customer, run]).map { try $0.decode(0, as: Int64.self) }.sorted()
        try #require(invoices.count == 3)
        // Six items over the three drafts, in one statement.
        try db.execute("""
            INSERT INTO billable_items (customer_id, invoice_id, kind, description, unit_price, amount, currency, source_key, run_id)
            SELECT $1, ($2::bigint[])[1 + g % 3], 'usage', 'Support', 100, 100, 'USD', 'test:item:' || g, $3
              FROM generate_series(1, 6) g
            """, [customer, invoices, run])
        #expect(try db.query("SELECT count(*)::bigint FROM billable_items WHERE run_id = $1", [run]).scalar(Int64.self) == 6)

        // Issue the second draft (its total is its two items).
        try db.execute("UPDATE invoices SET total = 200 WHERE id = $1", [invoices[1]])
        try db.execute("UPDATE invoices SET status = 'issued', issued_at = now(), due_on = DATE '2026-11-15' WHERE id = $1", [invoices[1]])

        // One statement: two items onto drafts, one onto the issued invoice.
        do {
            try db.execute("""
                INSERT INTO billable_items (customer_id, invoice_id, kind, description, unit_price, amount, currency, source_key, run_id)
                VALUES ($1, $2, 'usage', 'late', 5, 5, 'USD', 'test:late:1', $5),
                       ($1, $3, 'usage', 'late', 5, 5, 'USD', 'test:late:2', $5),
                       ($1, $4, 'usage', 'late', 5, 5, 'USD', 'test:late:3', $5)
                """, [customer, invoices[0], invoices[1], invoices[2], run])
            Issue.record("an item onto an issued invoice was accepted")
        } catch let error as PostgresError {
            #expect(error.sqlState == "23000")
            #expect(error.message.contains("invoice \(invoices[1]) is issued: items can only be added to drafts"), "\(error.message)")
        }
        // Nothing of the refused statement was written.
        #expect(try db.query("SELECT count(*)::bigint FROM billable_items WHERE source_key LIKE 'test:late:%'").scalar(Int64.self) == 0)
        #expect(try db.query("SELECT count(*)::bigint FROM billable_items WHERE run_id = $1", [run]).scalar(Int64.self) == 6)

        // An item on no invoice (another job's, waiting for the rollup) needs no check.
        try db.execute("""
            INSERT INTO billable_items (customer_id, kind, description, unit_price, amount, currency, source_key, run_id)
            VALUES ($1, 'per_incident', 'Incident', 4500, 4500, 'USD', 'test:open:1', $2)
            """, [customer, run])
        #expect(try db.query("SELECT count(*)::bigint FROM billable_items WHERE run_id = $1", [run]).scalar(Int64.self) == 7)
    }
}
