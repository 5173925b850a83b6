import BillingCore

/// The inputs of one batch of customers for the monthly rollup, keyed by customer id.
public struct MonthlyRollupBatch: Sendable {
    public var services: [Int64: [RollupService]] = [:]
    public var usage: [Int64: [RollupUsage]] = [:]
    /// Customers whose time entries are inconsistent, with the first defect found.
    public var defects: [Int64: String] = [:]
    public var invoices: [Int64: [RollupInvoice]] = [:]
    public var openItems: [Int64: [RollupItem]] = [:]
    /// The cut-over (`BillingCutover`), nil when none is set.
    public var cutover: LocalDate?
    /// Customers' tax rates and notes today; absent: untaxed.
    public var taxes: [Int64: CustomerTax] = [:]

    public init() {}
}
