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
        abstract: "Measure every job against its SQL floors on a synthetic provider.",
        discussion: """
            Generates a synthetic provider in a fresh embedded PostgreSQL (set-based SQL, \
            deterministic), in two shapes (standard: 10,000 customers, 50,000 services, 5M entries; \
            ticket-services: 5,000 customers with four services each, 1M entries), then for each job \
            measures: the job's wall time and peak RSS (run as a child process); two floors, each \
            hand-written set-based SQL computing the same figures and writing the same rows, rolled \
            back: the honest floor (the least work: on a copy whose output tables keep only their \
            primary and idempotency keys, no foreign keys, no triggers) and the same-schema floor \
            (into the job's own tables); a rerun with nothing to change; and a dry run; \
            threshold-topup also an hourly run on the debited history. Both floors' figures are \
            compared with the job's report: any difference fails the bench (exit 1). A missed target \
            (first run over 2x its honest floor, rerun over 0.3x the first run, peak RSS over 100 MB \
            or over 1.2x the figure at a fifth of the data) fails it with exit 2, except with --smoke \
            (CI: tiny scale, figures computed and checked, targets printed). docs/benchmark.md \
            explains the figures. Build it in release mode:

              swift run -c release supportbill-bench
              swift run -c release supportbill-bench --customers 1000 --services 5000 --entries 500000
              swift run -c release supportbill-bench --smoke
              swift run -c release supportbill-bench breakdown --customers 1000 --services 5000 --entries 500000
            """,
        subcommands: [Measure.self, Breakdown.self, JobChild.self, GenerateCommand.self],
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
    /// `breakdown` runs a job in one batch (one commit) to price the batch commits.
    @Option var batchSize = 500

    func run() throws {
        guard let name = JobName(rawValue: job) else { throw ValidationError("unknown job \(job)") }
        let instance = try JobRegistry.make(name, source: JobConfigurationSource(directory: jobsDir))
        let runner = JobRunner(target: PostgresTarget(conninfo: database))
        let report = runner.run(instance, JobRunRequest(
            asOf: try Instant(rfc3339: asOf), period: try period.map { try YearMonth($0) },
            dryRun: dryRun, batchSize: batchSize, invokedBy: "bench"
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
