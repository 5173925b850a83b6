import BillingCore

/// One customer's support month as the client area and staff show it (the seed products' "support
/// report"): every ticket and time entry with its rounded time, hours used against included hours,
/// credit, incidents and contract time left, and the items billed.
public struct UsageReport: Sendable {
    public struct Service: Sendable {
        public let id: Int64
        public let planCode: String
        public let planName: String
        public let billing: String
        public let status: String
        public let includedMinutes: Int
        public let incrementMinutes: Int
        public let hourlyRate: Int64?
        /// Sum of this month's billable entries, each rounded up to the increment.
        public let roundedMinutes: Int64
        /// Prepaid plans: the ledger's balance now, and what this month's entries were debited.
        public let creditBalance: Int64?
        public let creditDebitedThisMonth: Int64?
    }

    public struct Charge: Sendable {
        public let contractID: Int64?
        public let minutes: Int
        public let outcome: String
    }

    public struct Entry: Sendable {
        public let id: Int64
        public let ticketID: Int64
        public let ticketSubject: String
        public let serviceID: Int64?
        public let workedAt: Instant
        public let localDate: LocalDate
        public let minutes: Int
        /// Rounded up to the plan's increment; exact minutes for time on no service.
        public let roundedMinutes: Int
        public let billable: Bool
        public let staff: String?
        public let note: String?
        public let charges: [Charge]
    }

    public struct Contract: Sendable {
        public let id: Int64
        public let kind: String
        public let status: String
        public let scope: String
        public let minutesLimit: Int64?
        public let minutesUsed: Int64
        public let minutesLeft: Int64?
    }

    public struct Item: Sendable {
        public let id: Int64
        public let kind: String
        public let description: String
        public let serviceID: Int64?
        public let quantity: ExactDecimal
        public let unitPrice: Int64
        public let amount: Int64
        public let invoiceID: Int64?
        public let invoiceStatus: String?
        /// Its invoice's number (nil: not invoiced, or a draft) and the rate it was billed at.
        public var invoiceNumber: String? = nil
        public var taxRate: String? = nil
        public var taxPercent: ExactDecimal? = nil
    }

    /// An invoice holding items of the month, as a document (docs/invoices.md): number, net,
    /// tax per rate, gross and the tax note.
    public struct Invoice: Sendable {
        public let id: Int64
        public let number: String?
        public let status: String
        public let subtotal: Int64
        public let taxTotal: Int64
        public let total: Int64
        public let taxNote: String?
        /// (rate, percent, base, tax) per rate.
        public let taxes: [InvoiceView.Tax]
    }

    public let customerID: Int64
    public let customerName: String
    public let currency: Currency
    public let timeZone: String
    public let month: YearMonth
    public let services: [Service]
    public let entries: [Entry]
    public let incidentsTimeLimited: Int64
    public let incidentsLifetime: Int64
    public let incidentsUsedThisMonth: Int
    public let contracts: [Contract]
    public let items: [Item]
    /// The invoices of `items`, by id.
    public var invoices: [Invoice] = []
}
