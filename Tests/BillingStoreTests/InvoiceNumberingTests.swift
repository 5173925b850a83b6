import BillingCore
import BillingStore
import Postgres
import TestSupport
import Testing

/// Invoice numbers (docs/invoices.md, "Numbers"): taken when an invoice is issued, whoever issues
/// it (the trigger `invoices_number_when_issued`), gap-free and increasing with issued_at within
/// a counter.
@Suite("Invoice numbers: gap-free per counter, credit notes apart, previews lock nothing")
struct InvoiceNumberingTests {
    struct World {
        let database: TestDatabase
        let db: PostgresConnection
        let customer: Int64
        let run: Int64

        init() throws {
            database = try TestCluster.makeDatabase()
            db = try database.connect()
            customer = try Fixtures(db).customer()
            run = try JobRunStore.insert(db, .init(
                job: "monthly-rollup", asOf: Instant(utc: try LocalDate("2026-11-01")), period: nil, dryRun: false,
                invokedBy: "test", host: "h", pid: 1))
        }

        /// A draft of `total` (untaxed) with one item, as a job builds it before issuing.
        func draft(_ total: Int64, customer: Int64? = nil) throws -> Int64 {
            let customer = customer ?? self.customer
            let id = try #require(try db.query("""
                INSERT INTO invoices (customer_id, currency, kind, status, total, source_key, run_id)
                VALUES ($1, 'USD', 'adjustment', 'draft', $2, 'test:' || gen_random_uuid(), $3) RETURNING id
                """, [customer, total, run]).scalar(Int64.self))
            try db.execute("""
                INSERT INTO billable_items (customer_id, invoice_id, kind, description, unit_price, amount, currency, source_key, run_id)
                VALUES ($1, $2, 'adjustment', 'x', $3, $3, 'USD', 'test:' || gen_random_uuid(), $4)
                """, [customer, id, total, run])
            return id
        }

        /// Issues `ids` as of `at`, one after the other as the jobs do within a statement, and
        /// returns each one's number. A preview runs as a dry run does (its caller's transaction
        /// with supportbill.preview_numbers set).
        func issue(_ ids: [Int64], at: String, preview: Bool = false, on connection: PostgresConnection? = nil) throws -> [Int64: String] {
            let connection = connection ?? db
            if preview { try connection.execute("SET LOCAL supportbill.preview_numbers = 'on'") }
            var numbers: [Int64: String] = [:]
            for id in ids {
                for row in try connection.query("""
                    UPDATE invoices SET status = 'issued', issued_at = $2, due_on = DATE '2026-11-15'
                     WHERE id = $1 AND status = 'draft' RETURNING id, number
                    """, [id, try Instant(rfc3339: at)]) {
                    numbers[try row.decode(0, as: Int64.self)] = try row.decode(1, as: String.self)
                }
            }
            return numbers
        }

        func close() {
            db.close()
            database.drop()
        }
    }

    @Test("invoices and credit notes count apart, in the order they are issued, from 1")
    func counters() throws {
        let world = try World()
        defer { world.close() }
        let a = try world.draft(1000), b = try world.draft(-300), c = try world.draft(2000)
        let numbers = try world.issue([c, b, a], at: "2026-11-01T14:00:00Z")
        #expect(numbers == [c: "INV-000001", b: "CN-000001", a: "INV-000002"])
        let d = try world.draft(-50), e = try world.draft(10)
        #expect(try world.issue([d, e], at: "2026-11-02T14:00:00Z") == [d: "CN-000002", e: "INV-000003"])
        // The counters hold the last value and the last issue.
        let rows = try world.db.query("SELECT credit_note, last_value FROM invoice_counters ORDER BY credit_note")
            .map { (try $0.decode(0, as: Bool.self), try $0.decode(1, as: Int64.self)) }
        #expect(rows.map(\.0) == [false, true])
        #expect(rows.map(\.1) == [3, 2])
    }

    @Test("a rolled-back transaction gives its numbers back: the next issue has no gap")
    func rollback() throws {
        let world = try World()
        defer { world.close() }
        let a = try world.draft(1000)
        try world.db.execute("BEGIN")
        #expect(try world.issue([a], at: "2026-11-01T14:00:00Z") == [a: "INV-000001"])
        try world.db.execute("ROLLBACK")
        let b = try world.draft(500)
        #expect(try world.issue([a, b], at: "2026-11-01T15:00:00Z") == [a: "INV-000001", b: "INV-000002"])
    }

    @Test("never backdated: an issue as of an earlier instant takes the counter's last issue instant")
    func increasingWithIssuedAt() throws {
        let world = try World()
        defer { world.close() }
        let a = try world.draft(1000), b = try world.draft(1000)
        _ = try world.issue([a], at: "2026-11-05T10:00:00Z")
        _ = try world.issue([b], at: "2026-11-01T10:00:00Z")
        let issued = try world.db.query("SELECT number, issued_at FROM invoices WHERE id = ANY($1::bigint[]) ORDER BY number", [[a, b]])
            .map { (try $0.decode(0, as: String.self), try $0.decode(1, as: Instant.self)) }
        #expect(issued.map(\.0) == ["INV-000001", "INV-000002"])
        #expect(issued[1].1 == issued[0].1)
        #expect(issued[0].1 == (try Instant(rfc3339: "2026-11-05T10:00:00Z")))
    }

    @Test("a preview shows the numbers a real issue would give, changes no counter and waits for no lock")
    func preview() throws {
        let world = try World()
        defer { world.close() }
        let a = try world.draft(1000), b = try world.draft(1000)
        // A real issuer holds the counter (its transaction is open) ...
        let other = try world.database.connect()
        defer { other.close() }
        try world.db.execute("BEGIN")
        #expect(try world.issue([a], at: "2026-11-01T14:00:00Z") == [a: "INV-000001"])
        // ... a preview in another session does not wait for it, and sees the committed state.
        try other.execute("BEGIN")
        try other.execute("SET LOCAL lock_timeout = '2s'")
        #expect(try world.issue([b], at: "2026-11-01T14:00:00Z", preview: true, on: other) == [b: "INV-000001"])
        try other.execute("ROLLBACK")
        try world.db.execute("COMMIT")
        // A preview after the commit continues the counter, twice in one transaction too.
        try other.execute("BEGIN")
        let c = try world.draft(7)
        #expect(try world.issue([b], at: "2026-11-02T14:00:00Z", preview: true, on: other) == [b: "INV-000002"])
        #expect(try world.issue([c], at: "2026-11-02T14:00:00Z", preview: true, on: other) == [c: "INV-000003"])
        try other.execute("ROLLBACK")
        #expect(try world.db.query("SELECT last_value FROM invoice_counters WHERE NOT credit_note").scalar(Int64.self) == 1)
    }

    @Test("two issuers at once take turns: the second waits for the first to commit, then continues its counter")
    func concurrent() throws {
        let world = try World()
        defer { world.close() }
        let a = try world.draft(1000), b = try world.draft(1000)
        let other = try world.database.connect()
        defer { other.close() }
        try world.db.execute("BEGIN")
        _ = try world.issue([a], at: "2026-11-01T14:00:00Z")
        try other.execute("SET lock_timeout = '300ms'")
        do {
            _ = try world.issue([b], at: "2026-11-01T14:00:00Z", on: other)
            Issue.record("the second issuer did not wait for the counter")
        } catch let error as PostgresError {
            #expect(error.sqlState == "55P03")
        }
        try world.db.execute("COMMIT")
        #expect(try world.issue([b], at: "2026-11-01T14:00:00Z", on: other) == [b: "INV-000002"])
    }

    @Test("a series with a yearly reset: {YYYY} is the customer's local year of issue, each year counts from 1")
    func yearlySeries() throws {
        let world = try World()
        defer { world.close() }
        try world.db.execute("""
            INSERT INTO invoice_series (code, prefix, padding, reset_yearly, credit_note_prefix)
            VALUES ('yearly', 'R{YYYY}-', 4, true, 'G{YYYY}-')
            """)
        let tokyo = try Fixtures(world.db).customer("Tokyo", timezone: "Asia/Tokyo")
        try world.db.execute("UPDATE customers SET invoice_series = 'yearly' WHERE id = $1", [tokyo])
        let a = try world.draft(100, customer: tokyo), b = try world.draft(100, customer: tokyo), c = try world.draft(-100, customer: tokyo)
        // 2026-12-31T16:00Z is already 2027-01-01 in Tokyo.
        #expect(try world.issue([a], at: "2026-12-31T14:00:00Z") == [a: "R2026-0001"])
        #expect(try world.issue([b, c], at: "2026-12-31T16:00:00Z") == [b: "R2027-0001", c: "G2027-0001"])
    }

    @Test("issued invoices keep their number; drafts have none; an issued invoice cannot be issued again")
    func immutable() throws {
        let world = try World()
        defer { world.close() }
        let a = try world.draft(1000)
        #expect(try world.db.query("SELECT number FROM invoices WHERE id = $1", [a]).scalar(String.self) == nil)
        _ = try world.issue([a], at: "2026-11-01T14:00:00Z")
        #expect(throws: PostgresError.self) { try world.db.execute("UPDATE invoices SET number = 'INV-9' WHERE id = $1", [a]) }
        #expect(try world.issue([a], at: "2026-11-02T14:00:00Z").isEmpty)
        // An invoice issued by hand, or inserted issued, is numbered too: none is ever without.
        let b = try world.draft(5)
        try world.db.execute("UPDATE invoices SET status = 'issued', issued_at = '2026-11-03T00:00:00Z' WHERE id = $1", [b])
        #expect(try world.db.query("SELECT number FROM invoices WHERE id = $1", [b]).scalar(String.self) == "INV-000002")
        let c = try #require(try world.db.query("""
            INSERT INTO invoices (customer_id, currency, kind, status, issued_at, total, source_key, run_id)
            VALUES ($1, 'USD', 'adjustment', 'issued', '2026-11-04T00:00:00Z', 0, 'test:issued', $2) RETURNING number
            """, [world.customer, world.run]).scalar(String.self))
        #expect(c == "INV-000003")
        #expect(throws: PostgresError.self) {
            try world.db.execute("UPDATE invoices SET number = NULL WHERE id = $1", [b])
        }
    }
}
