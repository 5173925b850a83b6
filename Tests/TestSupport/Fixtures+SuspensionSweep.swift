import BillingCore
import BillingStore
import Foundation
import Postgres

extension Fixtures {
    /// Invoices as monthly-rollup and threshold-topup would leave them, for the suspension sweep's
    /// tests (those jobs are the only writers of invoices).
    public var sweep: SweepFixtures { SweepFixtures(db: db) }
}

public struct SweepFixtures {
    public let db: PostgresConnection

    /// A `job_runs` row for fixture invoices to belong to.
    public func run(job: String = "monthly-rollup", asOf: String = "2026-11-01T14:00:00Z") throws -> Int64 {
        try JobRunStore.insert(db, .init(job: job, asOf: try Instant(rfc3339: asOf), period: nil, dryRun: false,
                                         invokedBy: "fixture", host: "test", pid: 1))
    }

    /// One line of a fixture invoice: an item for `service` (nil: no service, like a
    /// per-incident item) of `amount` minor units.
    public struct Line {
        public let service: Int64?
        public let amount: Int64
        public let kind: String

        public init(service: Int64?, amount: Int64, kind: String = "recurring_fee") {
            self.service = service
            self.amount = amount
            self.kind = kind
        }
    }

    /// An invoice built the only way the immutability triggers allow: a draft, its items, the
    /// total set to their sum, then issued (and, with `status: "paid"`, marked paid).
    @discardableResult
    public func invoice(customer: Int64, currency: String = "USD", kind: String = "period", lines: [Line],
                        issuedAt: String = "2026-11-01T14:00:00Z", dueOn: String?, status: String = "issued", run: Int64,
                        month: String? = nil) throws -> Int64 {
        let key = "fixture:\(UUID().uuidString)"
        // `month` (YYYY-MM) sets period_start/period_end, as monthly-rollup does.
        let start = month.map { "\($0)-01" }
        guard let id = try db.query("""
            INSERT INTO invoices (customer_id, currency, kind, status, total, source_key, run_id, period_start, period_end)
            VALUES ($1, $2, $3, 'draft', 0, $4, $5, $6::date, ($6::date + interval '1 month')::date) RETURNING id
            """, [customer, currency, kind, key, run, start]).scalar(Int64.self) else {
            throw PostgresError.usage("invoice insert returned no id")
        }
        for (index, line) in lines.enumerated() {
            try db.execute("""
                INSERT INTO billable_items (customer_id, service_id, invoice_id, kind, description, quantity, unit_price, amount,
                                            currency, source_key, run_id)
                VALUES ($1, $2, $3, $4, 'fixture line', 1, $5, $5, $6, $7, $8)
                """, [customer, line.service, id, line.kind, line.amount, currency, "\(key):\(index)", run])
        }
        try db.execute("""
            UPDATE invoices SET total = (SELECT COALESCE(sum(amount), 0) FROM billable_items WHERE invoice_id = $1)
             WHERE id = $1
            """, [id])
        try db.execute("UPDATE invoices SET status = 'issued', issued_at = $2::timestamptz, due_on = $3::date WHERE id = $1",
                       [id, issuedAt, dueOn])
        if status != "issued" {
            try db.execute("UPDATE invoices SET status = $2 WHERE id = $1", [id, status])
        }
        return id
    }

    /// A credit note as monthly-rollup writes one: an `adjustment` invoice of one negative
    /// `adjustment` item for `service` and `month` (YYYY-MM), issued at `issuedAt`, due the same day.
    @discardableResult
    public func creditNote(customer: Int64, currency: String = "USD", service: Int64?, amount: Int64, month: String,
                           issuedAt: String = "2026-11-05T14:00:00Z", run: Int64) throws -> Int64 {
        try invoice(customer: customer, currency: currency, kind: "adjustment", lines: [.init(service: service, amount: -amount, kind: "adjustment")],
                    issuedAt: issuedAt, dueOn: String(issuedAt.prefix(10)), run: run, month: month)
    }

    /// (credit note, invoice, amount) of the current credit applications of a customer.
    public func applications(_ customer: Int64) throws -> [String] {
        try db.query("""
            SELECT credit_note_id, invoice_id, amount FROM credit_applications
             WHERE customer_id = $1 AND superseded_at IS NULL ORDER BY credit_note_id, invoice_id
            """, [customer]).map { "\(try $0.decode(0, as: Int64.self))->\(try $0.decode(1, as: Int64.self)):\(try $0.decode(2, as: Int64.self))" }
    }

    public func serviceState(_ id: Int64) throws -> (status: String, reason: String?, suspendedAt: Instant?) {
        guard let row = try db.query("SELECT status, suspend_reason, suspended_at FROM services WHERE id = $1", [id]).first else {
            throw PostgresError.usage("no service \(id)")
        }
        return (try row.decode(0), try row.decode(1, as: String?.self), try row.decode(2, as: Instant?.self))
    }

    public func invoiceStatus(_ id: Int64) throws -> String? {
        try db.query("SELECT status FROM invoices WHERE id = $1", [id]).scalar(String.self)
    }

    /// (group id, managed) memberships of a customer, by group.
    public func memberships(_ customer: Int64) throws -> [(group: Int64, managed: Bool)] {
        try db.query("SELECT group_id, managed FROM customer_group_members WHERE customer_id = $1 ORDER BY group_id", [customer])
            .map { (try $0.decode(0, as: Int64.self), try $0.decode(1, as: Bool.self)) }
    }

    public func member(customer: Int64, group: Int64, managed: Bool, since: String = "2026-10-01T00:00:00Z") throws {
        try db.execute("INSERT INTO customer_group_members (customer_id, group_id, managed, since) VALUES ($1, $2, $3, $4::timestamptz)",
                       [customer, group, managed, since])
    }

    /// (event, entity, entity_id, detail) of the audit events of a customer, in id order.
    public func events(_ customer: Int64) throws -> [(event: String, entity: String, entityID: Int64, detail: JSONValue)] {
        try db.query("SELECT event, entity, entity_id, detail FROM audit_events WHERE customer_id = $1 ORDER BY id", [customer]).map {
            (try $0.decode(0), try $0.decode(1), try $0.decode(2), try $0.decode(3))
        }
    }
}
