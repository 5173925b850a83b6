/// What threshold-topup writes for one customer: ledger rows, invoice status moves, new top-up
/// invoices, the services it could not invoice (safety limit) and the queue rows it consumed.
public struct ThresholdTopupPlan: Sendable, Equatable {
    public var customerID: Int64
    public var ledger: [LedgerRow] = []
    public var statusChanges: [StatusChange] = []
    public var invoices: [TopupInvoice] = []
    /// Services at or below their threshold that already had `max_topups_per_day` invoices today:
    /// reported, and queued again so a later run (the next local day) invoices them.
    public var limitReached: [LimitReached] = []
    public var consumedEntryQueueIDs: [Int64] = []
    public var consumedInvoiceQueueIDs: [Int64] = []
    public var consumedServiceQueueIDs: [Int64] = []
    /// Queued entries worked after the run's as-of instant: left in the queue for a later run.
    public var deferredEntryIDs: [Int64] = []
    /// Why each correction of a debit is made, by the ledger row's source key: the reason of its
    /// `debit_corrected` audit event.
    public var corrections: [String: String] = [:]

    public init(customerID: Int64) {
        self.customerID = customerID
    }

    public enum Reason: String, Sendable, Equatable {
        case topup, usage, adjustment
    }

    /// One `credit_ledger` row.
    public struct LedgerRow: Sendable, Equatable {
        public var serviceID: Int64
        /// + credit, - debit.
        public var amount: Int64
        public var currency: CurrencyCode
        public var reason: Reason
        public var timeEntryID: Int64?
        public var invoiceID: Int64?
        /// Rounded minutes this row accounts for (+ debited, - given back); nil on invoice credits.
        public var minutes: Int64?
        public var hourlyRate: Int64?
        public var sourceKey: String
        /// The plan the row is made on (debits and their corrections); nil for invoice credits.
        public var planID: Int64?

        public init(serviceID: Int64, amount: Int64, currency: CurrencyCode, reason: Reason, timeEntryID: Int64?, invoiceID: Int64?, minutes: Int64?, hourlyRate: Int64?, sourceKey: String, planID: Int64? = nil) {
            self.planID = planID
            self.serviceID = serviceID
            self.amount = amount
            self.currency = currency
            self.reason = reason
            self.timeEntryID = timeEntryID
            self.invoiceID = invoiceID
            self.minutes = minutes
            self.hourlyRate = hourlyRate
            self.sourceKey = sourceKey
        }
    }

    /// A top-up invoice moves `issued -> paid` (fully paid) or `paid -> issued` (a payment was
    /// reversed). Applied only if the invoice is still in `from`, so another job having done it
    /// first is harmless.
    public struct StatusChange: Sendable, Equatable {
        public var invoiceID: Int64
        public var from: ThresholdTopupInput.InvoiceStatus
        public var to: ThresholdTopupInput.InvoiceStatus
        public var serviceID: Int64?
        public var total: Int64
        public var paid: Int64
        public var currency: CurrencyCode
        /// `audit_events.source_key` of the `invoice_paid` (or, when unpaying, `invoice_unpaid`)
        /// event; numbered by credit generation, so pay -> reverse -> pay records each move once.
        public var auditSourceKey: String?

        /// The audit event the change records.
        public var auditEvent: String { to == .paid ? "invoice_paid" : "invoice_unpaid" }

        public init(invoiceID: Int64, from: ThresholdTopupInput.InvoiceStatus, to: ThresholdTopupInput.InvoiceStatus, serviceID: Int64?, total: Int64, paid: Int64, currency: CurrencyCode, auditSourceKey: String?) {
            self.invoiceID = invoiceID
            self.from = from
            self.to = to
            self.serviceID = serviceID
            self.total = total
            self.paid = paid
            self.currency = currency
            self.auditSourceKey = auditSourceKey
        }
    }

    /// A new `topup` invoice with its one item: `packs` × `packPrice`.
    public struct TopupInvoice: Sendable, Equatable {
        public var serviceID: Int64
        public var currency: CurrencyCode
        public var packs: Int64
        public var packPrice: Int64
        /// Net: the item's amount, what the service is credited once the invoice is paid.
        public var amount: Int64
        /// The item's rate (the customer's as it is issued); nil: untaxed.
        public var taxRate: TaxRate? = nil
        /// Net, tax and gross of the invoice; `taxes.total` is what the customer pays. nil: untaxed.
        public var taxes: InvoiceTaxes? = nil
        public var taxNote: String? = nil
        /// Gross: what the invoice totals.
        public var total: Int64 { taxes?.total ?? amount }
        public var dueOn: LocalDate
        public var description: String
        public var sourceKey: String
        public var itemSourceKey: String
        /// B and P the decision was made on (after this run's ledger rows and status moves).
        public var balance: Int64
        public var pending: Int64
        public var threshold: Int64

        public init(serviceID: Int64, currency: CurrencyCode, packs: Int64, packPrice: Int64, amount: Int64, dueOn: LocalDate, description: String, sourceKey: String, itemSourceKey: String, balance: Int64, pending: Int64, threshold: Int64) {
            self.serviceID = serviceID
            self.currency = currency
            self.packs = packs
            self.packPrice = packPrice
            self.amount = amount
            self.dueOn = dueOn
            self.description = description
            self.sourceKey = sourceKey
            self.itemSourceKey = itemSourceKey
            self.balance = balance
            self.pending = pending
            self.threshold = threshold
        }
    }

    public struct LimitReached: Sendable, Equatable {
        public var serviceID: Int64
        public var reason: String

        public init(serviceID: Int64, reason: String) {
            self.serviceID = serviceID
            self.reason = reason
        }
    }
}
