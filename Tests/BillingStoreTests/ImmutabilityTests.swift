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

    private func draft(_ db: PostgresConnection, _ customer: Int64, _ run: Int64, key: String, total: Int64) throws -> Int64 {
        try #require(try db.query("""
            INSERT INTO invoices (customer_id, currency, kind, status, total, source_key, run_id)
            VALUES ($1, 'USD', 'period', 'draft', $3, $4, $2) RETURNING id
            """, [customer, run, total, key]).scalar(Int64.self))
    }

    private func addItem(_ db: PostgresConnection, _ customer: Int64, _ invoice: Int64, _ run: Int64, key: String, amount: Int64) throws {
        try db.execute("""
            INSERT INTO billable_items (customer_id, invoice_id, kind, description, unit_price, amount, currency, source_key, run_id)
            VALUES ($1, $2, 'usage', 'Support', $4, $4, 'USD', $5, $3)
            """, [customer, invoice, run, amount, key])
    }

    private func sqlState(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch let error as PostgresError {
            return error.sqlState
        } catch {
            return "\(error)"
        }
    }

    @Test("a draft is issued only when its total equals its items; a void invoice never changes")
    func issuingAddsUp() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let (customer, run) = try setUp(db)
        let invoice = try draft(db, customer, run, key: "test:inv:sum", total: 999_999)
        try addItem(db, customer, invoice, run, key: "test:item:sum", amount: 700)
        #expect(sqlState { try db.execute("UPDATE invoices SET status = 'issued', issued_at = now() WHERE id = $1", [invoice]) } == "23000")
        #expect(sqlState { try db.execute("UPDATE invoices SET status = 'paid' WHERE id = $1", [invoice]) } == "23000")
        try db.execute("UPDATE invoices SET total = 700 WHERE id = $1", [invoice])
        try db.execute("UPDATE invoices SET status = 'issued', issued_at = now() WHERE id = $1", [invoice])
        try db.execute("UPDATE invoices SET status = 'void' WHERE id = $1", [invoice])
        #expect(sqlState { try db.execute("UPDATE invoices SET status = 'issued' WHERE id = $1", [invoice]) } == "23000")
        #expect(sqlState { try db.execute("UPDATE invoices SET status = 'paid' WHERE id = $1", [invoice]) } == "23000")
        #expect(try db.query("SELECT status FROM invoices WHERE id = $1", [invoice]).scalar(String.self) == "void")
        // An empty draft of total 0 issues (a zero invoice is the caller's choice, not a defect).
        let empty = try draft(db, customer, run, key: "test:inv:empty", total: 0)
        #expect(sqlState { try db.execute("UPDATE invoices SET status = 'issued', issued_at = now() WHERE id = $1", [empty]) } == nil)
    }

    // Two sessions on one draft, in both orders:
    //
    //   A: BEGIN; add an item (locks the draft FOR SHARE) ......... COMMIT
    //   B:            issue the draft -> waits for A ......................... -> refused: items sum to 700
    //
    //   B: BEGIN; issue the draft (holds the row) .......................... COMMIT
    //   A:            add an item -> waits for B ............................ -> refused: the invoice is issued
    //
    // Without the lock, each session saw the other's change only after its own check: an issued
    // invoice of total 0 with 700 of items.
    @Test("adding an item and issuing the draft in two sessions at once: one waits for the other, and no issued invoice disagrees with its items")
    func concurrentIssue() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let a = try database.connect()
        let b = try database.connect()
        defer { a.close(); b.close() }
        let (customer, run) = try setUp(a)

        let first = try draft(a, customer, run, key: "test:inv:race1", total: 0)
        try a.execute("BEGIN")
        try addItem(a, customer, first, run, key: "test:item:race1", amount: 700)
        try b.execute("SET lock_timeout = '300ms'")
        #expect(sqlState { try b.execute("UPDATE invoices SET status = 'issued', issued_at = now() WHERE id = $1", [first]) } == "55P03")
        try a.execute("COMMIT")
        // A's item is in: issuing the draft at its total of 0 is refused, at 700 it is issued.
        #expect(sqlState { try b.execute("UPDATE invoices SET status = 'issued', issued_at = now() WHERE id = $1", [first]) } == "23000")
        try b.execute("UPDATE invoices SET total = 700 WHERE id = $1", [first])
        try b.execute("UPDATE invoices SET status = 'issued', issued_at = now() WHERE id = $1", [first])

        let second = try draft(a, customer, run, key: "test:inv:race2", total: 0)
        try b.execute("BEGIN")
        try b.execute("UPDATE invoices SET status = 'issued', issued_at = now() WHERE id = $1", [second])
        try a.execute("SET lock_timeout = '300ms'")
        #expect(sqlState { try addItem(a, customer, second, run, key: "test:item:race2", amount: 700) } == "55P03")
        try b.execute("COMMIT")
        #expect(sqlState { try addItem(a, customer, second, run, key: "test:item:race2", amount: 700) } == "23000")

        let unbalanced = try a.query("""
            SELECT i.id FROM invoices i LEFT JOIN billable_items b ON b.invoice_id = i.id
             WHERE i.status <> 'draft' GROUP BY i.id, i.total HAVING i.total <> COALESCE(sum(b.amount), 0)
            """).map { try $0.decode(0, as: Int64.self) }
        #expect(unbalanced.isEmpty)
    }
}
