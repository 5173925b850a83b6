/// How a customer's invoices are taxed today: `customers.tax_rate` (with the percent its
/// `tax_rates` row has now) and `customers.tax_note`. A job gives this rate to what it invoices
/// for the first time; corrections take the rate of what they correct instead, so changing a
/// customer's rate never re-taxes an issued month (docs/invoices.md, "Taxes").
public struct CustomerTax: Sendable, Equatable {
    /// nil: untaxed.
    public var rate: TaxRate?
    /// Printed on the invoice (reverse charge, exemption), copied onto it as it is written.
    public var note: String?

    public init(rate: TaxRate? = nil, note: String? = nil) {
        self.rate = rate
        self.note = note
    }

    public static let untaxed = CustomerTax()
}
