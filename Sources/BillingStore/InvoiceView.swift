import BillingCore

/// An invoice with its items, as people read it (demo, reports).
public struct InvoiceView: Sendable {
    public struct Item: Sendable {
        public let id: Int64
        public let serviceID: Int64?
        public let kind: String
        public let description: String
        public let minutes: Int?
        public let quantity: ExactDecimal
        public let unitPrice: Int64
        public let amount: Int64
        public let periodStart: LocalDate?
        public let periodEnd: LocalDate?
        public let sourceKey: String
    }

    /// One rate's line of the invoice's tax (`invoice_taxes`).
    public struct Tax: Sendable {
        public let rate: String
        public let percent: ExactDecimal
        public let base: Int64
        public let tax: Int64
    }

    public let id: Int64
    public let customerID: Int64
    public let customerName: String
    public let currency: CurrencyCode
    public let kind: String
    public let periodStart: LocalDate?
    public let periodEnd: LocalDate?
    public let status: String
    public let issuedAt: Instant?
    public let dueOn: LocalDate?
    /// Gross: what payments settle.
    public let total: Int64
    public let paid: Int64
    public let sourceKey: String
    public let items: [Item]
    /// Given as it was issued; nil on a draft.
    public var number: String? = nil
    /// Net: the sum of the items.
    public var subtotal: Int64 = 0
    public var taxTotal: Int64 = 0
    public var taxNote: String? = nil
    /// Per rate, ordered by rate and percent.
    public var taxes: [Tax] = []
}
