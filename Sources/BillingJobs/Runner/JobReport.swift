import BillingCore

/// The outcome of one run: what `supportbill run` prints and what `job_runs` records.
public struct JobReport: Sendable {
    public let job: JobName
    /// Nil when the run never started (database unavailable, lock held).
    public let runID: Int64?
    public let dryRun: Bool
    public let asOf: Instant
    public let period: YearMonth?
    /// Nil when the run never started.
    public let status: JobRunStatus?
    public let output: JobOutput
    public let error: String?
    public let exitStatus: ExitStatus
    /// Wall time in milliseconds (a timing: not part of the JSON report).
    public let durationMilliseconds: Int64
    /// Minor units per currency, for formatting.
    public let currencies: [CurrencyCode: Currency]

    public init(job: JobName, runID: Int64?, dryRun: Bool, asOf: Instant, period: YearMonth?, status: JobRunStatus?, output: JobOutput, error: String?, exitStatus: ExitStatus, durationMilliseconds: Int64, currencies: [CurrencyCode: Currency]) {
        self.job = job
        self.runID = runID
        self.dryRun = dryRun
        self.asOf = asOf
        self.period = period
        self.status = status
        self.output = output.sorted()
        self.error = error
        self.exitStatus = exitStatus
        self.durationMilliseconds = durationMilliseconds
        self.currencies = currencies
    }

    /// The JSON object of DESIGN.md §5: `job`, `run_id`, `dry_run`, `as_of`, `status`, `counts`,
    /// `totals` per currency, every section of emitted rows, `skipped`, plus `period`,
    /// `reported`, `notices` and `error`. Keys and rows in a deterministic order.
    public var json: JSONValue {
        var fields: [(String, JSONValue)] = [
            ("job", .string(job.rawValue)),
            ("run_id", runID.map { .int($0) } ?? .null),
            ("dry_run", .bool(dryRun)),
            ("as_of", .string(asOf.description)),
            ("period", period.map { .string($0.description) } ?? .null),
            ("status", status.map { .string($0.rawValue) } ?? .null),
            ("counts", .object(output.counts.sorted { $0.key < $1.key }.map { ($0.key, .int(Int64($0.value))) })),
            ("totals", .object(output.totals.sorted { $0.key < $1.key }.map { currency, named in
                (currency.rawValue, .object(named.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) }))
            })),
        ]
        for section in ReportSection.allCases {
            fields.append((section.rawValue, .array((output.records[section] ?? []).map(\.fields))))
        }
        fields.append(("skipped", .array(output.skipped.map {
            .object([("customer_id", .int($0.customerID)), ("reason", .string($0.reason))])
        })))
        fields.append(("reported", .array(output.reported.map {
            .object([("customer_id", .int($0.customerID)), ("reason", .string($0.reason))])
        })))
        fields.append(("notices", .array(output.notices.map { .string($0) })))
        fields.append(("error", error.map { .string($0) } ?? .null))
        return .object(fields)
    }

    /// What `job_runs.stats` keeps: the summary, not the rows (those are in their tables).
    public var stats: JSONValue {
        .object([
            ("counts", json["counts"] ?? .object([])),
            ("totals", json["totals"] ?? .object([])),
            ("skipped", json["skipped"] ?? .array([])),
            ("reported", json["reported"] ?? .array([])),
            ("notices", json["notices"] ?? .array([])),
            ("duration_ms", .int(durationMilliseconds)),
        ])
    }
}
