/// Everything the incident-grants planner needs about one customer, loaded in bulk by
/// `IncidentGrantsStore`. Plain values: the planner never reads the database or the clock.
public struct IncidentGrantsInput: Sendable, Equatable {
    /// An active service on an `incidents` plan.
    public struct Service: Sendable, Equatable {
        public let id: Int64
        /// 0: the plan grants its incidents once, as lifetime incidents.
        public let periodMonths: Int
        public let incidentsPerPeriod: Int
        public let startsOn: LocalDate
        /// Exclusive; nil for an open-ended term.
        public let endsOn: LocalDate?

        public init(id: Int64, periodMonths: Int, incidentsPerPeriod: Int, startsOn: LocalDate, endsOn: LocalDate?) {
            self.id = id
            self.periodMonths = periodMonths
            self.incidentsPerPeriod = incidentsPerPeriod
            self.startsOn = startsOn
            self.endsOn = endsOn
        }
    }

    /// What became of the payment behind an account grant.
    public enum PaymentState: Sendable, Equatable {
        /// The grant names no payment (not an account grant of this job).
        case none
        case completed
        case reversed
        /// The payment row is gone (or belongs to another customer).
        case missing
    }

    /// An incident grant already recorded (by an earlier run, or by staff).
    public struct Grant: Sendable, Equatable {
        public let id: Int64
        public let serviceID: Int64?
        public let quantity: Int
        public let lifetime: Bool
        public let validFrom: LocalDate
        /// Exclusive; nil for lifetime grants.
        public let validUntil: LocalDate?
        public let source: IncidentGrantSource
        public let sourceKey: String
        public let revoked: Bool
        /// Uses not returned.
        public let activeUses: Int
        public let paymentID: Int64?
        public let payment: PaymentState
        public let fundsAmount: Int64?
        public let fundsCurrency: CurrencyCode?

        public init(id: Int64, serviceID: Int64? = nil, quantity: Int, lifetime: Bool, validFrom: LocalDate, validUntil: LocalDate? = nil,
                    source: IncidentGrantSource, sourceKey: String, revoked: Bool = false, activeUses: Int = 0,
                    paymentID: Int64? = nil, payment: PaymentState = .none, fundsAmount: Int64? = nil, fundsCurrency: CurrencyCode? = nil) {
            self.id = id
            self.serviceID = serviceID
            self.quantity = quantity
            self.lifetime = lifetime
            self.validFrom = validFrom
            self.validUntil = validUntil
            self.source = source
            self.sourceKey = sourceKey
            self.revoked = revoked
            self.activeUses = activeUses
            self.paymentID = paymentID
            self.payment = payment
            self.fundsAmount = fundsAmount
            self.fundsCurrency = fundsCurrency
        }
    }

    /// A ticket as consumption sees it.
    public struct Ticket: Sendable, Equatable {
        public let id: Int64
        public let openedAt: Instant
        /// The customer's local date of `openedAt`: the date a grant must be valid on.
        public let openedOn: LocalDate
        /// How many uses the ticket has had (returned ones included): numbers its next use.
        public let useCount: Int
        /// The customer of the ticket's service, when it names one; another customer's service
        /// is invalid data.
        public let serviceID: Int64?
        public let serviceCustomerID: Int64?

        public init(id: Int64, openedAt: Instant, openedOn: LocalDate, useCount: Int = 0, serviceID: Int64? = nil, serviceCustomerID: Int64? = nil) {
            self.id = id
            self.openedAt = openedAt
            self.openedOn = openedOn
            self.useCount = useCount
            self.serviceID = serviceID
            self.serviceCustomerID = serviceCustomerID
        }
    }

    /// A use not returned yet that may need returning: its ticket no longer requires an incident
    /// (or is gone), or its grant is revoked or may be revoked in this run.
    public struct ActiveUse: Sendable, Equatable {
        public let id: Int64
        public let grantID: Int64
        public let ticketID: Int64
        /// The ticket as it is now; nil when the ticket no longer exists.
        public let ticket: Ticket?
        public let ticketRequiresIncident: Bool
        /// `incident_uses.used_at`: the ticket's `opened_at` when the use was made (nil: not
        /// known, never judged).
        public let usedAt: Instant?

        /// `incident_uses.source_key`: names the use in the events about it, the same in every
        /// copy of the data (ids are not: a rolled-back run still consumes them).
        public let sourceKey: String?

        public init(id: Int64, grantID: Int64, ticketID: Int64, ticket: Ticket?, ticketRequiresIncident: Bool, usedAt: Instant? = nil,
                    sourceKey: String? = nil) {
            self.id = id
            self.sourceKey = sourceKey
            self.grantID = grantID
            self.ticketID = ticketID
            self.ticket = ticket
            self.ticketRequiresIncident = ticketRequiresIncident
            self.usedAt = usedAt
        }
    }

    /// A completed payment.
    public struct Payment: Sendable, Equatable {
        public let id: Int64
        public let amount: Int64
        public let currency: CurrencyCode
        public let receivedAt: Instant
        /// The customer's local date of `receivedAt`.
        public let receivedOn: LocalDate

        public init(id: Int64, amount: Int64, currency: CurrencyCode, receivedAt: Instant, receivedOn: LocalDate) {
            self.id = id
            self.amount = amount
            self.currency = currency
            self.receivedAt = receivedAt
            self.receivedOn = receivedOn
        }
    }

    public let customerID: Int64
    public let currency: CurrencyCode
    /// The customer's local date of the run's as-of instant.
    public let localAsOf: LocalDate
    /// The local date of `registered_at`, when it is not after the as-of instant.
    public let registeredOn: LocalDate?
    public let services: [Service]
    /// Every grant of the customer, revoked ones included (their keys are taken).
    public let grants: [Grant]
    public let activeUses: [ActiveUse]
    /// Tickets that require an incident, opened by the as-of instant, holding none.
    public let tickets: [Ticket]
    /// The first completed payment received by the as-of instant (any kind, any currency).
    public let firstPayment: Payment?
    /// Completed funds payments (no invoice) received by the as-of instant, in any currency,
    /// in the order they were received.
    public let fundsPayments: [Payment]
    /// Every completed funds payment in the customer's currency, whenever received: what the
    /// active funds grants must stay covered by (a run with an earlier as-of never revokes).
    public let fundsTotal: Int64
    /// The cut-over (docs/operations.md "Cut-over"): nothing dated before it, in the customer's
    /// local calendar, earns or uses incidents: no grant for a period (or a lifetime plan) that
    /// starts before it, for a registration, a first payment or funds received before it, and
    /// no use for a ticket opened before it. nil: no cut-over.
    public var cutover: LocalDate? = nil

    public init(customerID: Int64, currency: CurrencyCode, localAsOf: LocalDate, registeredOn: LocalDate? = nil, services: [Service] = [],
                grants: [Grant] = [], activeUses: [ActiveUse] = [], tickets: [Ticket] = [], firstPayment: Payment? = nil,
                fundsPayments: [Payment] = [], fundsTotal: Int64 = 0) {
        self.customerID = customerID
        self.currency = currency
        self.localAsOf = localAsOf
        self.registeredOn = registeredOn
        self.services = services
        self.grants = grants
        self.activeUses = activeUses
        self.tickets = tickets
        self.firstPayment = firstPayment
        self.fundsPayments = fundsPayments
        self.fundsTotal = fundsTotal
    }
}
