/// A service (status not pending) with its plan and its price in the service's currency (nil
/// when plan_prices has none). Every plan kind pays its fees through the rollup (docs/design.md §8:
/// `incidents` and `prepaid` plans sell packages too); only `metered` plans bill usage.
public struct RollupService: Sendable, Hashable {
    public enum Billing: String, Sendable {
        case recurring, metered, prepaid, incidents

        /// Whether the rollup needs a price in the service's currency to bill the service. A
        /// pre-paid or incidents plan without one has no fees to bill (threshold-topup reports a
        /// pre-paid service's missing price; an incidents plan needs none to grant incidents).
        public var requiresPrice: Bool { self == .recurring || self == .metered }
    }

    public let id: Int64
    public let planID: Int64
    public let planCode: String
    public let planName: String
    public let billing: Billing
    /// Anniversary period length; 0 = one lifetime period from `startsOn`.
    public let periodMonths: Int
    public let billInAdvance: Bool
    public let includedMinutes: Int64
    public let currency: CurrencyCode
    /// active, suspended or cancelled.
    public let status: String
    public let startsOn: LocalDate
    /// Exclusive; nil = open-ended.
    public let endsOn: LocalDate?
    public let price: RollupPrice?

    public init(id: Int64, planID: Int64, planCode: String, planName: String, billing: Billing, periodMonths: Int, billInAdvance: Bool, includedMinutes: Int64, currency: CurrencyCode, status: String, startsOn: LocalDate, endsOn: LocalDate?, price: RollupPrice?) {
        self.id = id
        self.planID = planID
        self.planCode = planCode
        self.planName = planName
        self.billing = billing
        self.periodMonths = periodMonths
        self.billInAdvance = billInAdvance
        self.includedMinutes = includedMinutes
        self.currency = currency
        self.status = status
        self.startsOn = startsOn
        self.endsOn = endsOn
        self.price = price
    }

    /// False for a term that ends on or before its first day: such a service never ran.
    public var hasTerm: Bool { endsOn.map { $0 > startsOn } ?? true }

    /// Whether its plan has a recurring or setup fee in its currency.
    public var hasFees: Bool { (price?.recurringFee ?? 0) > 0 || (price?.setupFee ?? 0) > 0 }
}
