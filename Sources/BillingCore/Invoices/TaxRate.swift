/// A tax rate an item is billed at: the `tax_rates.code` it came from and the percent it had
/// then. An item keeps both, so a later change of the customer's rate, or of the rate itself,
/// never re-taxes what was billed (docs/invoices.md, "Taxes").
public struct TaxRate: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let code: String
    /// Percent, exact, at most four decimals like `tax_rates.rate` (19.0000 is 19 %).
    public let percent: ExactDecimal
    /// The percent in ten-thousandths (19 % = 190000), for ordering and hashing by value.
    private let tenThousandths: Int64

    public init(code: String, percent: ExactDecimal) throws {
        let normalized = percent.normalized
        guard normalized.scale <= 4, normalized.units >= 0, normalized.units < 1000 * pow10(normalized.scale) else {
            throw BillingError.invalidInput("tax rate \(code): \(percent) % is not a percent from 0 to 999.9999 with at most four decimals")
        }
        self.code = code
        self.percent = normalized
        self.tenThousandths = normalized.units * pow10(4 - normalized.scale)
    }

    public static func < (lhs: TaxRate, rhs: TaxRate) -> Bool {
        (lhs.code, lhs.tenThousandths) < (rhs.code, rhs.tenThousandths)
    }

    public var description: String { "\(code) \(percent) %" }
}

private func pow10(_ exponent: Int) -> Int64 {
    (0..<exponent).reduce(1) { value, _ in value * 10 }
}
