import BillingCore
import Postgres

/// The SQL side of settlement (docs/design.md §7): the credit notes of customers, and one
/// customer's balance for `supportbill balance`. The computation itself is
/// `BillingCore.CreditSettlement.settle`, the same function suspension-sweep's planner calls.
public enum SettlementStore {
    /// A credit note of a customer.
    public struct CreditNoteRow: Sendable, Equatable {
        public let customerID: Int64
        public let creditNote: CreditSettlement.CreditNote
        public let issuedAt: Instant?
    }

    /// The issued (or paid) `adjustment` invoices with a negative total of the customers, by
    /// customer and id; with `issuedBy`, only those issued at or before it.
    public static func creditNotes(_ db: PostgresConnection, customers: [Int64], issuedBy: Instant? = nil) throws -> [CreditNoteRow] {
        guard !customers.isEmpty else { return [] }
        return try db.query("""
            SELECT customer_id, id, currency, -total, period_start, period_end, issued_at
              FROM invoices
             WHERE customer_id = ANY($1::bigint[]) AND kind = 'adjustment' AND total < 0 AND status IN ('issued', 'paid')
               AND ($2::timestamptz IS NULL OR issued_at <= $2)
             ORDER BY customer_id, id
            """, [customers, issuedBy]).map { row in
            CreditNoteRow(
                customerID: try row.decode(0),
                creditNote: CreditSettlement.CreditNote(
                    id: try row.decode(1), currency: try row.decode(2), amount: try row.decode(3),
                    periodStart: try row.decode(4, as: LocalDate?.self), periodEnd: try row.decode(5, as: LocalDate?.self)),
                issuedAt: try row.decode(6, as: Instant?.self))
        }
    }

    public struct UnknownCustomer: Error, CustomStringConvertible, Sendable {
        public let id: Int64
        public var description: String { "no such customer: \(id)" }
    }

    /// A payment referencing an invoice.
    public struct Payment: Sendable, Equatable {
        public let id: Int64
        public let amount: Int64
        public let currency: CurrencyCode
        public let receivedAt: Instant
        /// `completed` (counts) or `reversed` (listed, counts nothing).
        public let status: String
    }

    /// An invoice with its payments, as `balance` shows it.
    public struct InvoiceLine: Sendable, Equatable {
        public let invoice: CreditSettlement.Invoice
        public let status: String
        public let issuedAt: Instant?
        public let payments: [Payment]
    }

    public struct Balance: Sendable, Equatable {
        public let customerID: Int64
        public let name: String
        public let timezone: String
        public let asOf: Instant
        /// The customer's local date of `asOf`.
        public let localAsOf: LocalDate
        /// Issued and paid invoices with a positive total that payments alone do not cover.
        public let invoices: [InvoiceLine]
        public let creditNotes: [CreditNoteRow]
        /// The settlement of those invoices and credit notes.
        public let settlement: CreditSettlement.Result
    }

    /// One customer's balance at `asOf`: the invoices issued by then, the completed payments
    /// received by then (their status as it is today), the credit notes issued by then, and
    /// their settlement.
    public static func balance(_ db: PostgresConnection, customer: Int64, asOf: Instant) throws -> Balance {
        guard let row = try db.query("""
            SELECT c.name, c.timezone, ($2::timestamptz AT TIME ZONE c.timezone)::date FROM customers c WHERE c.id = $1
            """, [customer, asOf]).first else { throw UnknownCustomer(id: customer) }
        let name = try row.decode(0, as: String.self)
        let timezone = try row.decode(1, as: String.self)
        let localAsOf = try row.decode(2, as: LocalDate.self)

        var lines: [InvoiceLine] = []
        for row in try db.query("""
            WITH open AS MATERIALIZED (
                SELECT i.id, i.kind, i.currency, i.status, i.total, i.issued_at, i.period_start, i.period_end,
                       COALESCE(i.due_on, (i.issued_at AT TIME ZONE c.timezone)::date) AS due_on,
                       COALESCE((SELECT sum(p.amount) FROM payments p
                                  WHERE p.invoice_id = i.id AND p.customer_id = i.customer_id AND p.status = 'completed'
                                    AND p.currency = i.currency AND p.received_at <= $2), 0)::bigint AS paid
                  FROM invoices i JOIN customers c ON c.id = i.customer_id
                 WHERE i.customer_id = $1 AND i.total > 0 AND i.status IN ('issued', 'paid') AND i.issued_at <= $2
            )
            SELECT o.id, o.kind, o.currency, o.status, o.total, o.paid, o.due_on, o.period_start, o.period_end, o.issued_at,
                   COALESCE(p.ids, '{}'), COALESCE(p.amounts, '{}'), COALESCE(p.currencies, '{}'), COALESCE(p.received, '{}'),
                   COALESCE(p.statuses, '{}')
              FROM open o
              LEFT JOIN LATERAL (
                  SELECT array_agg(p.id ORDER BY p.received_at, p.id) AS ids, array_agg(p.amount ORDER BY p.received_at, p.id) AS amounts,
                         array_agg(p.currency ORDER BY p.received_at, p.id) AS currencies,
                         array_agg(p.received_at ORDER BY p.received_at, p.id) AS received,
                         array_agg(p.status ORDER BY p.received_at, p.id) AS statuses
                    FROM payments p
                   WHERE p.invoice_id = o.id AND p.customer_id = $1 AND p.received_at <= $2
              ) p ON true
             WHERE o.paid < o.total
             ORDER BY o.due_on, o.id
            """, [customer, asOf]) {
            let ids = try row.decode(10, as: [Int64].self)
            let amounts = try row.decode(11, as: [Int64].self)
            let currencies = try row.decode(12, as: [CurrencyCode].self)
            let received = try row.decode(13, as: [Instant].self)
            let statuses = try row.decode(14, as: [String].self)
            var payments: [Payment] = []
            for index in ids.indices {
                payments.append(Payment(id: ids[index], amount: amounts[index], currency: currencies[index],
                                        receivedAt: received[index], status: statuses[index]))
            }
            lines.append(InvoiceLine(
                invoice: CreditSettlement.Invoice(
                    id: try row.decode(0), kind: try row.decode(1), currency: try row.decode(2), total: try row.decode(4),
                    paid: try row.decode(5), dueOn: try row.decode(6), periodStart: try row.decode(7, as: LocalDate?.self),
                    periodEnd: try row.decode(8, as: LocalDate?.self)),
                status: try row.decode(3), issuedAt: try row.decode(9, as: Instant?.self), payments: payments))
        }
        let notes = try creditNotes(db, customers: [customer], issuedBy: asOf)
        let settlement = try CreditSettlement.settle(invoices: lines.map(\.invoice), creditNotes: notes.map(\.creditNote))
        return Balance(customerID: customer, name: name, timezone: timezone, asOf: asOf, localAsOf: localAsOf,
                       invoices: lines, creditNotes: notes, settlement: settlement)
    }
}
