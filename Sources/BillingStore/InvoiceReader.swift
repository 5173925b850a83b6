import BillingCore
import Postgres

/// Reads invoices with their items and tax rows for display: three queries, whatever the number
/// of invoices.
public enum InvoiceReader {
    public static func invoices(_ db: PostgresConnection, customerIDs: [Int64]? = nil) throws -> [InvoiceView] {
        var items: [Int64: [InvoiceView.Item]] = [:]
        for row in try db.query("""
            SELECT b.invoice_id, b.id, b.service_id, b.kind, b.description, b.minutes, b.quantity, b.unit_price,
                   b.amount, b.period_start, b.period_end, b.source_key
              FROM billable_items b
             WHERE b.invoice_id IS NOT NULL AND ($1::bigint[] IS NULL OR b.customer_id = ANY($1))
             ORDER BY b.invoice_id, b.id
            """, [customerIDs]) {
            let invoiceID = try row.decode(0, as: Int64.self)
            items[invoiceID, default: []].append(InvoiceView.Item(
                id: try row.decode(1), serviceID: try row.decode(2, as: Int64?.self), kind: try row.decode(3),
                description: try row.decode(4), minutes: try row.decode(5, as: Int?.self), quantity: try row.decode(6),
                unitPrice: try row.decode(7), amount: try row.decode(8), periodStart: try row.decode(9, as: LocalDate?.self),
                periodEnd: try row.decode(10, as: LocalDate?.self), sourceKey: try row.decode(11)
            ))
        }
        var taxes: [Int64: [InvoiceView.Tax]] = [:]
        for row in try db.query("""
            SELECT t.invoice_id, t.tax_rate, t.tax_percent, t.base, t.tax
              FROM invoice_taxes t
             WHERE $1::bigint[] IS NULL OR t.customer_id = ANY($1)
             ORDER BY t.invoice_id, t.tax_rate, t.tax_percent
            """, [customerIDs]) {
            taxes[try row.decode(0, as: Int64.self), default: []].append(InvoiceView.Tax(
                rate: try row.decode(1), percent: try row.decode(2), base: try row.decode(3), tax: try row.decode(4)))
        }
        return try db.query("""
            SELECT i.id, i.customer_id, c.name, i.currency, i.kind, i.period_start, i.period_end, i.status,
                   i.issued_at, i.due_on, i.total,
                   COALESCE((SELECT sum(p.amount) FROM payments p
                              WHERE p.invoice_id = i.id AND p.status = 'completed'), 0)::bigint,
                   i.source_key, i.number, i.subtotal, i.tax_total, i.tax_note
              FROM invoices i JOIN customers c ON c.id = i.customer_id
             WHERE ($1::bigint[] IS NULL OR i.customer_id = ANY($1))
             ORDER BY i.customer_id, i.period_start NULLS LAST, i.id
            """, [customerIDs]).map { row in
            let id = try row.decode(0, as: Int64.self)
            var view = InvoiceView(
                id: id, customerID: try row.decode(1), customerName: try row.decode(2), currency: try row.decode(3),
                kind: try row.decode(4), periodStart: try row.decode(5, as: LocalDate?.self),
                periodEnd: try row.decode(6, as: LocalDate?.self), status: try row.decode(7),
                issuedAt: try row.decode(8, as: Instant?.self), dueOn: try row.decode(9, as: LocalDate?.self),
                total: try row.decode(10), paid: try row.decode(11), sourceKey: try row.decode(12), items: items[id] ?? []
            )
            view.number = try row.decode(13, as: String?.self)
            view.subtotal = try row.decode(14)
            view.taxTotal = try row.decode(15)
            view.taxNote = try row.decode(16, as: String?.self)
            view.taxes = taxes[id] ?? []
            return view
        }
    }
}
