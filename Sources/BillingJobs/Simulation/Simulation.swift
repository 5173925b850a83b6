import BillingCore
import BillingStore
import Postgres

/// Runs the jobs day by day over a date range at their scheduled times, all inside one
/// transaction on one connection, so that each run sees what the earlier ones emitted. The
/// caller commits or rolls back.
public struct Simulation: Sendable {
    public struct Run: Sendable {
        public let job: JobName
        public let asOf: Instant
        public let report: JobReport
    }

    public let runner: JobRunner
    public let source: JobConfigurationSource
    public let jobs: [JobName]

    public init(runner: JobRunner, source: JobConfigurationSource, jobs: [JobName] = JobName.dailyOrder) {
        self.runner = runner
        self.source = source
        self.jobs = jobs
    }

    /// The (instant, job) pairs of the range, in time order (ties in the daily job order).
    public func plan(from: LocalDate, through last: LocalDate) throws -> [(Instant, JobName)] {
        var schedules: [(JobName, DailySchedule)] = []
        for job in JobName.dailyOrder where jobs.contains(job) {
            schedules.append((job, try DailySchedule(parsing: source.schedule(for: job))))
        }
        var plan: [(Instant, JobName, Int)] = []
        var date = from
        while date <= last {
            for (order, (job, schedule)) in schedules.enumerated() {
                if let instant = schedule.instant(on: date) { plan.append((instant, job, order)) }
            }
            date = date.adding(days: 1)
        }
        return plan.sorted { ($0.0, $0.2) < ($1.0, $1.2) }.map { ($0.0, $0.1) }
    }

    /// Runs the plan on `db`, inside its open transaction. Stops at the first run that finds the
    /// database unavailable or the transaction broken.
    public func run(on db: PostgresConnection, from: LocalDate, through last: LocalDate, recordAsDryRun: Bool, progress: (Run) -> Void = { _ in }) throws -> [Run] {
        var runs: [Run] = []
        for (asOf, job) in try plan(from: from, through: last) {
            let instance = try JobRegistry.make(job, source: source)
            let request = JobRunRequest(asOf: asOf, dryRun: recordAsDryRun, invokedBy: "simulate")
            let report = runner.run(instance, request, on: db, scope: .enclosingTransaction)
            let run = Run(job: job, asOf: asOf, report: report)
            runs.append(run)
            progress(run)
            if report.exitStatus == .unavailable || report.exitStatus == .locked { break }
        }
        return runs
    }

    /// The report of a whole simulation as JSON, with everything that differs between two
    /// simulations of the same data removed: run ids, row ids of emitted rows (sequences advance
    /// even in a rolled-back transaction) and timings.
    public static func json(from: LocalDate, through last: LocalDate, committed: Bool, runs: [Run]) -> JSONValue {
        var totals: [String: [String: Int64]] = [:]
        for run in runs {
            for (currency, named) in run.report.output.totals {
                for (name, value) in named { totals[currency.rawValue, default: [:]][name, default: 0] += value }
            }
        }
        return .object([
            ("from", .string(from.description)),
            ("through", .string(last.description)),
            ("committed", .bool(committed)),
            ("runs", .array(runs.map { stripVolatile($0.report.json) })),
            ("totals", .object(totals.sorted { $0.key < $1.key }.map { currency, named in
                (currency, .object(named.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) }))
            })),
        ])
    }

    /// What differs between two runs that emit the same rows: run and row ids, timestamps.
    public static let volatileKeys: Set<String> = ["id", "run_id", "invoice_id", "grant_id", "created_at", "started_at", "finished_at"]

    /// Audit events about these entities name an output row in `entity_id`.
    static let outputEntities: Set<String> = ["invoice", "incident_grant", "incident_use", "billable_item"]

    public static func stripVolatile(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let fields):
            let aboutOutputRow = fields.contains { $0.0 == "entity" && outputEntities.contains($0.1.stringValue ?? "") }
            return .object(fields.filter { !volatileKeys.contains($0.0) && !(aboutOutputRow && $0.0 == "entity_id") }
                .map { ($0.0, stripVolatile($0.1)) })
        case .array(let values):
            return .array(values.map(stripVolatile))
        default:
            return value
        }
    }
}
