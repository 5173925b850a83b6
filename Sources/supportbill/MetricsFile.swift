import BillingJobs
import Foundation
import Prometheus

/// Writes a run's metrics in the Prometheus text format for node_exporter's textfile collector,
/// atomically (a temporary file in the same directory, then rename), one file per job.
///
/// `supportbill_job_last_success_timestamp_seconds` survives runs that did not succeed: it is
/// carried over from the previous file, so an alert on its age fires when runs keep failing, or
/// keep ending `partial` (a customer that is skipped every run is a customer nobody bills).
/// Dry runs never reach this file (RunCommand): they bill nothing, so they are not runs of the job.
struct MetricsFile {
    let path: String

    /// Writes the metrics of `report`, finished at `finishedAt` (seconds since the epoch).
    func write(_ report: JobReport, finishedAt: Int64) throws {
        let job = report.job.rawValue
        let registry = PrometheusCollectorRegistry()
        let labels = [("job", job)]
        func gauge(_ name: String, unit: String = "", _ help: String, labels: [(String, String)] = labels) -> Gauge {
            registry.makeGauge(
                descriptor: MetricNameDescriptor(namespace: "supportbill", subsystem: "job", metricName: name, unitName: unit, helpText: help),
                labels: labels
            )
        }
        let succeeded = report.status == .succeeded
        let previousSuccess = MetricsFile.previousSuccess(in: path, job: job)
        gauge("last_run_timestamp", unit: "seconds", "When the last run of the job ended (Unix time).").set(finishedAt)
        if let success = succeeded ? finishedAt : previousSuccess {
            gauge("last_success_timestamp", unit: "seconds", "When a run of the job last succeeded: every customer billed (Unix time).").set(success)
        }
        // Prometheus samples are floating point by definition; this is a duration, never money.
        gauge("duration", unit: "seconds", "Wall time of the last run.").set(Double(report.durationMilliseconds) / 1000)
        gauge("exit_code", "Exit status of the last run: 0 done, 64 usage, 65 customers skipped or safety limit, 69 database unavailable, 75 locked, 1 other.")
            .set(Int64(report.exitStatus.rawValue))
        gauge("customers_skipped", "Customers the last run skipped for invalid data.").set(Int64(report.output.skipped.count))
        gauge("customers_visited", "Customers the last run visited.").set(Int64(report.output.counts["customers"] ?? 0))
        // rows_emitted is the report's rows, section by section (every section, 0 included, so
        // the series stay put), whatever the job names its counts; the report's counts (entries
        // debited, drafts corrected, services suspended, ...) are figures of another nature.
        for section in ReportSection.allCases {
            gauge("rows_emitted", "Rows the last run emitted, by report section (invoices, items, ledger, grants, uses, charges, events).",
                  labels: labels + [("kind", section.rawValue)]).set(Int64(report.records.count(section)))
        }
        for (name, value) in report.output.counts.sorted(by: { $0.key < $1.key }) where name != "customers" {
            gauge("report_counts", "The last run's report counts, by name (as in the report's counts).",
                  labels: labels + [("name", name)]).set(Int64(value))
        }
        let text = registry.emitToString()
        let directory = (path as NSString).deletingLastPathComponent
        let temporary = (directory.isEmpty ? "." : directory) + "/.\((path as NSString).lastPathComponent).\(getpid()).tmp"
        try text.write(toFile: temporary, atomically: false, encoding: .utf8)
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "cannot rename the metrics file into \(path): \(reason)"])
        }
    }

    /// The last success timestamp of `job` in an earlier file, if any.
    static func previousSuccess(in path: String, job: String) -> Int64? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let prefix = "supportbill_job_last_success_timestamp_seconds{job=\"\(job)\"} "
        for line in text.split(separator: "\n") where line.hasPrefix(prefix) {
            let value = line.dropFirst(prefix.count)
            if let integer = Int64(value) { return integer }
            if let dot = value.firstIndex(of: "."), let integer = Int64(value[..<dot]) { return integer }
        }
        return nil
    }
}
