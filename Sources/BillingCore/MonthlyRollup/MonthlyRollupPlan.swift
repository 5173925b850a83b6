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

/// One invoice to create, or one draft to correct in place or remove.
public struct RollupInvoicePlan: Sendable, Equatable {
    public enum Action: String, Sendable {
        /// A new invoice (period or adjustment), built as a draft, then issued unless `issue = false`.
        case create
        /// An existing draft corrected in place (and issued unless `issue = false`).
        case correct
        /// An existing draft whose total became 0: the rollup's items are deleted, other jobs'
        /// items are detached (uninvoiced again), the draft is deleted.
        case remove
    }

    public let action: Action
    /// The existing draft (correct, remove); nil for create.
    public let existingID: Int64?
    public let sourceKey: String
    public let kind: RollupInvoice.Kind
    public let currency: CurrencyCode
    public let month: YearMonth
    /// The invoice's status once written: draft or issued.
    public let status: String
    public let issuedAt: Instant?
    public let dueOn: LocalDate?
    /// Equal to the sum of `items` amounts.
    public let total: Int64
    /// The total before this run (0 for create).
    public let previousTotal: Int64
    /// The invoice's items after this run, each with what happens to it.
    public let items: [RollupItemPlan]
    /// The rollup's items deleted from the draft.
    public let deletedItemIDs: [Int64]
    /// Other jobs' items taken off a removed draft (uninvoiced again).
    public let detachedItemIDs: [Int64]

    public init(action: Action, existingID: Int64?, sourceKey: String, kind: RollupInvoice.Kind, currency: CurrencyCode, month: YearMonth, status: String, issuedAt: Instant?, dueOn: LocalDate?, total: Int64, previousTotal: Int64, items: [RollupItemPlan], deletedItemIDs: [Int64], detachedItemIDs: [Int64]) {
        self.action = action
        self.existingID = existingID
        self.sourceKey = sourceKey
        self.kind = kind
        self.currency = currency
        self.month = month
        self.status = status
        self.issuedAt = issuedAt
        self.dueOn = dueOn
        self.total = total
        self.previousTotal = previousTotal
        self.items = items
        self.deletedItemIDs = deletedItemIDs
        self.detachedItemIDs = detachedItemIDs
    }

    /// True when this run moves the invoice from draft to issued.
    public var issues: Bool { action != .remove && status == "issued" }
}

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

    public init(change: Change, id: Int64?, sourceKey: String, line: RollupLine?, serviceID: Int64?, kind: String, description: String, minutes: Int64?, quantity: ExactDecimal, unitPrice: Int64, amount: Int64, currency: CurrencyCode, periodStart: LocalDate?, periodEnd: LocalDate?, includedMinutes: Int64? = nil) {
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
    }

    /// The same item with another change and id.
    func with(change: Change, id: Int64?) -> RollupItemPlan {
        RollupItemPlan(change: change, id: id, sourceKey: sourceKey, line: line, serviceID: serviceID, kind: kind, description: description, minutes: minutes, quantity: quantity, unitPrice: unitPrice, amount: amount, currency: currency, periodStart: periodStart, periodEnd: periodEnd, includedMinutes: includedMinutes)
    }

    /// Whether a stored item already holds exactly these values.
    func matches(_ stored: RollupItem) -> Bool {
        stored.serviceID == serviceID && stored.kind == kind && stored.description == description
            && stored.minutes == minutes && stored.quantity == quantity && stored.unitPrice == unitPrice
            && stored.amount == amount && stored.currency == currency && stored.periodStart == periodStart
            && stored.periodEnd == periodEnd && stored.line == line && stored.includedMinutes == includedMinutes
    }

    static func stored(_ item: RollupItem, change: Change) -> RollupItemPlan {
        RollupItemPlan(change: change, id: item.id, sourceKey: item.sourceKey, line: item.line, serviceID: item.serviceID, kind: item.kind, description: item.description, minutes: item.minutes, quantity: item.quantity, unitPrice: item.unitPrice, amount: item.amount, currency: item.currency, periodStart: item.periodStart, periodEnd: item.periodEnd, includedMinutes: item.includedMinutes)
    }
}
