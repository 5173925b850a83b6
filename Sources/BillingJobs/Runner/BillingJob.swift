import BillingCore
import BillingStore

/// What every job provides to the runner. The runner owns the connection, the lock, the
/// `job_runs` row, the transactions and the report; a job only chooses its customers and
/// processes one batch of them at a time.
///
/// A job must be idempotent by construction: every row it writes carries a deterministic
/// `source_key` and is inserted only if absent, so a rerun (or a rerun after a crash) emits
/// nothing twice. It reads the clock never: `context.asOf` is the time.
public protocol BillingJob: Sendable {
    static var name: JobName { get }

    /// Runs once before the batches, inside the run's transaction scope. Throw
    /// `JobStop.safetyLimit` to stop the run before anything is written. What it returns is part
    /// of the run's report: set-based changes that belong to no batch (the status of contracts
    /// shared by many customers) are reported here.
    func prepare(_ context: JobContext) throws -> JobOutput

    /// The customers this run visits, ascending by id: one set-based query, honouring
    /// `context.customerFilter` when it is not empty.
    func customers(_ context: JobContext) throws -> [Int64]

    /// Processes one batch of customers (valid ones only: the runner has already skipped those
    /// with an unknown time zone). Runs inside a transaction (a savepoint on a dry run) that the
    /// runner commits when this returns and rolls back when it throws. Customers with invalid
    /// data are reported in `JobOutput.skipped` and must have nothing written for them.
    func process(_ batch: [CustomerRecord], _ context: JobContext) throws -> JobOutput
}

extension BillingJob {
    public func prepare(_ context: JobContext) throws -> JobOutput { JobOutput() }
}
