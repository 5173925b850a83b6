/// Everything the planner needs about one customer: plain values, loaded in bulk by the store.
public struct MonthlyRollupInput: Sendable {
    public var customerID: Int64
    /// The customer's local date of the run's as-of instant: due dates count from it.
    public var localAsOf: LocalDate
    /// The run's as-of instant: `issued_at` of what this run issues.
    public var asOf: Instant
    public var window: RollupWindow
    /// Services on recurring or metered plans, status not pending.
    public var services: [RollupService]
    /// Rounded usage per metered service and local month of the window.
    public var usage: [RollupUsage]
    /// The rollup's invoices (with all their items) of the window's months, the month before and
    /// the month after, and of any month holding a setup fee of the window.
    public var invoices: [RollupInvoice]
    /// Items other jobs emitted that are on no invoice yet, whose period starts before the
    /// window ends (older ones are reported, not invoiced).
    public var openItems: [RollupItem]
    public var dueDays: Int
    /// false: invoices stay drafts for finance to review.
    public var issue: Bool
    /// The cut-over (docs/operations.md "Cut-over"): nothing dated before it is billed. A setup
    /// fee of a service starting before it, a fee period starting before it, and a month ending
    /// on or before it bill nothing; a month holding it bills only the minutes worked on and
    /// after it (the store leaves earlier entries out of U). nil: no cut-over.
    public var cutover: LocalDate? = nil
    /// The customer's tax rate and note today: what its lines get when they are invoiced for the
    /// first time (corrections keep the rate of what they correct).
    public var tax: CustomerTax = .untaxed
    /// Tests only: corrections switched off, to show the convergence property test needs them.
    public var disabledCorrections: Set<MonthlyRollupPlanner.Correction> = []

    public init(customerID: Int64, localAsOf: LocalDate, asOf: Instant, window: RollupWindow, services: [RollupService], usage: [RollupUsage], invoices: [RollupInvoice], openItems: [RollupItem], dueDays: Int, issue: Bool) {
        self.customerID = customerID
        self.localAsOf = localAsOf
        self.asOf = asOf
        self.window = window
        self.services = services
        self.usage = usage
        self.invoices = invoices
        self.openItems = openItems
        self.dueDays = dueDays
        self.issue = issue
    }
}
