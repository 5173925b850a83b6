/// Everything threshold-topup knows about one customer at one run, as plain values.
///
/// The store fills it from the queues and a few set-based reads; the planner turns it into a
/// `ThresholdTopupPlan`. Nothing here reads the clock: `asOf` and `localAsOf` are the run's.
public struct ThresholdTopupInput: Sendable, Equatable {
    public var customerID: Int64
    /// The run's instant: entries worked after it are not debited yet.
    public var asOf: Instant
    /// The customer's local date of `asOf`: the day `max_topups_per_day` counts, and the start of
    /// `due_days`.
    public var localAsOf: LocalDate
    /// The customer's pre-paid services, and any other service a queued entry points at.
    public var services: [Service]
    /// Queued time entries: what they are now and what the ledger holds for them.
    public var entries: [EntryChange]
    /// Top-up invoices to reconcile with their payments: every unpaid (issued) one, and those
    /// whose payments changed (or that were voided) since the last run.
    public var invoices: [TopupInvoice]
    /// Service-queue rows of the customer (a new service, a status or price change, ...): the
    /// services are examined for a pack like every run's, and the rows consumed.
    public var serviceQueueIDs: [Int64]
    public var rules: ThresholdTopupRules
    /// The cut-over (docs/operations.md "Cut-over"): an entry worked before it, in the
    /// customer's local calendar (`timeZone`), is not debited (one debited before is given back,
    /// as for a withdrawn entry). nil: no cut-over.
    public var cutover: LocalDate? = nil
    /// The customer's time zone: the local date of an entry, compared with `cutover`.
    public var timeZone: CustomerTimeZone = .utc
    /// The customer's tax rate and note today: a new top-up invoice is taxed at it (its credit
    /// stays the net pack amount).
    public var tax: CustomerTax = .untaxed
    /// Tests only: corrections switched off, to show the convergence property test needs them.
    public var disabledCorrections: Set<ThresholdTopupPlanner.Correction> = []

    public init(customerID: Int64, asOf: Instant, localAsOf: LocalDate, services: [Service], entries: [EntryChange], invoices: [TopupInvoice], serviceQueueIDs: [Int64] = [], rules: ThresholdTopupRules) {
        self.customerID = customerID
        self.asOf = asOf
        self.localAsOf = localAsOf
        self.services = services
        self.entries = entries
        self.invoices = invoices
        self.serviceQueueIDs = serviceQueueIDs
        self.rules = rules
    }

    public enum ServiceStatus: String, Sendable, Equatable {
        case pending, active, suspended, cancelled
    }

    /// A plan price in the service's currency (`plan_prices`).
    public struct Price: Sendable, Equatable {
        public var hourlyRate: Int64
        public var topupAmount: Int64
        public var threshold: Int64

        public init(hourlyRate: Int64, topupAmount: Int64, threshold: Int64) {
            self.hourlyRate = hourlyRate
            self.topupAmount = topupAmount
            self.threshold = threshold
        }
    }

    public struct Service: Sendable, Equatable {
        public var id: Int64
        public var customerID: Int64
        public var status: ServiceStatus
        /// Exclusive end of the term, if any.
        public var endsOn: LocalDate?
        public var planCode: String
        public var planName: String
        /// `plans.billing = 'prepaid'`.
        public var isPrepaid: Bool
        public var incrementMinutes: Int64
        public var currency: Currency
        /// Nil when the plan has no price in the service's currency.
        public var price: Price?
        /// B before this run: the sum of the service's ledger rows.
        public var balance: Int64
        /// Top-up invoices of the service issued on the customer's local as-of date.
        public var topupsIssuedToday: Int
        /// Its plan now (`services.plan_id`); 0 when unknown (tests of the rules alone).
        public var planID: Int64 = 0

        public init(id: Int64, customerID: Int64, status: ServiceStatus, endsOn: LocalDate?, planCode: String, planName: String, isPrepaid: Bool, incrementMinutes: Int64, currency: Currency, price: Price?, balance: Int64, topupsIssuedToday: Int) {
            self.id = id
            self.customerID = customerID
            self.status = status
            self.endsOn = endsOn
            self.planCode = planCode
            self.planName = planName
            self.isPrepaid = isPrepaid
            self.incrementMinutes = incrementMinutes
            self.currency = currency
            self.price = price
            self.balance = balance
            self.topupsIssuedToday = topupsIssuedToday
        }
    }

    /// A time entry as it is now (`time_entries` joined to its ticket).
    public struct TimeEntry: Sendable, Equatable {
        public var customerID: Int64
        public var ticketID: Int64
        /// Nil when the ticket does not exist.
        public var ticketCustomerID: Int64?
        public var ticketServiceID: Int64?
        public var serviceID: Int64?
        public var workedAt: Instant
        public var minutes: Int64
        public var billable: Bool

