/// What to write for one customer: invoices to create, drafts to correct or remove. Empty when
/// everything billed already matches the target (a rerun).
public struct MonthlyRollupPlan: Sendable, Equatable {
    public let customerID: Int64
    public var invoices: [RollupInvoicePlan]
    /// Other jobs' uninvoiced items whose month nets to 0: settled without an invoice.
    public var netted: [RollupNetting]
    public var notices: [String]

    public init(customerID: Int64, invoices: [RollupInvoicePlan] = [], netted: [RollupNetting] = [], notices: [String] = []) {
        self.customerID = customerID
        self.invoices = invoices
        self.netted = netted
        self.notices = notices
    }

    public var isEmpty: Bool { invoices.isEmpty && netted.isEmpty }
}

/// Other jobs' uninvoiced items of one (currency, month) that sum to 0 (a per-incident charge
/// and the offset that withdrew it): no invoice of total 0 is written (docs/design.md §8); the items
/// are recorded as settled (`rollup_netted_items`) so no later run considers or reports them.
public struct RollupNetting: Sendable, Equatable {
    public let currency: CurrencyCode
    public let month: YearMonth
    public let itemIDs: [Int64]

    public init(currency: CurrencyCode, month: YearMonth, itemIDs: [Int64]) {
        self.currency = currency
        self.month = month
        self.itemIDs = itemIDs
    }
}
