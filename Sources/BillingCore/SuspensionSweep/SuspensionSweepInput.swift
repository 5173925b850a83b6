/// Everything the suspension sweep knows about one customer: its open invoices, its credit notes
/// and the credit applications stored so far, its services with their plans, and its group
/// memberships, as of the local date of the run's as-of instant.
public struct SuspensionSweepInput: Sendable, Equatable {
    public enum InvoiceStatus: String, Sendable, Equatable {
        case issued
        case paid
    }

    public enum ServiceStatus: String, Sendable, Equatable {
        case pending
        case active
        case suspended
        case cancelled
    }

    /// A completed payment in another currency than the invoice it references: it cannot count
    /// towards the invoice, and is a defect a person must correct.
    public struct ForeignPayment: Sendable, Equatable {
        public let id: Int64
        public let currency: CurrencyCode

        public init(id: Int64, currency: CurrencyCode) {
            self.id = id
            self.currency = currency
        }
    }

    /// An issued invoice, or a paid one whose completed payments no longer cover it or that has
    /// credit applied.
    public struct Invoice: Sendable, Equatable {
        public let id: Int64
        /// `period`, `topup` or `adjustment`.
        public let kind: String
        public let currency: CurrencyCode
        public let status: InvoiceStatus
        public let total: Int64
        /// Sum of the completed payments in the invoice's currency that reference it.
        public let paid: Int64
        public let completedPaymentIDs: [Int64]
        public let reversedPaymentIDs: [Int64]
        public let foreignPayments: [ForeignPayment]
        /// NULL on an issued invoice means "due on receipt": the local date it was issued.
        public let dueOn: LocalDate?
        /// The customer's local date of `issued_at`.
        public let issuedOn: LocalDate
        /// The distinct services its items are for, ascending.
        public let serviceIDs: [Int64]
        /// True when some item carries no service (per-incident items, ...).
        public let hasItemsWithoutService: Bool
        /// The month a period or adjustment invoice bills: credit notes for that month settle it first.
        public let periodStart: LocalDate?
        public let periodEnd: LocalDate?

        public init(id: Int64, kind: String, currency: CurrencyCode, status: InvoiceStatus, total: Int64, paid: Int64,
                    completedPaymentIDs: [Int64] = [], reversedPaymentIDs: [Int64] = [], foreignPayments: [ForeignPayment] = [],
                    dueOn: LocalDate?, issuedOn: LocalDate, serviceIDs: [Int64], hasItemsWithoutService: Bool = false,
                    periodStart: LocalDate? = nil, periodEnd: LocalDate? = nil) {
            self.id = id
            self.kind = kind
            self.currency = currency
            self.status = status
            self.total = total
            self.paid = paid
            self.completedPaymentIDs = completedPaymentIDs
            self.reversedPaymentIDs = reversedPaymentIDs
            self.foreignPayments = foreignPayments
            self.dueOn = dueOn
            self.issuedOn = issuedOn
            self.serviceIDs = serviceIDs
            self.hasItemsWithoutService = hasItemsWithoutService
            self.periodStart = periodStart
            self.periodEnd = periodEnd
        }

        /// The invoice as the settlement sees it.
        public var settlementInvoice: CreditSettlement.Invoice {
            CreditSettlement.Invoice(id: id, kind: kind, currency: currency, total: total, paid: paid, dueOn: effectiveDueOn,
                                     periodStart: periodStart, periodEnd: periodEnd)
        }

        /// True when its completed payments alone reach its total.
        public var needAfterPaymentsIsZero: Bool { paid >= total }

        /// The date from which grace days count.
        public var effectiveDueOn: LocalDate { dueOn ?? issuedOn }
    }

    /// A service of the customer with the parts of its plan the sweep needs.
    public struct Service: Sendable, Equatable {
        public let id: Int64
        public let planID: Int64
        public let planCode: String
        public let status: ServiceStatus
        public let suspendReason: String?
        public let suspendedAt: Instant?
        public let graceDays: Int
        public let groupID: Int64?
        public let groupName: String?

        public init(id: Int64, planID: Int64, planCode: String, status: ServiceStatus, suspendReason: String? = nil,
                    suspendedAt: Instant? = nil, graceDays: Int, groupID: Int64? = nil, groupName: String? = nil) {
            self.id = id
            self.planID = planID
            self.planCode = planCode
            self.status = status
            self.suspendReason = suspendReason
            self.suspendedAt = suspendedAt
            self.graceDays = graceDays
            self.groupID = groupID
            self.groupName = groupName
        }
    }

    /// A row of `customer_group_members`.
    public struct Membership: Sendable, Equatable {
        public let groupID: Int64
        public let groupName: String
        /// True when the sweep added it; false when staff did (never removed).
        public let managed: Bool
        public let since: Instant

        public init(groupID: Int64, groupName: String, managed: Bool, since: Instant) {
            self.groupID = groupID
            self.groupName = groupName
            self.managed = managed
            self.since = since
        }
    }

    /// A current (not superseded) row of `credit_applications`: what an earlier sweep applied.
    public struct StoredApplication: Sendable, Equatable {
        public let id: Int64
        public let creditNoteID: Int64
        public let invoiceID: Int64
        public let currency: CurrencyCode
        public let amount: Int64

        public init(id: Int64, creditNoteID: Int64, invoiceID: Int64, currency: CurrencyCode, amount: Int64) {
            self.id = id
            self.creditNoteID = creditNoteID
            self.invoiceID = invoiceID
            self.currency = currency
            self.amount = amount
        }
    }

    /// A credit note and an invoice: the pair an application is for.
    public struct ApplicationPair: Sendable, Hashable {
        public let creditNoteID: Int64
        public let invoiceID: Int64

        public init(creditNoteID: Int64, invoiceID: Int64) {
            self.creditNoteID = creditNoteID
            self.invoiceID = invoiceID
        }
    }

    public let customerID: Int64
    /// The customer's local date of the run's as-of instant: every rule compares against it.
    public let localAsOf: LocalDate
    public var invoices: [Invoice]
    public var services: [Service]
    public var memberships: [Membership]
    /// The customer's issued credit notes (every one: the allocation is recomputed whole).
    public var creditNotes: [CreditSettlement.CreditNote]
    /// The current applications an earlier sweep stored.
    public var applications: [StoredApplication]
    /// How many applications (current and superseded) each pair has had: the next one's
    /// source_key is numbered after them.
    public var applicationCounts: [ApplicationPair: Int]
    /// The cut-over (docs/operations.md "Cut-over"): invoices issued before it, in the
    /// customer's local calendar, were not supportbill's to chase (another system billed those
    /// months): never overdue, never marked paid or unpaid. nil: no cut-over.
    public var cutover: LocalDate? = nil

    public init(customerID: Int64, localAsOf: LocalDate, invoices: [Invoice] = [], services: [Service] = [], memberships: [Membership] = [],
                creditNotes: [CreditSettlement.CreditNote] = [], applications: [StoredApplication] = [], applicationCounts: [ApplicationPair: Int] = [:]) {
        self.customerID = customerID
        self.localAsOf = localAsOf
        self.invoices = invoices
        self.services = services
        self.memberships = memberships
        self.creditNotes = creditNotes
        self.applications = applications
        self.applicationCounts = applicationCounts
    }
}
