import ArgumentParser
import BillingCore
import BillingJobs
import BillingStore
import Foundation

struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "List recent job runs (job_runs), newest first.",
        discussion: """
            Shows each run's id, job, status, as-of instant, period, who started it, how long it \
            took and what it emitted. A run left 'running' by a process that died is marked \
            'failed' (stale) by the next run of the same job.

            Examples:
              supportbill runs
              supportbill runs --job monthly-rollup --status partial --limit 5
              supportbill runs --format json
            """
    )

    @Option(help: ArgumentHelp("Only runs of this job.", valueName: "job"))
    var job: JobName?

    @Option(help: ArgumentHelp("Only runs with this status: running, succeeded, partial or failed.", valueName: "status"))
    var status: String?

    @Option(help: ArgumentHelp("How many runs to show.", valueName: "n"))
    var limit = 20

    @Option(help: ArgumentHelp("text (for people) or json (one object, sorted, for scripts).", valueName: "format"))
    var format: ViewFormat = .text

    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        if let status, !["running", "succeeded", "partial", "failed"].contains(status) {
            throw ValidationError("--status must be running, succeeded, partial or failed")
        }
        guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be between 1 and 10000") }
    }

    func run() throws {
        let runs: [JobRunRecord]
        do {
            let db = try database.target.connect()
            defer { db.close() }
            runs = try JobRunStore.recent(db, job: job?.rawValue, status: status, limit: limit)
        } catch {
            throw failure(error)
        }
        switch format {
        case .json:
            print(JSONValue.array(runs.map(RunsCommand.json)).prettyText)
        case .text:
            print(RunsCommand.table(runs), terminator: "")
        }
    }

    static func json(_ run: JobRunRecord) -> JSONValue {
        .object([
            ("id", .int(run.id)), ("job", .string(run.job)), ("status", .string(run.status)),
            ("as_of", .string(run.asOf.description)),
            ("period_start", run.periodStart.map { .string($0.description) } ?? .null),
            ("period_end", run.periodEnd.map { .string($0.description) } ?? .null),
            ("dry_run", .bool(run.dryRun)), ("started_at", .string(run.startedAt.description)),
            ("finished_at", run.finishedAt.map { .string($0.description) } ?? .null),
            ("invoked_by", .string(run.invokedBy)), ("host", .string(run.host)), ("pid", .int(Int64(run.pid))),
            ("stats", run.stats), ("error", run.error.map { .string($0) } ?? .null),
        ])
    }

    static func table(_ runs: [JobRunRecord]) -> String {
        guard !runs.isEmpty else { return "no runs recorded\n" }
        let header = ["ID", "JOB", "STATUS", "AS OF", "PERIOD", "STARTED", "TOOK", "BY", "EMITTED"]
        var rows = [header]
        for run in runs {
            let took = run.finishedAt.map { "\(($0.microsecondsSinceEpoch - run.startedAt.microsecondsSinceEpoch) / 1000) ms" } ?? "-"
            let period = run.periodStart.map { start in
                run.periodEnd.map { "\(start)..\($0.adding(days: -1))" } ?? "\(start).."
            } ?? "-"
            let counts = (run.stats["counts"]?.objectValue ?? [])
                .filter { $0.0 != "customers" }
                .compactMap { key, value in value.intValue.map { "\(key) \($0)" } }
                .joined(separator: ", ")
            var emitted = counts.isEmpty ? "-" : counts
            if let error = run.error { emitted += (emitted == "-" ? "" : "; ") + "error: " + error }
            rows.append([String(run.id), run.job, run.status, run.asOf.description, period, run.startedAt.description, took, run.invokedBy, emitted])
        }
        var widths = Array(repeating: 0, count: header.count)
        for row in rows { for (index, cell) in row.enumerated() where index < header.count - 1 { widths[index] = max(widths[index], cell.count) } }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }
}
