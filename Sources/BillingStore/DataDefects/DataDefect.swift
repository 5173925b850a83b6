/// One defect in the provider's data: whose, what, the row to correct and the jobs that refuse
/// to bill the customer until it is corrected.
public struct DataDefect: Sendable, Equatable {
    /// The customer the defect blocks; nil when no customer can be named (a contract of an org
    /// unit, a payment naming no invoice of its own customer's).
    public let customerID: Int64?
    public let kind: DataDefectKind
    /// The table of the row to correct (`services`, `time_entries`, ...) and its id.
    public let entity: String
    public let entityID: Int64
    /// What is wrong and how to fix it, naming the rows.
    public let detail: String
    /// The jobs that skip the customer for it (empty: no job bills around it, but the data is wrong).
    public let jobs: [String]

    public init(customerID: Int64?, kind: DataDefectKind, entity: String, entityID: Int64, detail: String, jobs: [String]) {
        self.customerID = customerID
        self.kind = kind
        self.entity = entity
        self.entityID = entityID
        self.detail = detail
        self.jobs = jobs
    }
}
