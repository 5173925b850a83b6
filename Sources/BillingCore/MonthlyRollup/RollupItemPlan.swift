/// One item of a planned invoice.
public struct RollupItemPlan: Sendable, Equatable {
    public enum Change: String, Sendable {
        /// Already on the draft, unchanged.
        case keep
        /// A new row.
        case insert
        /// A row of the draft whose values change (the rollup's own items only).
        case update
        /// Another job's uninvoiced item, attached to this invoice.
        case attach
    }

    public let change: Change
    /// The stored row's id (keep, update, attach); nil for insert.
    public let id: Int64?
    public let sourceKey: String
    /// nil for other jobs' items.
    public let line: RollupLine?
    public let serviceID: Int64?
    public let kind: String
    public let description: String
    public let minutes: Int64?
    public let quantity: ExactDecimal
    public let unitPrice: Int64
    public let amount: Int64
    public let currency: CurrencyCode
    public let periodStart: LocalDate?
    public let periodEnd: LocalDate?
    /// Usage lines and their corrections: the included minutes applied.
    public let includedMinutes: Int64?
    /// Usage lines and their corrections: the increment the entries were rounded up to (written,
    /// not compared: a stored item from before the column existed has none).
    public let incrementMinutes: Int64?
    /// The rate the item is billed at: the customer's when its line is invoiced for the first
    /// time, the rate of the item it corrects for a correction; nil: untaxed.
    public let taxRate: TaxRate?

    public init(change: Change, id: Int64?, sourceKey: String, line: RollupLine?, serviceID: Int64?, kind: String, description: String, minutes: Int64?, quantity: ExactDecimal, unitPrice: Int64, amount: Int64, currency: CurrencyCode, periodStart: LocalDate?, periodEnd: LocalDate?, includedMinutes: Int64? = nil, incrementMinutes: Int64? = nil, taxRate: TaxRate? = nil) {
        self.change = change
        self.id = id
        self.sourceKey = sourceKey
        self.line = line
        self.serviceID = serviceID
        self.kind = kind
        self.description = description
        self.minutes = minutes
        self.quantity = quantity
        self.unitPrice = unitPrice
        self.amount = amount
        self.currency = currency
        self.periodStart = periodStart
        self.periodEnd = periodEnd
        self.includedMinutes = includedMinutes
        self.incrementMinutes = incrementMinutes
        self.taxRate = taxRate
    }

    /// The same item with another change and id.
    func with(change: Change, id: Int64?) -> RollupItemPlan {
        RollupItemPlan(change: change, id: id, sourceKey: sourceKey, line: line, serviceID: serviceID, kind: kind, description: description, minutes: minutes, quantity: quantity, unitPrice: unitPrice, amount: amount, currency: currency, periodStart: periodStart, periodEnd: periodEnd, includedMinutes: includedMinutes, incrementMinutes: incrementMinutes, taxRate: taxRate)
    }

    /// The same item billed at another rate.
    func with(taxRate: TaxRate?) -> RollupItemPlan {
        RollupItemPlan(change: change, id: id, sourceKey: sourceKey, line: line, serviceID: serviceID, kind: kind, description: description, minutes: minutes, quantity: quantity, unitPrice: unitPrice, amount: amount, currency: currency, periodStart: periodStart, periodEnd: periodEnd, includedMinutes: includedMinutes, incrementMinutes: incrementMinutes, taxRate: taxRate)
    }

    /// Whether a stored item already holds exactly these values.
    func matches(_ stored: RollupItem) -> Bool {
        stored.serviceID == serviceID && stored.kind == kind && stored.description == description
            && stored.minutes == minutes && stored.quantity == quantity && stored.unitPrice == unitPrice
            && stored.amount == amount && stored.currency == currency && stored.periodStart == periodStart
            && stored.periodEnd == periodEnd && stored.line == line && stored.includedMinutes == includedMinutes
            && stored.taxRate == taxRate
    }

    static func stored(_ item: RollupItem, change: Change) -> RollupItemPlan {
        RollupItemPlan(change: change, id: item.id, sourceKey: item.sourceKey, line: item.line, serviceID: item.serviceID, kind: item.kind, description: item.description, minutes: item.minutes, quantity: item.quantity, unitPrice: item.unitPrice, amount: item.amount, currency: item.currency, periodStart: item.periodStart, periodEnd: item.periodEnd, includedMinutes: item.includedMinutes, taxRate: item.taxRate)
    }
}
