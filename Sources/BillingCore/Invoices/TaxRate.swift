/// A tax rate an item is billed at: the `tax_rates.code` it came from and the percent it had
/// then. An item keeps both, so a later change of the customer's rate, or of the rate itself,
/// never re-taxes what was billed (docs/invoices.md, "Taxes").
public struct TaxRate: Hashable, Sendable, CustomStringConvertible {
    public let code: String
    /// Percent, exact: 19.0000 is 19 %.
    public let percent: ExactDecimal

    public init(code: String, percent: ExactDecimal) {
        self.code = code
        self.percent = percent.normalized
    }

    public var description: String { "\(code) \(percent) %" }
}
