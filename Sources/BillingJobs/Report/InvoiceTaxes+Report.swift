import BillingCore

extension InvoiceTaxes {
    /// An invoice's tax fields in a job's report, after its `total` (gross): `subtotal` (net),
    /// `tax_total`, `tax_note`. Its lines per rate go in `taxesField` (CSV rows of section
    /// `invoice_taxes`, docs/invoices.md "Taxes").
    func reportFields(note: String?) -> [(String, JSONValue)] {
        [
            ("subtotal", .int(subtotal)),
            ("tax_total", .int(taxTotal)),
            ("tax_note", note.map { .string($0) } ?? .null),
        ]
    }

    /// One object per rate: code, percent, base (net) and tax.
    var taxesField: (String, JSONValue) {
        ("taxes", .array(lines.map { line in
            .object([
                ("tax_rate", .string(line.rate.code)),
                ("tax_percent", .decimal(line.rate.percent.description)),
                ("base", .int(line.base)),
                ("tax", .int(line.tax)),
            ])
        }))
    }
}
