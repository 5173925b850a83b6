import BillingCore

/// One row of `job_runs`.
public struct JobRunRecord: Sendable {
    public let id: Int64
    public let job: String
    public let asOf: Instant
    public let periodStart: LocalDate?
    public let periodEnd: LocalDate?
    public let dryRun: Bool
    public let status: String
    public let startedAt: Instant
    public let finishedAt: Instant?
    public let invokedBy: String
    public let host: String
    public let pid: Int
    public let stats: JSONValue
    public let error: String?
}
