/// How an invoice series prints its numbers (`invoice_series`, docs/invoices.md "Numbers"):
/// the prefix, in which `{YYYY}` is the year of issue, then the counter's value left-padded with
/// zeros to `padding` digits (a longer value is printed whole, never cut).
///
///     prefix "INV-{YYYY}-", padding 6, 2026, 42  ->  INV-2026-000042
///     prefix "CN-", padding 4, 2026, 7           ->  CN-0007
public struct InvoiceNumberFormat: Equatable, Sendable {
    public let prefix: String
    public let padding: Int

    public init(prefix: String, padding: Int) throws {
        guard (0...18).contains(padding) else {
            throw BillingError.invalidInput("invoice_series.padding must be between 0 and 18, got \(padding)")
        }
        self.prefix = prefix
        self.padding = padding
    }

    public func number(_ value: Int64, year: Int) -> String {
        let digits = String(value)
        let padded = String(repeating: "0", count: max(0, padding - digits.count)) + digits
        return prefix.replacing("{YYYY}", with: String(year)) + padded
    }
}
