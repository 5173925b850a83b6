import ArgumentParser
import BillingCore
import BillingJobs
import Foundation
import Postgres

struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run the jobs day by day over a date range, as the timers would, and roll it all back.",
        discussion: """
            For every day from --from through --to, runs each job at its scheduled time (the \
            schedule in jobs/<job>.toml: the daily jobs every day, monthly-rollup on the 1st, \
            threshold-topup once a day) inside ONE transaction that is rolled back at the end \
            (--commit keeps it). Each run sees what the earlier ones emitted. Prints one report: \
            JSON (without row ids and timings, so the same data gives byte-identical output) for CI \
            to diff against a committed golden file, or text for people.

            Reviewing a price change in CI before it bills anyone:
              1. keep a fixture database (or a dump of production without personal data),
              2. commit the output of `supportbill simulate --from 2026-10-01 --to 2026-11-05 --format json`
                 as golden/billing.json,
              3. in the CI job, apply the change (an UPDATE of plan_prices, a jobs/*.toml edit), run
                 the same command and `diff -u golden/billing.json -`: the diff is every invoice line
                 and every total the change would alter.

            Exit: 0 when every run succeeded, 65 when a run skipped customers or hit a safety \
            limit, 69 when the database is unavailable, 1 otherwise.

            Examples:
              supportbill simulate --from 2026-10-01 --to 2026-11-05
              supportbill simulate --from 2026-10-01 --to 2026-11-05 --format json > billing.json
            """
    )

    @Option(help: ArgumentHelp("First day (UTC), YYYY-MM-DD.", valueName: "date"))
    var from: String

    @Option(help: ArgumentHelp("Last day (UTC), YYYY-MM-DD, inclusive.", valueName: "date"))
    var to: String

    @Flag(help: "Keep what the runs wrote (commit) instead of rolling it back.")
    var commit = false

    @Option(help: ArgumentHelp("text (for people) or json (one object, sorted, for scripts).", valueName: "format"))
    var format: ViewFormat = .text

    @Option(help: ArgumentHelp("Directory of <job>.toml files (as for run).", valueName: "dir"))
    var jobsDir: String?

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        let first: LocalDate, last: LocalDate
        do {
            first = try LocalDate(from)
            last = try LocalDate(to)
        } catch {
            throw ValidationError("--from and --to take dates, YYYY-MM-DD: \(error)")
        }
        guard first <= last else { throw ValidationError("--from must not be after --to") }
        guard first.days(until: last) <= 731 else { throw ValidationError("simulate covers at most two years") }
    }

    func run() throws {
        let logger = logging.makeLogger(default: .warning)
        let first = try LocalDate(from), last = try LocalDate(to)
        let source = JobConfigurationSource.resolve(jobsDir: jobsDir)
        let runner = JobRunner(target: database.target, logger: logger)
        let simulation = Simulation(runner: runner, source: source)
        let db: PostgresConnection
        do {
            db = try database.target.connect(settings: RunnerSettings().sessionSettings, applicationName: "supportbill simulate")
            try db.execute("BEGIN")
            if !commit { try JobRunner.previewInvoiceNumbers(db) }
        } catch {
            throw failure(error)
        }
        defer { db.close() }
        let runs: [Simulation.Run]
        do {
            runs = try simulation.run(on: db, from: first, through: last, recordAsDryRun: !commit)
            if commit { try db.execute("COMMIT") } else { try db.execute("ROLLBACK") }
        } catch {
            db.rollbackQuietly()
            throw failure(error)
        }
        switch format {
        case .json:
            print(Simulation.json(from: first, through: last, committed: commit, runs: runs).prettyText)
        case .text:
            print(text(runs, first: first, last: last), terminator: "")
        }
        let worst = runs.map(\.report.exitStatus).max { rank($0) < rank($1) } ?? .success
        if worst != .success { throw ExitCode(worst.rawValue) }
    }

    private func rank(_ status: BillingJobs.ExitStatus) -> Int {
        switch status {
        case .success: return 0
        case .dataError: return 1
        case .failure: return 2
        case .usage: return 3
        case .locked: return 4
        case .unavailable: return 5
        }
    }

    private func text(_ runs: [Simulation.Run], first: LocalDate, last: LocalDate) -> String {
        var lines = ["simulate \(first)..\(last): \(runs.count) runs, \(commit ? "committed" : "rolled back")"]
        var totals: [CurrencyCode: [String: Int64]] = [:]
        var currencies: [CurrencyCode: Currency] = [:]
        for run in runs {
            let report = run.report
            currencies.merge(report.currencies) { a, _ in a }
            let counts = report.output.counts.filter { $0.key != "customers" }.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
            var line = "\(run.asOf)  \(run.job.rawValue.padding(to: 25))  \(report.status?.rawValue ?? "not started")"
            if !counts.isEmpty { line += "  " + counts.joined(separator: ", ") }
            if !report.output.skipped.isEmpty { line += "  skipped \(report.output.skipped.count)" }
            if let error = report.error { line += "  error: \(error)" }
            lines.append(line)
            for (currency, named) in report.output.totals {
                for (name, value) in named { totals[currency, default: [:]][name, default: 0] += value }
            }
        }
        if !totals.isEmpty {
            lines.append("")
            lines.append("Totals")
            for (code, named) in totals.sorted(by: { $0.key < $1.key }) {
                let currency = currencies[code] ?? Currency(code: code, minorUnits: 2)
                lines.append("  \(code)  " + named.sorted { $0.key < $1.key }.map { "\($0.key) \(currency.format($0.value))" }.joined(separator: "  ·  "))
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
