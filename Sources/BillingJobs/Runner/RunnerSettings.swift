/// How a run behaves beyond its job: session limits that keep a stuck run from blocking the next
/// timer forever (each a PostgreSQL duration, `30s`, `10min`, `0` = no limit, set on the run's
/// connection), and how many report rows it keeps in memory.
public struct RunnerSettings: Sendable {
    /// How long a statement may wait for a row or table lock.
    public var lockTimeout: String
    /// How long one statement may run.
    public var statementTimeout: String
    /// How long a transaction may sit idle (a hung client) before the server ends it.
    public var idleInTransactionTimeout: String
    /// How often the server checks, while a statement runs, that the run's client is still
    /// there (PostgreSQL 14+, skipped on older servers): a killed runner's statement is cancelled,
    /// and the job's lock freed, within about this long instead of when the statement ends.
    public var clientConnectionCheckInterval: String
    /// Report rows kept in memory; beyond it they go to a temporary file (`ReportRecords`).
    public var reportMemoryLimit: Int

    public init(lockTimeout: String = "60s", statementTimeout: String = "30min", idleInTransactionTimeout: String = "10min",
                reportMemoryLimit: Int = ReportRecords.defaultMemoryLimit, clientConnectionCheckInterval: String = "5s") {
        self.lockTimeout = lockTimeout
        self.clientConnectionCheckInterval = clientConnectionCheckInterval
        self.statementTimeout = statementTimeout
        self.idleInTransactionTimeout = idleInTransactionTimeout
        self.reportMemoryLimit = reportMemoryLimit
    }

    /// The settings as `set_config` pairs.
    public var sessionSettings: [(String, String)] {
        [
            ("lock_timeout", lockTimeout),
            ("statement_timeout", statementTimeout),
            ("idle_in_transaction_session_timeout", idleInTransactionTimeout),
            // The jobs' statements join CTEs whose row estimates overshoot by orders of
            // magnitude; PostgreSQL then JIT-compiles plans for seconds to save milliseconds
            // (seen by the sweep and incident-grants). Batch SQL of this shape never gains.
            ("jit", "off"),
        ]
    }

    /// Settings only newer servers know: (name, value, lowest `server_version_num`).
    public var versionedSessionSettings: [(name: String, value: String, minimumVersion: Int)] {
        [("client_connection_check_interval", clientConnectionCheckInterval, 140000)]
    }
}