        public init(customerID: Int64, ticketID: Int64, ticketCustomerID: Int64?, ticketServiceID: Int64?, serviceID: Int64?, workedAt: Instant, minutes: Int64, billable: Bool) {
            self.customerID = customerID
            self.ticketID = ticketID
            self.ticketCustomerID = ticketCustomerID
            self.ticketServiceID = ticketServiceID
            self.serviceID = serviceID
            self.workedAt = workedAt
            self.minutes = minutes
            self.billable = billable
        }

        /// The service the time is charged to: the entry's own, else its ticket's.
        public var effectiveServiceID: Int64? { serviceID ?? ticketServiceID }
    }

    /// What this customer's ledger holds for one entry on one service.
    public struct EntryDebit: Sendable, Equatable {
        public var serviceID: Int64
        public var currency: CurrencyCode
        /// Sum of `minutes` (+ debited, - given back).
        public var netMinutes: Int64
        /// Sum of `amount` (negative while debited).
        public var netAmount: Int64
        /// The rate of the latest row: the rate the entry's debit on this service was made at.
        public var hourlyRate: Int64?
        /// Rows this customer has for the entry on this service (numbers the next correction).
        public var rows: Int
        /// The plan of the latest row (sql/151); nil for rows written before it.
        public var planID: Int64?

        public init(serviceID: Int64, currency: CurrencyCode, netMinutes: Int64, netAmount: Int64, hourlyRate: Int64?, rows: Int, planID: Int64? = nil) {
            self.planID = planID
            self.serviceID = serviceID
            self.currency = currency
            self.netMinutes = netMinutes
            self.netAmount = netAmount
            self.hourlyRate = hourlyRate
            self.rows = rows
        }

        /// Fully given back (or never debited): a new debit starts afresh at today's rate.
        public var isSettled: Bool { netMinutes == 0 && netAmount == 0 }
    }

    /// A queued time entry.
    public struct EntryChange: Sendable, Equatable {
        public var entryID: Int64
        /// The queue rows this change consumes once handled.
        public var queueIDs: [Int64]
        /// Nil when the entry was deleted.
        public var entry: TimeEntry?
        /// This customer's ledger rows for the entry, per service.
        public var debits: [EntryDebit]
        /// Ledger rows for the entry under any customer: none means it was never debited, so
        /// its first debit is `usage`; any later row is an `adjustment`.
        public var ledgerRowsAnyCustomer: Int

        public init(entryID: Int64, queueIDs: [Int64], entry: TimeEntry?, debits: [EntryDebit], ledgerRowsAnyCustomer: Int) {
            self.entryID = entryID
            self.queueIDs = queueIDs
            self.entry = entry
            self.debits = debits
            self.ledgerRowsAnyCustomer = ledgerRowsAnyCustomer
        }
    }

    public enum InvoiceStatus: String, Sendable, Equatable {
        case draft, issued, paid, void
    }

    /// A top-up invoice with its payments and what the ledger credited for it.
    public struct TopupInvoice: Sendable, Equatable {
        public var id: Int64
        public var status: InvoiceStatus
        /// Gross: what its payments must reach.
        public var total: Int64
        /// Net: the packs' amount, what its payment credits to the service. nil: `total` (an
        /// untaxed invoice).
        public var subtotal: Int64?
        public var currency: CurrencyCode
        /// The service of its top-up item; nil if it has none (not one of ours).
        public var serviceID: Int64?
        /// Completed payments referencing it, in its currency.
        public var completedPaid: Int64
        /// `topup` ledger rows for it (credits) and `adjustment` rows (reversals).
        public var credits: Int
        public var reversals: Int
        /// Sum of its ledger rows.
        public var netCredited: Int64
        /// Invoice-queue rows this reconciliation consumes.
        public var queueIDs: [Int64]

        public init(id: Int64, status: InvoiceStatus, total: Int64, subtotal: Int64? = nil, currency: CurrencyCode, serviceID: Int64?, completedPaid: Int64, credits: Int, reversals: Int, netCredited: Int64, queueIDs: [Int64]) {
            self.id = id
            self.status = status
            self.total = total
            self.subtotal = subtotal
            self.currency = currency
            self.serviceID = serviceID
            self.completedPaid = completedPaid
            self.credits = credits
            self.reversals = reversals
            self.netCredited = netCredited
            self.queueIDs = queueIDs
        }

        /// docs/design.md §7: paid when completed payments reach its (gross) total.
        public var isFullyPaid: Bool { completedPaid >= total }

        /// What its payment credits: the net pack amount (the tax is not the customer's credit).
        public var credit: Int64 { subtotal ?? total }
    }
}
