import ArgumentParser
import BillingCore
import BillingJobs
import BillingStore
import EmbeddedPostgres
import Foundation
import Postgres

@main
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "supportbill-bench",
        abstract: "Measure every job against the SQL floor on a synthetic provider.",
        discussion: """
            Generates a synthetic provider in a fresh embedded PostgreSQL (set-based SQL, \
            deterministic), then for each job measures: the job's wall time and peak RSS (run as a \
            child process), the floor (hand-written set-based statements computing the same figures \
            and writing comparable rows, rolled back) and their ratio, a second run with nothing to \
            change, and a dry run; threshold-topup also an hourly run on the debited history. The \
            floor's figures are compared with the job's report: any difference fails the bench \
            (exit 1). With --scaling (the default) it does all of it at half and at full scale and \
            prints the growth ratio. docs/benchmark.md explains the figures. Build it in release mode:

              swift run -c release supportbill-bench
              swift run -c release supportbill-bench --customers 1000 --services 5000 --entries 500000 --no-scaling
            """,
        subcommands: [Measure.self, JobChild.self, GenerateCommand.self],
        defaultSubcommand: Measure.self
    )
}

/// Runs one job in this process and prints its report as JSON: the parent measures it.
struct JobChild: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "job", abstract: "Run one job (used by the benchmark itself).", shouldDisplay: false)

    @Argument var job: String
    @Option var database: String
    @Option var asOf: String
    @Option var period: String?
    @Option var jobsDir: String?
    @Flag var dryRun = false

    func run() throws {
        guard let name = JobName(rawValue: job) else { throw ValidationError("unknown job \(job)") }
        let instance = try JobRegistry.make(name, source: JobConfigurationSource(directory: jobsDir))
        let runner = JobRunner(target: PostgresTarget(conninfo: database))
        let report = runner.run(instance, JobRunRequest(
            asOf: try Instant(rfc3339: asOf), period: try period.map { try YearMonth($0) },
            dryRun: dryRun, batchSize: 500, invokedBy: "bench"
        ))
        // Only the summary: printing every emitted row would measure printing.
        print(JSONValue.object([
            ("status", .string(report.status?.rawValue ?? "not started")),
            ("exit", .int(Int64(report.exitStatus.rawValue))),
            ("counts", report.summary["counts"] ?? .null),
            ("totals", report.summary["totals"] ?? .null),
            ("skipped", .int(Int64(report.output.skipped.count))),
            ("error", report.error.map { .string($0) } ?? .null),
        ]).compactText)
        if report.exitStatus != .success && report.exitStatus != .dataError { throw ExitCode(report.exitStatus.rawValue) }
    }
}
