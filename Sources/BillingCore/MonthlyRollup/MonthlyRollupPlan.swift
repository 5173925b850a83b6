/// What to write for one customer: invoices to create, drafts to correct or remove. Empty when
/// everything billed already matches the target (a rerun).
public struct MonthlyRollupPlan: Sendable, Equatable {
    public let customerID: Int64
    public var invoices: [RollupInvoicePlan]
    public var notices: [String]

    public init(customerID: Int64, invoices: [RollupInvoicePlan] = [], notices: [String] = []) {
        self.customerID = customerID
        self.invoices = invoices
        self.notices = notices
    }

    public var isEmpty: Bool { invoices.isEmpty }
}
