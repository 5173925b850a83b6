/// One customer's work for the contract planner: the billable time entries not charged yet
/// (those no service bills), their tickets, and the org units whose contracts serve it.
public struct ContractCustomerInput: Sendable {
    /// A billable time entry not charged yet, or not completely: part of it waited for a
    /// contract to roll over to (or its minutes grew after it was charged).
    public struct Entry: Sendable, Hashable {
        public let id: Int64
        public let ticketID: Int64
        public let workedAt: Instant
        /// The customer's local date of `workedAt`: what contract dates are compared with.
        public let localDate: LocalDate
        public let minutes: Int64
        /// Minutes of it charged by earlier runs, and in how many pieces (the next is numbered
        /// after them).
        public let chargedMinutes: Int64
        public let chargedPieces: Int

        public init(id: Int64, ticketID: Int64, workedAt: Instant, localDate: LocalDate, minutes: Int64,
                    chargedMinutes: Int64 = 0, chargedPieces: Int = 0) {
            self.id = id
            self.ticketID = ticketID
            self.workedAt = workedAt
            self.localDate = localDate
            self.minutes = minutes
            self.chargedMinutes = chargedMinutes
            self.chargedPieces = chargedPieces
        }
    }

    /// A request: its item, when it was opened, and where its earlier time went.
    public struct Ticket: Sendable, Hashable {
        public let id: Int64
        public let customerID: Int64
        public let itemID: Int64?
        /// The customer's local date of `opened_at` (per-incident items are dated in its month).
        public let openedOn: LocalDate
        public let subject: String
        /// From the ticket's last charge; nil for a request none of whose time is charged yet.
        public let state: TicketChargeState?

        public init(id: Int64, customerID: Int64, itemID: Int64? = nil, openedOn: LocalDate, subject: String = "", state: TicketChargeState? = nil) {
            self.id = id
            self.customerID = customerID
            self.itemID = itemID
            self.openedOn = openedOn
            self.subject = subject
            self.state = state
        }
    }

    public let customerID: Int64
    public let currency: CurrencyCode
    /// The customer's org unit, then its parent, and so on: nearest first.
    public let orgUnits: [Int64]
    public let entries: [Entry]
    /// The tickets of `entries`. An entry whose ticket is missing is invalid data.
    public let tickets: [Int64: Ticket]
    /// The cut-over (docs/operations.md "Cut-over"): an entry worked before it (its
    /// `localDate`) is charged to no contract, and a request opened before it is never billed
    /// per incident (the other system did); its later entries are charged to contracts as usual.
    /// nil: no cut-over.
    public var cutover: LocalDate? = nil

    public init(customerID: Int64, currency: CurrencyCode, orgUnits: [Int64] = [], entries: [Entry], tickets: [Ticket]) {
        self.customerID = customerID
        self.currency = currency
        self.orgUnits = orgUnits
        self.entries = entries
        self.tickets = Dictionary(tickets.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
    }
}
