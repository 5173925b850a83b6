/// What the suspension sweep decided for one customer. Every list is in ascending id order.
public struct SuspensionSweepPlan: Sendable, Equatable {
    /// An invoice whose status moves between issued and paid.
    public struct Settlement: Sendable, Equatable {
        public let invoiceID: Int64
        public let kind: String
        public let currency: CurrencyCode
        public let total: Int64
        public let paid: Int64
        /// Credit applied to it (after this run's applications).
        public let credited: Int64
        /// `total - paid - credited`: zero or less once paid, positive when reopened.
        public let outstanding: Int64
        public let completedPaymentIDs: [Int64]
        public let reversedPaymentIDs: [Int64]
        /// The credit notes whose credit settles part of it.
        public let creditNoteIDs: [Int64]
        public let dueOn: LocalDate

        public init(invoiceID: Int64, kind: String, currency: CurrencyCode, total: Int64, paid: Int64, credited: Int64 = 0, outstanding: Int64,
                    completedPaymentIDs: [Int64], reversedPaymentIDs: [Int64], creditNoteIDs: [Int64] = [], dueOn: LocalDate) {
            self.invoiceID = invoiceID
            self.kind = kind
            self.currency = currency
            self.total = total
            self.paid = paid
            self.credited = credited
            self.outstanding = outstanding
            self.completedPaymentIDs = completedPaymentIDs
            self.reversedPaymentIDs = reversedPaymentIDs
            self.creditNoteIDs = creditNoteIDs
            self.dueOn = dueOn
        }
    }

    /// An unpaid invoice past its grace for one service (or, without a service, past the
    /// default grace).
    public struct OverdueInvoice: Sendable, Equatable {
        public let invoiceID: Int64
        public let kind: String
        public let currency: CurrencyCode
        public let total: Int64
        public let paid: Int64
        /// Credit applied to it.
        public let credited: Int64
        public let outstanding: Int64
        public let dueOn: LocalDate
        public let graceDays: Int
        /// `dueOn + graceDays`: the first local date on which it counts as overdue.
        public let overdueSince: LocalDate
        /// Local days from the due date to the as-of date.
        public let daysPastDue: Int

        public init(invoiceID: Int64, kind: String, currency: CurrencyCode, total: Int64, paid: Int64, credited: Int64 = 0, outstanding: Int64,
                    dueOn: LocalDate, graceDays: Int, overdueSince: LocalDate, daysPastDue: Int) {
            self.invoiceID = invoiceID
            self.kind = kind
            self.currency = currency
            self.total = total
            self.paid = paid
            self.credited = credited
            self.outstanding = outstanding
            self.dueOn = dueOn
            self.graceDays = graceDays
            self.overdueSince = overdueSince
            self.daysPastDue = daysPastDue
        }
    }

    /// An unpaid invoice of a service still within that service's grace.
    public struct OpenInvoice: Sendable, Equatable {
        public let invoiceID: Int64
        public let dueOn: LocalDate
        public let overdueSince: LocalDate

        public init(invoiceID: Int64, dueOn: LocalDate, overdueSince: LocalDate) {
            self.invoiceID = invoiceID
            self.dueOn = dueOn
            self.overdueSince = overdueSince
        }
    }

    public struct Suspension: Sendable, Equatable {
        public let serviceID: Int64
        public let planCode: String
        public let graceDays: Int
        /// The invoices that make it overdue: the answer to "why was it suspended?".
        public let invoices: [OverdueInvoice]

        public init(serviceID: Int64, planCode: String, graceDays: Int, invoices: [OverdueInvoice]) {
            self.serviceID = serviceID
            self.planCode = planCode
            self.graceDays = graceDays
            self.invoices = invoices
        }
    }

    public struct Restoration: Sendable, Equatable {
        public let serviceID: Int64
        public let planCode: String
        public let suspendedAt: Instant?
        /// Invoices of this service this run found fully paid.
        public let paidInvoiceIDs: [Int64]
        /// Invoices of this service still unpaid but within the grace.
        public let openInvoices: [OpenInvoice]

        public init(serviceID: Int64, planCode: String, suspendedAt: Instant?, paidInvoiceIDs: [Int64], openInvoices: [OpenInvoice]) {
            self.serviceID = serviceID
            self.planCode = planCode
            self.suspendedAt = suspendedAt
            self.paidInvoiceIDs = paidInvoiceIDs
            self.openInvoices = openInvoices
        }
    }

    /// A service as it stands after this run, for the detail of a group change.
    public struct ServiceState: Sendable, Equatable {
        public let serviceID: Int64
        public let planCode: String
        public let status: SuspensionSweepInput.ServiceStatus
        public let suspendReason: String?

        public init(serviceID: Int64, planCode: String, status: SuspensionSweepInput.ServiceStatus, suspendReason: String?) {
            self.serviceID = serviceID
            self.planCode = planCode
            self.status = status
            self.suspendReason = suspendReason
        }
    }

    public struct GroupChange: Sendable, Equatable {
        public let groupID: Int64
        public let groupName: String
        /// The customer's services on plans of this group, after this run: for an addition the
        /// active ones that earn the membership; for a removal all of them (none active).
        public let services: [ServiceState]
        /// When the membership removed had been added.
        public let memberSince: Instant?

        public init(groupID: Int64, groupName: String, services: [ServiceState], memberSince: Instant?) {
            self.groupID = groupID
            self.groupName = groupName
            self.services = services
            self.memberSince = memberSince
        }
    }

    /// A credit application to store: part of a credit note applied to an open invoice.
    public struct NewApplication: Sendable, Equatable {
        public let application: CreditSettlement.Application
        /// `suspension-sweep:credit:<credit note>:<invoice>:<n>`, n numbering the pair's applications.
        public let sourceKey: String

        public init(application: CreditSettlement.Application, sourceKey: String) {
            self.application = application
            self.sourceKey = sourceKey
        }
    }

    /// A stored application that no longer holds: superseded, with why.
    public struct Withdrawal: Sendable, Equatable {
        public let stored: SuspensionSweepInput.StoredApplication
        public let reason: String

        public init(stored: SuspensionSweepInput.StoredApplication, reason: String) {
            self.stored = stored
            self.reason = reason
        }
    }

    /// Applications withdrawn, by stored id; written before `applications`.
    public var withdrawals: [Withdrawal] = []
    /// Applications to store, by credit note then invoice.
    public var applications: [NewApplication] = []
    /// Credit left unapplied per currency after this run (reported, nothing written).
    public var unappliedCredit: [CurrencyCode: Int64] = [:]
    public var paid: [Settlement] = []
    public var unpaid: [Settlement] = []
    public var suspensions: [Suspension] = []
    public var restorations: [Restoration] = []
    public var groupAdditions: [GroupChange] = []
    public var groupRemovals: [GroupChange] = []
    /// Overdue invoices with no service to suspend: reported for follow-up, nothing changes.
    public var overdueWithoutService: [OverdueInvoice] = []

    public init() {}

    /// True when the plan changes nothing.
    public var isEmpty: Bool {
        withdrawals.isEmpty && applications.isEmpty && paid.isEmpty && unpaid.isEmpty && suspensions.isEmpty && restorations.isEmpty
            && groupAdditions.isEmpty && groupRemovals.isEmpty
    }
}

