import Foundation
import TestSupport
import Testing

/// The metrics file as a timer's run leaves it: which runs write it and what they say.
@Suite("supportbill run --metrics-file: which runs write it")
struct MetricsCommandTests {
    private func sample(_ name: String, in path: String) throws -> String? {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return text.split(separator: "\n").first { $0.hasPrefix(name + "{") || $0.hasPrefix(name + " ") }
            .map { String($0.split(separator: " ").last!) }
            .map { $0.hasSuffix(".0") ? String($0.dropLast(2)) : $0 }
    }

    @Test("a dry run leaves the file alone; a real run writes it; a broken jobs file writes exit 64 and keeps the last success")
    func whichRunsWrite() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let scratch = NSTemporaryDirectory() + "metrics-cli-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let metrics = scratch + "/supportbill-suspension-sweep.prom"
        let run = ["run", "suspension-sweep", "--as-of", "2026-11-02T06:00:00Z", "--metrics-file", metrics, "--database", database.conninfo]

        let dry = try ChildProcess.supportbill(run + ["--dry-run"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(!FileManager.default.fileExists(atPath: metrics), "a dry run wrote the metrics file")

        let real = try ChildProcess.supportbill(run)
        #expect(real.status == 0, "\(real.stderr)")
        #expect(try sample("supportbill_job_exit_code", in: metrics) == "0")
        let success = try #require(try sample("supportbill_job_last_success_timestamp_seconds", in: metrics))
        #expect(Int64(success).map { $0 > 1_700_000_000 } == true, "last success \(success)")

        // A dry run after it changes nothing either.
        let before = try String(contentsOfFile: metrics, encoding: .utf8)
        #expect(try ChildProcess.supportbill(run + ["--dry-run"]).status == 0)
        #expect(try String(contentsOfFile: metrics, encoding: .utf8) == before)

        let jobs = scratch + "/jobs"
        try FileManager.default.createDirectory(atPath: jobs, withIntermediateDirectories: true)
        try "max_suspensions = \"many\"\n".write(toFile: jobs + "/suspension-sweep.toml", atomically: true, encoding: .utf8)
        let broken = try ChildProcess.supportbill(run + ["--jobs-dir", jobs])
        #expect(broken.status == 64, "\(broken.stderr)")
        #expect(broken.stderr.contains("max_suspensions"), "\(broken.stderr)")
        #expect(try sample("supportbill_job_exit_code", in: metrics) == "64")
        #expect(try sample("supportbill_job_last_success_timestamp_seconds", in: metrics) == success)
    }

    @Test("rows_emitted counts the rows the run wrote, section by section")
    func rowsEmitted() throws {
        let database = try DemoData.load()
        defer { database.drop() }
        let metrics = NSTemporaryDirectory() + "metrics-rows-\(UUID().uuidString).prom"
        defer { try? FileManager.default.removeItem(atPath: metrics) }
        let run = try ChildProcess.supportbill(["run", "contract-expiry-rollover", "--as-of", "2026-11-01T06:00:00Z",
                                                "--metrics-file", metrics, "--database", database.conninfo])
        #expect(run.status == 0, "\(run.stderr)")
        let db = try database.connect()
        defer { db.close() }
        // The demo's item contract has no customer: its events are in contract_events (sql/210).
        let events = try #require(try db.query("SELECT (SELECT count(*) FROM audit_events) + (SELECT count(*) FROM contract_events)").scalar(Int64.self))
        let charges = try #require(try db.query("SELECT count(*) FROM contract_charges").scalar(Int64.self))
        let items = try #require(try db.query("SELECT count(*) FROM billable_items").scalar(Int64.self))
        #expect(events > 0 && charges > 0, "the demo's contracts did nothing: \(events) events, \(charges) charges")
        let text = try String(contentsOfFile: metrics, encoding: .utf8)
        func rows(_ kind: String) -> String? {
            text.split(separator: "\n").first { $0.hasPrefix("supportbill_job_rows_emitted{job_name=\"contract-expiry-rollover\",kind=\"\(kind)\"}") }
                .map { String($0.split(separator: " ").last!) }.map { $0.hasSuffix(".0") ? String($0.dropLast(2)) : $0 }
        }
        #expect(rows("events") == String(events))
        #expect(rows("charges") == String(charges))
        #expect(rows("items") == String(items))
        #expect(rows("invoices") == "0")
    }

    @Test("a run that succeeded but cannot write its metrics file exits 73 naming the path; a failed run keeps its own status")
    func unwritable() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let metrics = NSTemporaryDirectory() + "no-such-dir-\(UUID().uuidString)/supportbill-suspension-sweep.prom"
        let run = try ChildProcess.supportbill(["run", "suspension-sweep", "--as-of", "2026-11-02T06:00:00Z", "--metrics-file", metrics, "--database", database.conninfo])
        #expect(run.status == 73, "\(run.stderr)")
        #expect(run.stderr.contains("cannot write the metrics file \(metrics)"), "\(run.stderr)")
        #expect(run.stdout.contains("status succeeded"), "the report is printed all the same: \(run.stdout)")
        let unavailable = try ChildProcess.supportbill(["run", "suspension-sweep", "--metrics-file", metrics,
                                                        "--database", "host=/nonexistent/socket dbname=x connect_timeout=2"])
        #expect(unavailable.status == 69, "\(unavailable.stderr)")
        #expect(unavailable.stderr.contains(metrics))
    }
}
