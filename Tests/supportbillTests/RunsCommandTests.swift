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
    }
}
