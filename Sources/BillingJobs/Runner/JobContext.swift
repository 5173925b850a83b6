import BillingCore
import BillingStore
import Logging
import Postgres

/// Everything a job may look at during a run.
public final class JobContext {
    /// The connection; the runner has opened the transaction (or savepoint) the job works in.
    public let db: PostgresConnection
    public let runID: Int64
    /// The run's "now". Rules compare against each customer's local date of it.
    public let asOf: Instant
    /// `--period`, when given.
    public let period: YearMonth?
    /// `--customer`: when not empty, only these customers are visited.
    public let customerFilter: [Int64]
    /// `--force`: proceed past a safety limit.
    public let force: Bool
    /// True on a dry run. Informational only: a job must take the same path either way.
    public let dryRun: Bool
    public let currencies: [CurrencyCode: Currency]
    public let logger: Logger

    init(db: PostgresConnection, runID: Int64, asOf: Instant, period: YearMonth?, customerFilter: [Int64], force: Bool, dryRun: Bool, currencies: [CurrencyCode: Currency], logger: Logger) {
        self.db = db
        self.runID = runID
        self.asOf = asOf
        self.period = period
        self.customerFilter = customerFilter
        self.force = force
        self.dryRun = dryRun
        self.currencies = currencies
        self.logger = logger
    }

    /// `customerFilter` as a bind value: NULL (no filter) or the id array, for
    /// `($1::bigint[] IS NULL OR c.id = ANY($1))`.
    public var customerFilterBind: [Int64]? { customerFilter.isEmpty ? nil : customerFilter }
}
