import BillingCore

/// One invocation of a job, as the CLI (or simulate, or a test) asks for it.
public struct JobRunRequest: Sendable {
    public var asOf: Instant
    public var period: YearMonth?
    public var customers: [Int64]
    public var dryRun: Bool
    public var force: Bool
    /// Wait for the job's lock instead of exiting 75 (bounded by `lock_timeout` when set).
    public var wait: Bool
    /// Customers per committed batch.
    public var batchSize: Int
    /// Who started the run, for `job_runs.invoked_by`.
    public var invokedBy: String

    public init(asOf: Instant, period: YearMonth? = nil, customers: [Int64] = [], dryRun: Bool = false, force: Bool = false, wait: Bool = false, batchSize: Int = 500, invokedBy: String = Invoker.current) {
        self.asOf = asOf
        self.period = period
        self.customers = customers
        self.dryRun = dryRun
        self.force = force
        self.wait = wait
        self.batchSize = batchSize
        self.invokedBy = invokedBy
    }
}
