import BillingCore
import Postgres

/// Reads and writes what taxes an invoice (docs/invoices.md, "Taxes"), for every job that issues
/// invoices: each customer's rate and note today, and an invoice's rows per rate.
public enum CustomerTaxes {
    /// The rate (with the percent its `tax_rates` row has now) and the note of each customer in
    /// `ids`, in one query; customers without either are left out (untaxed, no note).
    public static func load(_ db: PostgresConnection, _ ids: [Int64]) throws -> [Int64: CustomerTax] {
        guard !ids.isEmpty else { return [:] }
        var taxes: [Int64: CustomerTax] = [:]
        for row in try db.query("""
            SELECT c.id, r.code, r.rate, c.tax_note
              FROM customers c LEFT JOIN tax_rates r ON r.code = c.tax_rate
             WHERE c.id = ANY($1::bigint[]) AND (c.tax_rate IS NOT NULL OR c.tax_note IS NOT NULL)
            """, [ids]) {
            var tax = CustomerTax(note: try row.decode(3, as: String?.self))
            if let code = try row.decode(1, as: String?.self) {
                tax.rate = try TaxRate(code: code, percent: try row.decode(2, as: ExactDecimal.self))
            }
            taxes[try row.decode(0, as: Int64.self)] = tax
        }
        return taxes
    }

    /// Replaces the tax rows of drafts (`invoice_taxes`, one per rate) with `taxes`, in two
    /// statements whatever the number of invoices. Only drafts: the rows of an issued invoice
    /// never change (a trigger refuses it), and issuing checks that they add up.
    public static func replace(_ db: PostgresConnection, _ invoices: [(customerID: Int64, invoiceID: Int64, taxes: InvoiceTaxes)]) throws {
        guard !invoices.isEmpty else { return }
        try db.execute("""
            DELETE FROM invoice_taxes t
             USING unnest($1::bigint[], $2::bigint[]) AS x(customer_id, invoice_id)
             WHERE t.customer_id = x.customer_id AND t.invoice_id = x.invoice_id
            """, [invoices.map(\.customerID), invoices.map(\.invoiceID)])
        let lines = invoices.flatMap { invoice in invoice.taxes.lines.map { (invoice.customerID, invoice.invoiceID, $0) } }
        guard !lines.isEmpty else { return }
        let inserted = try db.execute("""
            INSERT INTO invoice_taxes (customer_id, invoice_id, tax_rate, tax_percent, base, tax)
            SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::numeric[], $5::bigint[], $6::bigint[])
            """, [lines.map(\.0), lines.map(\.1), lines.map(\.2.rate.code), lines.map(\.2.rate.percent), lines.map(\.2.base),
                  lines.map(\.2.tax)])
        guard inserted == lines.count else {
            throw PostgresError.usage("writing invoice tax rows: \(inserted) rows where \(lines.count) were planned; nothing was written; re-run")
        }
    }
}
