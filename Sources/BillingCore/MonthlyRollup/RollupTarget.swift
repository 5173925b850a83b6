/// What one line should have billed, computed from today's data: the values of the item that
/// bills it, and the month whose invoice it belongs on when it is billed for the first time.
public struct RollupTarget: Sendable, Equatable {
    public let line: RollupLine
    /// The month the line is billed in (usage: its month; fees: see `RollupTargets.billingMonth`).
    public let month: YearMonth
    /// recurring_fee, setup_fee or usage.
    public let kind: String
    public let description: String
    /// Usage: U, the rounded minutes worked in the month; nil for fees.
    public let minutes: Int64?
    /// Usage: billed hours, `max(0, U - included) / 60`; fees: 1.
    public let quantity: ExactDecimal
    public let unitPrice: Int64
    public let amount: Int64
    public let currency: CurrencyCode
    public let periodStart: LocalDate?
    public let periodEnd: LocalDate?
    /// Usage: the included minutes applied.
    public let includedMinutes: Int64?
    /// Usage: the increment the month's entries were rounded up to.
    public let incrementMinutes: Int64?

    public init(line: RollupLine, month: YearMonth, kind: String, description: String, minutes: Int64?, quantity: ExactDecimal, unitPrice: Int64, amount: Int64, currency: CurrencyCode, periodStart: LocalDate?, periodEnd: LocalDate?, includedMinutes: Int64? = nil, incrementMinutes: Int64? = nil) {
        self.line = line
        self.month = month
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
    }

    /// The item that bills this line on a period invoice.
    public func item(sourceKey: String) -> RollupItemPlan {
        RollupItemPlan(change: .insert, id: nil, sourceKey: sourceKey, line: line, serviceID: line.serviceID, kind: kind,
                       description: description, minutes: minutes, quantity: quantity, unitPrice: unitPrice, amount: amount,
                       currency: currency, periodStart: periodStart, periodEnd: periodEnd, includedMinutes: includedMinutes,
                       incrementMinutes: incrementMinutes)
    }
}
