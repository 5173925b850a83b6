import BillingCore
import BillingJobs
import Foundation
import Testing
@testable import supportbill

@Suite("Metrics: Prometheus text for the textfile collector")
struct MetricsFileTests {
    private func report(status: JobRunStatus?, exit: BillingJobs.ExitStatus) throws -> JobReport {
        var output = JobOutput()
        output.count("customers", 12)
        output.count("invoices", 3)
        output.count("items", 7)
        output.count("drafts_corrected", 2)
        // The rows: two new invoices and a corrected draft (which the job does not count as an
        // invoice), and one audit event, which it does not count at all.
        // Two items on invoice a, one on b, none on c, one not on an invoice (per-incident).
        for (key, items) in [("a", 2), ("b", 1), ("c", 0)] {
            output.append(.invoices, ReportRecord(customerID: 1, sortKey: key, fields: [
                ("source_key", .string(key)),
                ("items", .array((0..<items).map { .object([("source_key", .string("\(key)-item-\($0)"))]) })),
            ]))
        }
        output.append(.items, ReportRecord(customerID: 1, sortKey: "p", fields: [("source_key", .string("p"))]))
        output.append(.events, ReportRecord(customerID: 1, sortKey: "e", fields: [("event", .string("invoice_paid"))]))
        output.skip(5, "unknown time zone")
        return JobReport(job: .monthlyRollup, runID: 1, dryRun: false, asOf: try Instant(rfc3339: "2026-11-01T14:00:00Z"),
                         period: nil, status: status, output: output, error: nil, exitStatus: exit,
                         durationMilliseconds: 1500, currencies: [:])
    }

