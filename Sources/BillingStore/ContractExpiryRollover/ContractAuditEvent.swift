import BillingCore

/// An `audit_events` row this job recorded for a contract.
public struct ContractAuditEvent: Sendable, Hashable {
    public let id: Int64
    public let at: Instant
    /// The contract's customer; nil for item and org-unit contracts.
    public let customerID: Int64?
    /// The row the event is about (`entity_id`): the contract, time entry or billable item.
    public let contractID: Int64
    /// `contract`, `time_entry` or `billable_item`.
    public var entity: String = "contract"
    public let event: String
    public let detail: JSONValue
    public let sourceKey: String

    public init(id: Int64, at: Instant, customerID: Int64?, contractID: Int64, entity: String = "contract", event: String, detail: JSONValue, sourceKey: String) {
        self.id = id
        self.at = at
        self.customerID = customerID
        self.contractID = contractID
        self.entity = entity
        self.event = event
        self.detail = detail
        self.sourceKey = sourceKey
    }
}
