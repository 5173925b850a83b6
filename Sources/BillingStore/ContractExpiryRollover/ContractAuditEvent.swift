import BillingCore

/// An `audit_events` row this job recorded for a contract.
public struct ContractAuditEvent: Sendable, Hashable {
    public let id: Int64
    public let at: Instant
    /// The contract's customer; nil for item and org-unit contracts.
    public let customerID: Int64?
    public let contractID: Int64
    public let event: String
    public let detail: JSONValue
    public let sourceKey: String
}
