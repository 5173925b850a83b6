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
    /// Counts, totals, skipped and reported customers, notices. Its `records` hold every row
    /// only when they were few enough to stay in memory; `records` below always has them all.
    public let output: JobOutput
    /// Every row the run emitted, in the report's order (in a temporary file when many).
    public let records: ReportRecords
    public let error: String?
    public let exitStatus: ExitStatus
    /// Wall time in milliseconds (a timing: not part of the JSON report).
    public let durationMilliseconds: Int64
    /// Minor units per currency, for formatting.
    public let currencies: [CurrencyCode: Currency]

    /// A report whose rows are all in `output.records` (any order: they are sorted here).
    public init(job: JobName, runID: Int64?, dryRun: Bool, asOf: Instant, period: YearMonth?, status: JobRunStatus?, output: JobOutput, error: String?, exitStatus: ExitStatus, durationMilliseconds: Int64, currencies: [CurrencyCode: Currency]) {
        var rest = output
        rest.records = [:]
        self.init(job: job, runID: runID, dryRun: dryRun, asOf: asOf, period: period, status: status, output: rest,
                  records: ReportRecords(output.records), error: error, exitStatus: exitStatus,
                  durationMilliseconds: durationMilliseconds, currencies: currencies)
    }

    /// A report whose rows are in `records` (`output.records` is ignored).
    public init(job: JobName, runID: Int64?, dryRun: Bool, asOf: Instant, period: YearMonth?, status: JobRunStatus?, output: JobOutput, records: ReportRecords, error: String?, exitStatus: ExitStatus, durationMilliseconds: Int64, currencies: [CurrencyCode: Currency]) {
        self.job = job
        self.runID = runID
        self.dryRun = dryRun
        self.asOf = asOf
        self.period = period
        self.status = status
        var sorted = output.sorted()
        sorted.records = [:]
        if !records.isSpilled {
            for section in ReportSection.allCases where records.count(section) > 0 {
                sorted.records[section] = (try? records.all(section)) ?? []
            }
        }
        self.output = sorted
        self.records = records
        self.error = error
        self.exitStatus = exitStatus
        self.durationMilliseconds = durationMilliseconds
        self.currencies = currencies
    }

    /// The JSON object of docs/design.md §5: `job`, `run_id`, `dry_run`, `as_of`, `status`, `counts`,
    /// `totals` per currency, every section of emitted rows, `skipped`, plus `period`,
    /// `reported`, `notices` and `error`. Keys and rows in a deterministic order. It holds every
    /// row in memory: `ReportFormat.json.write` streams the same text for large reports.
    public var json: JSONValue {
        var fields = headFields
        for section in ReportSection.allCases {
            fields.append((section.rawValue, .array(((try? records.all(section)) ?? []).map(\.fields))))
        }
        return .object(fields + tailFields)
    }

    /// The fields before the sections of rows.
    var headFields: [(String, JSONValue)] {
        [
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
    }

    /// The fields after the sections of rows.
    var tailFields: [(String, JSONValue)] {
        [
            ("skipped", .array(output.skipped.map {
                .object([("customer_id", .int($0.customerID)), ("reason", .string($0.reason))])
            })),
            ("reported", .array(output.reported.map {
                .object([("customer_id", .int($0.customerID)), ("reason", .string($0.reason))])
            })),
            ("notices", .array(output.notices.map { .string($0) })),
            ("error", error.map { .string($0) } ?? .null),
        ]
    }

    /// The summary without the rows: `counts`, `totals`, `skipped`, `reported`, `notices`.
    public var summary: JSONValue {
        let head = JSONValue.object(headFields)
        let tail = JSONValue.object(tailFields)
        return .object([
            ("counts", head["counts"] ?? .object([])),
            ("totals", head["totals"] ?? .object([])),
            ("skipped", tail["skipped"] ?? .array([])),
            ("reported", tail["reported"] ?? .array([])),
            ("notices", tail["notices"] ?? .array([])),
        ])
    }

    /// What `job_runs.stats` keeps: the summary, its exit status and duration, not the rows
    /// (those are in their tables and, as the report printed them, in `job_run_rows`).
    public var stats: JSONValue {
        .object((summary.objectValue ?? []) + [("exit", .int(Int64(exitStatus.rawValue))), ("duration_ms", .int(durationMilliseconds))])
    }
}
