import BillingCore
import Postgres

/// Tax rates and what invoices stored about their tax (docs/invoices.md, "Taxes").
extension Fixtures {
    /// A `tax_rates` row (percent as text, e.g. "19.0000").
    public func taxRate(_ code: String, _ percent: String, name: String? = nil) throws {
        try db.execute("INSERT INTO tax_rates (code, name, rate) VALUES ($1, $2, $3::numeric)", [code, name ?? code, percent])
    }

    /// Sets a customer's tax rate (nil: untaxed) and note.
    public func tax(customer: Int64, rate: String?, note: String? = nil) throws {
        try db.execute("UPDATE customers SET tax_rate = $2, tax_note = $3 WHERE id = $1", [customer, rate, note])
    }

    public struct TaxedInvoice: Equatable, Sendable {
        public let id: Int64
        public let number: String?
        public let subtotal: Int64
        public let taxTotal: Int64
        public let total: Int64
        public let taxNote: String?
        public let correctsInvoiceID: Int64?
        /// "code percent base tax" per rate, e.g. "DE-19 19.0000 9800 1862".
        public let taxes: [String]
    }

    /// A customer's invoices (oldest first) with their net, tax, gross and tax rows.
    public func taxedInvoices(customer: Int64, kind: String? = nil) throws -> [TaxedInvoice] {
        try db.query("""
            SELECT i.id, i.number, i.subtotal, i.tax_total, i.total, i.tax_note, i.corrects_invoice_id,
                   COALESCE((SELECT array_agg(t.tax_rate || ' ' || t.tax_percent || ' ' || t.base || ' ' || t.tax
                                              ORDER BY t.tax_rate, t.tax_percent)
                               FROM invoice_taxes t WHERE t.customer_id = i.customer_id AND t.invoice_id = i.id), '{}')
              FROM invoices i WHERE i.customer_id = $1 AND ($2::text IS NULL OR i.kind = $2) ORDER BY i.id
            """, [customer, kind]).map { row in
            TaxedInvoice(id: try row.decode(0), number: try row.decode(1, as: String?.self), subtotal: try row.decode(2),
                         taxTotal: try row.decode(3), total: try row.decode(4), taxNote: try row.decode(5, as: String?.self),
                         correctsInvoiceID: try row.decode(6, as: Int64?.self), taxes: try row.decode(7, as: [String].self))
        }
    }

    /// "kind amount rate percent" of each item of an invoice, by source key ("-" when untaxed).
    public func itemRates(invoice: Int64) throws -> [String] {
        try db.query("""
            SELECT kind || ' ' || amount || ' ' || COALESCE(tax_rate || ' ' || tax_percent, '-')
              FROM billable_items WHERE invoice_id = $1 ORDER BY source_key
            """, [invoice]).map { try $0.decode(0, as: String.self) }
    }
}
