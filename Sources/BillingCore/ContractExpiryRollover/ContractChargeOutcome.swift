/// How a piece of a time entry was charged (`contract_charges.outcome`).
public enum ContractChargeOutcome: String, Hashable, Sendable, CaseIterable {
    /// Deducted from the contract the request found.
    case covered
    /// Deducted from the next contract found after the request's contract expired during it.
    case rolledOver = "rolled_over"
    /// Recorded on the request's expired contract and deducted nowhere (`expired_time = "ignore"`).
    case ignored
    /// The request found no contract at all: billed once per incident.
    case perIncident = "per_incident"

    /// True when the minutes are deducted from the contract.
    public var deducts: Bool { self == .covered || self == .rolledOver }
}