    /// Parses the exposition format strictly enough to catch malformed output: every sample's
    /// metric has HELP and TYPE lines, names and labels are well formed, values are numbers.
    private func parse(_ text: String) throws -> [String: String] {
        var samples: [String: String] = [:]
        var help = Set<String>(), types = Set<String>()
        for line in text.split(separator: "\n").map(String.init) {
            if line.hasPrefix("# HELP ") { help.insert(String(line.dropFirst(7).split(separator: " ")[0])); continue }
            if line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ")
                #expect(parts.count == 2 && ["gauge", "counter", "histogram"].contains(String(parts[1])))
                types.insert(String(parts[0]))
                continue
            }
            let pieces = line.split(separator: " ")
            #expect(pieces.count == 2, "bad sample line \(line)")
            let series = String(pieces[0])
            let name = String(series.prefix { $0 != "{" })
            #expect(name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }, "bad name \(name)")
            #expect(help.contains(name) && types.contains(name), "\(name) lacks HELP or TYPE")
            #expect(Int64(pieces[1]) != nil || ExactDecimal(String(pieces[1])) != nil, "bad value \(pieces[1])")
            // Gauges print as floating point ("12.0"); compare them as written without ".0".
            let value = String(pieces[1])
            samples[series] = value.hasSuffix(".0") ? String(value.dropLast(2)) : value
        }
        return samples
    }

    @Test("a successful run writes every metric, atomically; a partial or failed run keeps the last success")
    func writeAndCarryOver() throws {
        let directory = NSTemporaryDirectory() + "/metrics-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/supportbill-monthly-rollup.prom"
        let file = MetricsFile(path: path)

        try file.write(try report(status: .succeeded, exit: .success), finishedAt: 1_793_500_000)
        try file.write(try report(status: .partial, exit: .dataError), finishedAt: 1_793_600_000)
        var samples = try parse(try String(contentsOfFile: path, encoding: .utf8))
        // A partial run billed the others but not everyone: not a success for the alert.
        #expect(samples["supportbill_job_last_success_timestamp_seconds{job_name=\"monthly-rollup\"}"] == "1793500000")
        #expect(samples["supportbill_job_last_run_timestamp_seconds{job_name=\"monthly-rollup\"}"] == "1793600000")
        #expect(samples["supportbill_job_exit_code{job_name=\"monthly-rollup\"}"] == "65")
        #expect(samples["supportbill_job_duration_seconds{job_name=\"monthly-rollup\"}"] == "1.5")
        #expect(samples["supportbill_job_customers_skipped{job_name=\"monthly-rollup\"}"] == "1")
        #expect(samples["supportbill_job_customers_visited{job_name=\"monthly-rollup\"}"] == "12")
        // rows_emitted is the report's rows by section, every section, whatever the job counts.
        #expect(samples["supportbill_job_rows_emitted{job_name=\"monthly-rollup\",kind=\"invoices\"}"] == "3")
        #expect(samples["supportbill_job_rows_emitted{job_name=\"monthly-rollup\",kind=\"events\"}"] == "1")
        // Every billable item: the three on the invoices and the one on none.
        #expect(samples["supportbill_job_rows_emitted{job_name=\"monthly-rollup\",kind=\"items\"}"] == "4")
        #expect(samples.keys.allSatisfy { !$0.contains("{job=") }, "a series labelled job (Prometheus makes it exported_job)")
        #expect(samples.keys.filter { $0.hasPrefix("supportbill_job_rows_emitted") }.count == 7)
        // The report's counts go apart, under a name that is no histogram's `_count`.
        #expect(samples["supportbill_job_report_counts{job_name=\"monthly-rollup\",name=\"drafts_corrected\"}"] == "2")
        #expect(samples["supportbill_job_report_counts{job_name=\"monthly-rollup\",name=\"items\"}"] == "7")
        #expect(samples["supportbill_job_report_counts{job_name=\"monthly-rollup\",name=\"invoices\"}"] == "3")
        #expect(samples.keys.allSatisfy { !$0.hasPrefix("supportbill_job_count") })
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["supportbill-monthly-rollup.prom"])

        try file.write(try report(status: .failed, exit: .unavailable), finishedAt: 1_793_700_000)
        samples = try parse(try String(contentsOfFile: path, encoding: .utf8))
        #expect(samples["supportbill_job_last_success_timestamp_seconds{job_name=\"monthly-rollup\"}"] == "1793500000")
        #expect(samples["supportbill_job_last_run_timestamp_seconds{job_name=\"monthly-rollup\"}"] == "1793700000")
        #expect(samples["supportbill_job_exit_code{job_name=\"monthly-rollup\"}"] == "69")
    }

    @Test("a run that never succeeded has no last-success sample")
    func neverSucceeded() throws {
        let path = NSTemporaryDirectory() + "/metrics-\(UUID().uuidString).prom"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try MetricsFile(path: path).write(try report(status: nil, exit: .locked), finishedAt: 1_793_600_000)
        let samples = try parse(try String(contentsOfFile: path, encoding: .utf8))
        #expect(samples.keys.allSatisfy { !$0.hasPrefix("supportbill_job_last_success") })
        #expect(samples["supportbill_job_exit_code{job_name=\"monthly-rollup\"}"] == "75")
    }

    @Test("a file an earlier release wrote (label job) still gives the last success")
    func carriesOverTheOldLabel() throws {
        let path = NSTemporaryDirectory() + "/metrics-\(UUID().uuidString).prom"
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "supportbill_job_last_success_timestamp_seconds{job=\"monthly-rollup\"} 1793400000.0\n".write(toFile: path, atomically: true, encoding: .utf8)
        try MetricsFile(path: path).write(try report(status: .partial, exit: .dataError), finishedAt: 1_793_600_000)
        let samples = try parse(try String(contentsOfFile: path, encoding: .utf8))
        #expect(samples["supportbill_job_last_success_timestamp_seconds{job_name=\"monthly-rollup\"}"] == "1793400000")
    }

    @Test("an unwritable path: an error naming the path and the reason, the old file untouched")
    func unwritable() throws {
        let directory = NSTemporaryDirectory() + "/metrics-\(UUID().uuidString)"
        let missing = directory + "/no-such-directory/supportbill-monthly-rollup.prom"
        do {
            try MetricsFile(path: missing).write(try report(status: .succeeded, exit: .success), finishedAt: 1_793_600_000)
            Issue.record("wrote into a missing directory")
        } catch let error as MetricsFile.WriteError {
            #expect(error.description.contains(missing), "\(error)")
            #expect(error.description.contains("No such file or directory"), "\(error)")
        }
    }
}
