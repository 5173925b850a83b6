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
    /// Gross: the sum of `items` amounts (`taxes.subtotal`, net) plus `taxes.taxTotal`.
    public let total: Int64
    /// Net, tax per rate and gross of the invoice after this run (docs/invoices.md, "Taxes").
    public let taxes: InvoiceTaxes
    /// The customer's tax note as the invoice is written (reverse charge, ...).
    public let taxNote: String?
    /// The total (gross) before this run (0 for create).
    public let previousTotal: Int64
    /// The invoice's items after this run, each with what happens to it.
    public let items: [RollupItemPlan]
    /// The rollup's items deleted from the draft.
    public let deletedItemIDs: [Int64]
    /// Other jobs' items taken off a removed draft (uninvoiced again).
    public let detachedItemIDs: [Int64]

    public init(action: Action, existingID: Int64?, sourceKey: String, kind: RollupInvoice.Kind, currency: CurrencyCode, month: YearMonth, status: String, issuedAt: Instant?, dueOn: LocalDate?, total: Int64, previousTotal: Int64, items: [RollupItemPlan], deletedItemIDs: [Int64], detachedItemIDs: [Int64], taxes: InvoiceTaxes? = nil, taxNote: String? = nil) {
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
        self.taxes = taxes ?? InvoiceTaxes(untaxedSubtotal: total)
        self.taxNote = taxNote
    }

    /// True when this run moves the invoice from draft to issued.
    public var issues: Bool { action != .remove && status == "issued" }
}
