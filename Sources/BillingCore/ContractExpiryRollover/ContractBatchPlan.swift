/// What the contract planner decided for a batch of customers.
public struct ContractBatchPlan: Sendable {
    /// One piece of a time entry charged somewhere. An entry is charged in one or more pieces
    /// (split where a contract runs out) whose minutes add up to the entry's.
    public struct Charge: Sendable, Hashable {
        public let customerID: Int64
        public let entryID: Int64
        public let ticketID: Int64
        /// 1, 2, ... within the entry.
        public let piece: Int
        public let contractID: Int64?
        public let minutes: Int64
        public let outcome: ContractChargeOutcome

        /// The piece's key in a plan made alone. The job writes the difference between the plan
        /// and what is stored, numbered by `ContractCorrections` (`ce:charge:<entry>:<n>`).
        public var sourceKey: String { "ce:charge:\(entryID):\(piece)" }

        public init(customerID: Int64, entryID: Int64, ticketID: Int64, piece: Int, contractID: Int64?, minutes: Int64, outcome: ContractChargeOutcome) {
            self.customerID = customerID
            self.entryID = entryID
            self.ticketID = ticketID
            self.piece = piece
            self.contractID = contractID
            self.minutes = minutes
            self.outcome = outcome
        }
    }

    /// A request with no contract at all, billed once per incident.
    public struct Incident: Sendable, Hashable {
        public let customerID: Int64
        public let ticketID: Int64
        public let subject: String
        /// The customer's local month the ticket was opened in.
        public let month: YearMonth
        public let price: Int64
        public let currency: CurrencyCode

        public init(customerID: Int64, ticketID: Int64, subject: String, month: YearMonth, price: Int64, currency: CurrencyCode) {
            self.customerID = customerID
            self.ticketID = ticketID
            self.subject = subject
            self.month = month
            self.price = price
            self.currency = currency
        }

        public var sourceKey: String { "ce:incident:\(ticketID)" }
        public var description: String {
            subject.isEmpty ? "Per-incident support: ticket #\(ticketID)" : "Per-incident support: ticket #\(ticketID) \(subject)"
        }
    }

    /// Time of a request whose contract expired during it, waiting (uncharged) for a contract to
    /// roll over to.
    public struct Waiting: Sendable, Hashable {
        public let customerID: Int64
        public let ticketID: Int64
        /// The contract that expired during the request.
        public let expiredContractID: Int64
        public let entries: Int
        public let minutes: Int64

        public init(customerID: Int64, ticketID: Int64, expiredContractID: Int64, entries: Int, minutes: Int64) {
            self.customerID = customerID
            self.ticketID = ticketID
            self.expiredContractID = expiredContractID
            self.entries = entries
            self.minutes = minutes
        }
    }

    /// A contract whose minutes this plan used up.
    public struct UsedUp: Sendable, Hashable {
        public let contract: SupportContract
        public let minutesUsed: Int64

        public init(contract: SupportContract, minutesUsed: Int64) {
            self.contract = contract
            self.minutesUsed = minutesUsed
        }
    }

    /// A customer the plan leaves out, with the reason (nothing is charged for it).
    public struct Skip: Sendable, Hashable {
        public let customerID: Int64
        public let reason: String

        public init(customerID: Int64, reason: String) {
            self.customerID = customerID
            self.reason = reason
        }
    }

    public var charges: [Charge] = []
    public var incidents: [Incident] = []
    public var waiting: [Waiting] = []
    public var usedUp: [UsedUp] = []
    public var skipped: [Skip] = []
    /// Minutes charged per contract after the plan (`covered` and `rolled_over`).
    public var minutesUsed: [Int64: Int64] = [:]

    public init() {}
}
