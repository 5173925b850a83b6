/// The tax of one invoice: per rate, tax = roundHalfUp(sum of that rate's item amounts × rate /
/// 100), taken once per invoice and rate (docs/invoices.md, "Taxes"). Items without a rate are
/// untaxed and count in the subtotal only.
///
/// Rounding once per rate, not per item, is what tax authorities expect on an invoice that shows
/// a net amount and a tax per rate: three items of 0.10 at 19 % give 0.06 of tax (0.057 rounded),
/// where rounding each item would give 0.02 × 3 = 0.06 here but drift in general.
public struct InvoiceTaxes: Equatable, Sendable {
    public struct Line: Equatable, Sendable {
        public let rate: TaxRate
        /// The sum of the item amounts billed at this rate (net).
        public let base: Int64
        public let tax: Int64

        public init(rate: TaxRate, base: Int64, tax: Int64) {
            self.rate = rate
            self.base = base
            self.tax = tax
        }
    }

    /// One line per rate, ordered by code then percent (deterministic).
    public let lines: [Line]
    /// The sum of every item's amount, taxed or not (net).
    public let subtotal: Int64
    public let taxTotal: Int64
    /// `subtotal + taxTotal`: what the customer pays, what payments and credits settle.
    public var total: Int64 { subtotal + taxTotal }

    /// `items` are (amount, rate or nil for untaxed) pairs.
    public init(items: [(amount: Int64, rate: TaxRate?)]) throws {
        var bases: [TaxRate: Int64] = [:]
        var subtotal: Int64 = 0
        for item in items {
            subtotal = try MoneyMath.add(subtotal, item.amount)
            if let rate = item.rate {
                bases[rate] = try MoneyMath.add(bases[rate, default: 0], item.amount)
            }
        }
        var lines: [Line] = []
        for (rate, base) in bases.sorted(by: { $0.key < $1.key }) {
            lines.append(Line(rate: rate, base: base, tax: try MoneyMath.tax(base: base, percent: rate.percent)))
        }
        self.lines = lines
        self.subtotal = subtotal
        self.taxTotal = try MoneyMath.sum(lines.map(\.tax))
        _ = try MoneyMath.add(subtotal, taxTotal)
    }

    /// An invoice without taxed items: no lines, total = subtotal.
    public init(untaxedSubtotal subtotal: Int64) {
        self.lines = []
        self.subtotal = subtotal
        self.taxTotal = 0
    }
}
