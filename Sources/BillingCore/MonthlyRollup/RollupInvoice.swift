/// An invoice the rollup wrote earlier (`period` or `adjustment`, source key `mr:...`), with
/// every item on it, including items other jobs emitted that were attached to it.
public struct RollupInvoice: Sendable, Hashable {
    public enum Kind: String, Sendable { case period, adjustment }

    public let id: Int64
    public let kind: Kind
    public let currency: CurrencyCode
    public let month: YearMonth
    /// draft, issued, paid or void. Everything but a draft is immutable and counts as billed.
    public let status: String
    public let total: Int64
    public let sourceKey: String
    public let items: [RollupItem]

    public init(id: Int64, kind: Kind, currency: CurrencyCode, month: YearMonth, status: String, total: Int64, sourceKey: String, items: [RollupItem]) {
        self.id = id
        self.kind = kind
        self.currency = currency
        self.month = month
        self.status = status
        self.total = total
        self.sourceKey = sourceKey
        self.items = items
    }

    public var isDraft: Bool { status == "draft" }
}
