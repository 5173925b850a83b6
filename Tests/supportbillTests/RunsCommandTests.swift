import BillingCore
import BillingJobs
import Foundation
import TestSupport
import Testing

/// `supportbill runs`: what finance reads to know what ran, with its filters.
@Suite("supportbill runs: recent runs, filtered by job and status, newest first")
struct RunsCommandTests {
    @Test("--job, --status and --limit select the runs; json carries the job_runs columns")
    func filters() throws {
        let database = try DemoData.load()
        defer { database.drop() }
        let common = ["--database", database.conninfo]
        // Four runs: two suspension sweeps (the second emits nothing), a partial monthly rollup
        // (Blue Yonder has no price in its currency), an incident-grants run. A dry run records nothing.
        let steps: [([String], Int32)] = [
            (["run", "suspension-sweep", "--as-of", "2026-11-01T06:00:00Z"], 0),
            (["run", "monthly-rollup", "--period", "2026-10", "--as-of", "2026-11-01T14:00:00Z"], 65),
            (["run", "suspension-sweep", "--as-of", "2026-11-01T06:00:00Z"], 0),
            (["run", "incident-grants", "--as-of", "2026-11-01T06:00:00Z"], 0),
            (["run", "incident-grants", "--as-of", "2026-11-02T06:00:00Z", "--dry-run"], 0),
        ]
        for (arguments, status) in steps {
            let result = try ChildProcess.supportbill(arguments + common)
            #expect(result.status == status, "\(arguments): \(result.stderr)")
        }
        func runs(_ filter: [String]) throws -> [JSONValue] {
            let result = try ChildProcess.supportbill(["runs", "--format", "json"] + filter + common)
            #expect(result.status == 0, "\(filter): \(result.stderr)")
            return try JSONValue(parsing: result.stdout).arrayValue ?? []
        }
        let all = try runs([])
        #expect(all.map { $0["job"]?.stringValue } == ["incident-grants", "suspension-sweep", "monthly-rollup", "suspension-sweep"])
        #expect(all.map { $0["status"]?.stringValue } == ["succeeded", "succeeded", "partial", "succeeded"])
        #expect(all.allSatisfy { $0["dry_run"] == .bool(false) && $0["finished_at"] != .null })
        let ids = all.compactMap { $0["id"]?.intValue }
        #expect(ids == ids.sorted(by: >), "not newest first: \(ids)")

        let sweeps = try runs(["--job", "suspension-sweep"])
        #expect(sweeps.map { $0["id"]?.intValue } == [ids[1], ids[3]])
        let partial = try runs(["--status", "partial"])
        #expect(partial.map { $0["job"]?.stringValue } == ["monthly-rollup"])
        #expect(partial.first?["period_start"]?.stringValue == "2026-10-01")
        #expect(partial.first?["period_end"]?.stringValue == "2026-11-01")
        #expect(try runs(["--job", "monthly-rollup", "--status", "succeeded"]).isEmpty)
        #expect(try runs(["--limit", "2"]).map { $0["id"]?.intValue } == Array(ids.prefix(2)))

        let text = try ChildProcess.supportbill(["runs", "--status", "partial"] + common)
        #expect(text.status == 0)
        #expect(text.stdout.contains("monthly-rollup"))
        #expect(text.stdout.contains("partial"))
        #expect(!text.stdout.contains("suspension-sweep"))
        // The customer the partial run skipped, and why, under it.
        #expect(text.stdout.contains("    skipped customer "), "\(text.stdout)")
        #expect(text.stdout.contains("no price"), "\(text.stdout)")
    }

    /// The report a run printed and the one `runs show` prints again from job_runs and
    /// job_run_rows are the same text, timings aside (`NNN ms` on the second line).
    static func withoutTimings(_ text: String) -> String {
        text.replacingOccurrences(of: #"  ·  [0-9]+ ms"#, with: "  ·  _ ms", options: .regularExpression)
    }

    @Test("runs show prints a finished run's report again, in each format, as the run printed it; summary prints no rows")
    func show() throws {
        let database = try DemoData.load()
        defer { database.drop() }
        let common = ["--database", database.runnerConninfo]
        // A partial run with invoices and a skipped customer, printed as text.
        let rollup = try ChildProcess.supportbill(["run", "monthly-rollup", "--period", "2026-10", "--as-of", "2026-11-01T14:00:00Z"] + common)
        #expect(rollup.status == 65, "\(rollup.stderr)")
        // Contracts: charges, items on no invoice, events, printed as JSON and as CSV by two runs
        // of two days (the second emits other rows).
        let contracts = try ChildProcess.supportbill(["run", "contract-expiry-rollover", "--as-of", "2026-11-01T06:00:00Z", "--format", "json"] + common)
        #expect(contracts.status == 0, "\(contracts.stderr)")
        let grants = try ChildProcess.supportbill(["run", "incident-grants", "--as-of", "2026-11-01T06:00:00Z", "--format", "csv"] + common)
        #expect(grants.status == 0, "\(grants.stderr)")
        let sweep = try ChildProcess.supportbill(["run", "suspension-sweep", "--as-of", "2026-11-30T06:00:00Z", "--format", "summary"] + common)
        #expect(sweep.status == 0, "\(sweep.stderr)")

        let runs = try JSONValue(parsing: try ChildProcess.supportbill(["runs", "--format", "json"] + common).stdout).arrayValue ?? []
        let ids = Dictionary(runs.compactMap { run in run["job"]?.stringValue.flatMap { job in run["id"]?.intValue.map { (job, $0) } } }, uniquingKeysWith: max)
        func show(_ job: String, _ format: String) throws -> String {
            let id = try #require(ids[job], "no run of \(job)")
            let result = try ChildProcess.supportbill(["runs", "show", String(id), "--format", format] + common)
            #expect(result.status == 0, "\(job): \(result.stderr)")
            return result.stdout
        }
        #expect(rollup.stdout.contains("Invoices"), "the rollup emitted no invoice: \(rollup.stdout)")
        #expect(Self.withoutTimings(try show("monthly-rollup", "text")) == Self.withoutTimings(rollup.stdout))
        #expect(try show("contract-expiry-rollover", "json") == contracts.stdout)
        #expect(try JSONValue(parsing: contracts.stdout)["charges"]?.arrayValue?.isEmpty == false)
        #expect(try show("incident-grants", "csv") == grants.stdout)
        #expect(grants.stdout.split(separator: "\n").count > 1, "incident-grants emitted nothing: \(grants.stdout)")
        #expect(Self.withoutTimings(try show("suspension-sweep", "summary")) == Self.withoutTimings(sweep.stdout))

        // The summary: the run line, counts, skipped customers and where the rows are; no row.
        let summary = try show("monthly-rollup", "summary")
        #expect(summary.contains("status partial"))
        #expect(summary.contains("Skipped customers"))
        #expect(summary.contains("rows: supportbill runs show \(ids["monthly-rollup"] ?? 0)"))
        #expect(!summary.contains("Invoices") && !summary.contains("  invoice "), "\(summary)")
        #expect(summary.split(separator: "\n").count < rollup.stdout.split(separator: "\n").count)
        // Errors: no such run (64), a malformed id (64).
        #expect(try ChildProcess.supportbill(["runs", "show", "999999"] + common).status == 64)
        #expect(try ChildProcess.supportbill(["runs", "show", "x"] + common).status == 64)
    }
}
