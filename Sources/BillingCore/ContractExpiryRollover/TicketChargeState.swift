/// Where a request (ticket) stands after the time already charged to it: the rules for its next
/// entries follow from its last charge.
public enum TicketChargeState: Hashable, Sendable {
    /// Its time goes to this contract, `rolled_over` when the request moved here after its
    /// first contract expired during it.
    case contract(Int64, rolledOver: Bool)
    /// Its contract expired during the request and `expired_time` was "ignore": the rest of its
    /// time is recorded `ignored` on that contract.
    case ignoring(Int64)
    /// It found no contract at all and is billed once per incident.
    case perIncident

    /// The state a request's last charge leaves it in; nil for a charge that names no contract
    /// although its outcome needs one (not written by this job).
    public init?(lastOutcome: ContractChargeOutcome, contractID: Int64?) {
        switch (lastOutcome, contractID) {
        case (.perIncident, _): self = .perIncident
        case (.covered, let id?): self = .contract(id, rolledOver: false)
        case (.rolledOver, let id?): self = .contract(id, rolledOver: true)
        case (.ignored, let id?): self = .ignoring(id)
        default: return nil
        }
    }
}
