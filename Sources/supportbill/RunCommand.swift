import ArgumentParser
import BillingCore
import BillingJobs
import Dispatch
import Foundation
import Logging

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run one billing job.",
        discussion: """
            Jobs:
            \(jobList)

            Every job is idempotent: re-running it with unchanged data emits nothing and exits 0. \
            Only one run of a job works at a time; a second exits 75 naming the run that holds the \
            lock, and says when that run is a dry run, which bills nothing (--wait queues \
            behind it instead). Work is committed in batches of customers, so a run that \
            is killed leaves whole customers only, and the next run completes it.

            A customer whose data is invalid (no price in its currency, unknown time zone, ...) is \
            skipped with the reason; the others are billed and the run exits 65.

            --dry-run takes exactly the same path inside a transaction that is rolled back: the \
            report shows what a real run would emit, and nothing is written.

            Progress goes to stderr: a bar on a terminal, a log line every few seconds otherwise. \
            SIGTERM or SIGINT finishes the batch in hand, records the run as failed \
            ("interrupted") and exits 1; a second signal, or the batch still running 10 s later, \
            also cancels the running statement (the batch rolls back whole).

            Shell completion: supportbill --generate-completion-script bash|zsh|fish

            Examples:
              supportbill run monthly-rollup --period 2026-10 --dry-run
              supportbill run monthly-rollup --period 2026-10 --customer 42 --format json
              supportbill run threshold-topup
              supportbill run suspension-sweep --as-of 2026-11-22T06:00:00Z --force
              supportbill run threshold-topup --format summary   (then: supportbill runs show RUN_ID)
            """
    )

    /// One line per job: its name and its `RegisteredJob.summary`, in `JobName`'s order.
    static var jobList: String {
        let width = (JobName.allCases.map(\.rawValue.count).max() ?? 0) + 2
        return JobName.allCases.map { job in
            "  " + job.rawValue.padding(toLength: width, withPad: " ", startingAt: 0) + job.type.summary
        }.joined(separator: "\n")
    }

    @Argument(help: ArgumentHelp("The job to run.", valueName: "job"))
    var job: JobName

    @Option(help: ArgumentHelp(
        "The run's notion of now: an RFC 3339 instant, or a date D meaning D 00:00:00Z. Default: now.",
        discussion: "Rules compare dates as each customer's local date of this instant.",
        valueName: "instant"))
    var asOf: String?

    @Option(help: ArgumentHelp("The month to bill (monthly-rollup only), e.g. 2026-10. Default: every closed month within lookback_months.", valueName: "YYYY-MM"))
    var period: String?

    @Option(name: .customLong("customer"), help: ArgumentHelp("Only this customer id (repeatable).", valueName: "id"))
    var customers: [Int64] = []

    @Flag(help: "Show what the run would emit, write nothing.")
    var dryRun = false

    @Flag(help: "Proceed past a safety limit (suspension-sweep's max_suspensions).")
    var force = false

    @Flag(help: "Wait for another run of the job to finish instead of exiting 75.")
    var wait = false

    @Option(help: ArgumentHelp("Report format: text, json, csv, or summary (the text report without its rows: run line, counts, totals, notices, skipped customers; what the systemd unit prints, since its size does not grow with the data; `supportbill runs show RUN_ID` prints the rows later).", valueName: "format"))
    var format: ReportFormat = .text

    @Option(help: ArgumentHelp("Directory of <job>.toml files. Default: SUPPORTBILL_JOBS_DIR, else /etc/supportbill/jobs if it exists, else the built-in defaults.", valueName: "dir"))
    var jobsDir: String?

    @Option(help: ArgumentHelp("Customers committed per transaction.", valueName: "n"))
    var batchSize = 500

    @Option(help: ArgumentHelp("Longest wait for a row or table lock (PostgreSQL duration).", valueName: "duration"))
    var lockTimeout = "60s"

    @Option(help: ArgumentHelp("Longest time one statement may run (PostgreSQL duration, 0 = none).", valueName: "duration"))
    var statementTimeout = "30min"

    @Option(help: ArgumentHelp("Longest time a transaction may sit idle before the server ends it.", valueName: "duration"))
    var idleInTransactionTimeout = "10min"

    @Option(help: ArgumentHelp("How often the server checks that this run is still connected while a statement runs, so a killed run's job lock is freed within seconds (PostgreSQL 14+; 0 = off).", valueName: "duration"))
    var clientConnectionCheckInterval = "5s"

    @Option(help: ArgumentHelp("Write Prometheus metrics of the run to this file (atomically), for node_exporter's textfile collector. Every real run writes it, whatever its exit status; a dry run does not. A run that succeeded but cannot write it exits 73. Default: SUPPORTBILL_METRICS_FILE.", valueName: "path"))
    var metricsFile: String?

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if let asOf {
            do { _ = try Instant(rfc3339: asOf) } catch { throw ValidationError("--as-of: \(error)") }
        }
        if let period {
            guard job == .monthlyRollup else { throw ValidationError("--period applies to monthly-rollup only; \(job) uses --as-of") }
            do { _ = try YearMonth(period) } catch { throw ValidationError("--period: \(error)") }
        }
        if let bad = customers.first(where: { $0 <= 0 }) { throw ValidationError("--customer: \(bad) is not a customer id") }
        guard (1...100_000).contains(batchSize) else { throw ValidationError("--batch-size must be between 1 and 100000") }
        for (option, value) in [("--lock-timeout", lockTimeout), ("--statement-timeout", statementTimeout),
                                ("--idle-in-transaction-timeout", idleInTransactionTimeout),
                                ("--client-connection-check-interval", clientConnectionCheckInterval)] {
            try SessionDuration.validate(option, value)
        }
    }

    func run() throws {
        let logger = logging.makeLogger()
        let jobInstance: any BillingJob
        let asOfInstant = try asOf.map { try Instant(rfc3339: $0) } ?? Instant.now
        do {
            jobInstance = try JobRegistry.make(job, source: JobConfigurationSource.resolve(jobsDir: jobsDir))
        } catch {
            // A broken jobs/<job>.toml stops every timer run: the metrics must say so (exit 64).
            writeMetrics(JobReport(job: job, runID: nil, dryRun: dryRun, asOf: asOfInstant, period: nil, status: nil,
                                   output: JobOutput(), error: "\(error)", exitStatus: exitStatus(for: error), durationMilliseconds: 0, currencies: [:]),
                         logger: logger)
            throw failure(error)
        }
        let request = JobRunRequest(
            asOf: asOfInstant, period: try period.map { try YearMonth($0) }, customers: customers,
            dryRun: dryRun, force: force, wait: wait, batchSize: batchSize
        )
        let interruption = Interruption()
        let signals = SignalHandlers(interruption: interruption, logger: logger)
        defer { signals.cancel() }
        let progress = ProgressDisplay()
        let runner = JobRunner(
            target: database.target,
            settings: RunnerSettings(lockTimeout: lockTimeout, statementTimeout: statementTimeout, idleInTransactionTimeout: idleInTransactionTimeout,
                                     clientConnectionCheckInterval: clientConnectionCheckInterval),
            logger: logger, interruption: interruption,
            onProgress: { done, total in progress.update(done: done, total: total) }
        )
        let report = runner.run(jobInstance, request)
        progress.finish()
        let metricsWritten = writeMetrics(report, logger: logger)
        // Streamed in chunks: a report of millions of rows is read back from the run's
        // temporary file, never held whole.
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
        if report.exitStatus != .success {
            if let error = report.error { FileHandle.standardError.write(Data("supportbill: \(job): \(error)\n".utf8)) }
            throw ExitCode(report.exitStatus.rawValue)
        }
        // The work is done and committed, but monitoring cannot see it: not a success to the
        // timer. 73 (EX_CANTCREAT) says which part failed; a rerun would bill nothing new and
        // could not fix the path, so the unit does not restart on it.
        if !metricsWritten { throw ExitCode(RunCommand.metricsUnwritable) }
    }

    /// The exit status of a run whose work succeeded but whose metrics file could not be written.
    static let metricsUnwritable: Int32 = 73

    /// Every real run that gets past its arguments ends in the metrics file, whatever its exit
    /// status (a broken jobs file's 64, 69, 75, ...); a dry run leaves it alone: it bills nothing,
    /// and its figures are not the job's. Bad command-line arguments exit 64 before any of this,
    /// as argument-parser handles them; a unit's arguments are fixed.
    /// Returns false when the file could not be written (the error is printed, naming the path).
    @discardableResult
    private func writeMetrics(_ report: JobReport, logger: Logger) -> Bool {
        guard !dryRun, let path = metricsFile ?? ProcessInfo.processInfo.environment["SUPPORTBILL_METRICS_FILE"], !path.isEmpty else { return true }
        do {
            try MetricsFile(path: path).write(report, finishedAt: Instant.now.secondsSinceEpoch)
            return true
        } catch {
            logger.error("cannot write the metrics file", metadata: ["path": "\(path)", "error": "\(error)"])
            FileHandle.standardError.write(Data("supportbill: error: \(error)\n".utf8))
            return false
        }
    }
}
