/// A billable item as stored: one of the rollup's (with its `line`) or another job's (line nil).
public struct RollupItem: Sendable, Hashable {
    public let id: Int64
    public let serviceID: Int64?
    public let kind: String
    public let line: RollupLine?
    public let description: String
    public let minutes: Int64?
    public let quantity: ExactDecimal
    public let unitPrice: Int64
    public let amount: Int64
    public let currency: CurrencyCode
    public let periodStart: LocalDate?
    public let periodEnd: LocalDate?
    public let sourceKey: String
    /// Usage lines: the included minutes they were billed with (`billable_items.included_minutes`).
    public let includedMinutes: Int64?
    /// The rate it was billed at (`billable_items.tax_rate`, `tax_percent`); nil: untaxed, or
    /// another job's item not invoiced yet (it takes the customer's rate when it is invoiced).
    public let taxRate: TaxRate?
    /// Another job's correction of an invoiced item (contract-expiry-rollover's `<key>:offset`):
    /// `taxRate` is the rate of the item it corrects (nil: that item was untaxed), which it
    /// keeps when it is invoiced, whatever the customer's rate is then.
    public var correctsInvoicedItem = false

    public init(id: Int64, serviceID: Int64?, kind: String, line: RollupLine?, description: String, minutes: Int64?, quantity: ExactDecimal, unitPrice: Int64, amount: Int64, currency: CurrencyCode, periodStart: LocalDate?, periodEnd: LocalDate?, sourceKey: String, includedMinutes: Int64? = nil, taxRate: TaxRate? = nil) {
        self.id = id
        self.serviceID = serviceID
        self.kind = kind
        self.line = line
        self.description = description
        self.minutes = minutes
        self.quantity = quantity
        self.unitPrice = unitPrice
        self.amount = amount
        self.currency = currency
        self.periodStart = periodStart
        self.periodEnd = periodEnd
        self.sourceKey = sourceKey
        self.includedMinutes = includedMinutes
        self.taxRate = taxRate
    }
}
