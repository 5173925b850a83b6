import ArgumentParser
import BillingCore
import BillingJobs
import BillingStore
import Foundation

/// `supportbill runs` (the list, its default) and `supportbill runs show RUN_ID`. A group, since
/// argument-parser parses a parent's options for its subcommands too: the list's `--format`
/// (text, json) would refuse the report formats of `show`.
struct RunsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "List recent job runs (job_runs), newest first, or show one run's report again.",
        discussion: """
            Examples:
              supportbill runs
              supportbill runs --job monthly-rollup --status partial --limit 5
              supportbill runs show 42 --format json
            """,
        subcommands: [RunsListCommand.self, RunsShowCommand.self],
        defaultSubcommand: RunsListCommand.self
    )
}

struct RunsListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List recent job runs (job_runs), newest first.",
        discussion: """
            Shows each run's id, job, status, as-of instant, period, who started it, how long it \
            took and what it emitted, and under a partial run every customer it skipped or \
            reported, with the reason. A run left 'running' by a process that died is marked \
            'failed' (stale) by the next run of the same job.

            `supportbill runs show RUN_ID` prints the whole report of a finished run again.

            Examples:
              supportbill runs
              supportbill runs --job monthly-rollup --status partial --limit 5
              supportbill runs --format json
              supportbill runs show 42 --format json
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
            print(JSONValue.array(runs.map(RunsListCommand.json)).prettyText)
        case .text:
            print(RunsListCommand.table(runs), terminator: "")
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
            rows.append([String(run.id), run.job, run.status, run.asOf.description, period, run.startedAt.description, took, run.invokedBy, TextSafety.printable(emitted)])
        }
        var widths = Array(repeating: 0, count: header.count)
        for row in rows { for (index, cell) in row.enumerated() where index < header.count - 1 { widths[index] = max(widths[index], cell.count) } }
        var lines: [String] = []
        for (index, row) in rows.enumerated() {
            lines.append(row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
            }.joined(separator: "  "))
            // The customers a partial run left out, under it: the journal may have lost its report.
            guard index > 0 else { continue }
            let run = runs[index - 1]
            for (key, label) in [("skipped", "skipped"), ("reported", "reported")] {
                for entry in run.stats[key]?.arrayValue ?? [] {
                    guard let customer = entry["customer_id"]?.intValue else { continue }
                    lines.append("    \(label) customer \(customer): " + TextSafety.printable(entry["reason"]?.stringValue ?? ""))
                }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

struct RunsShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print the whole report of a finished run again.",
        discussion: """
            Rebuilds the report of a finished run from job_runs and the rows stored with its \
            run_id (job_run_rows): the same text, JSON or CSV `supportbill run` printed, timings \
            aside. A dry run keeps nothing, and a run still running or killed has no rows yet.

            Examples:
              supportbill runs show 42
              supportbill runs show 42 --format csv > run-42.csv
            """
    )

    @Argument(help: ArgumentHelp("The run's id (supportbill runs).", valueName: "run-id"))
    var runID: Int64

    @Option(help: ArgumentHelp("Report format: text, json, csv or summary.", valueName: "format"))
    var format: ReportFormat = .text

    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        guard runID > 0 else { throw ValidationError("\(runID) is not a run id") }
    }

    func run() throws {
        let report: JobReport
        do {
            let db = try database.target.connect(applicationName: "supportbill runs show")
            defer { db.close() }
            try Migrator().verify(db)
            guard let run = try JobRunStore.find(db, id: runID) else {
                FileHandle.standardError.write(Data("supportbill: error: no run \(runID) in job_runs\n".utf8))
                throw ExitCode(BillingJobs.ExitStatus.usage.rawValue)
            }
            guard run.status != "running" else {
                FileHandle.standardError.write(Data("supportbill: error: run \(runID) is still running (or its process died and the next run of \(run.job) will mark it failed)\n".utf8))
                throw ExitCode(BillingJobs.ExitStatus.usage.rawValue)
            }
            report = try StoredReport.load(db, run: run, currencies: try CurrencyTable.load(db))
        } catch let exit as ExitCode {
            throw exit
        } catch {
            throw failure(error)
        }
        var pending = ""
        do {
            try format.write(report) { piece in
                pending += piece
                if pending.utf8.count >= 1 << 16 {
                    print(pending, terminator: "")
                    pending = ""
                }
            }
        } catch {
            pending += "\nerror: the report could not be completed: \(error)\n"
        }
        print(pending, terminator: "")
    }
}
