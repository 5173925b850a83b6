import BillingJobs
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Prometheus

/// Writes a run's metrics in the Prometheus text format for node_exporter's textfile collector,
/// atomically (a temporary file in the same directory, fsync, rename, fsync of the directory:
/// after a power loss the file holds the old metrics or the new, never nothing), one file per job.
///
/// Every series carries the label `job_name`: Prometheus reserves `job` for the scrape job and
/// renames a `job` label it finds in the file to `exported_job`.
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
        let labels = [("job_name", job)]
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
        // `items` counts every billable item, on an invoice of the report or not (the report
        // nests an invoice's items in the invoice).
        for section in ReportSection.allCases {
            var rows = report.records.count(section)
            if section == .items { rows += report.records.nestedCount("items") }
            gauge("rows_emitted", "Rows the last run emitted, by report section (invoices; items, on an invoice or not; ledger, grants, uses, charges, events).",
                  labels: labels + [("kind", section.rawValue)]).set(Int64(rows))
        }
        for (name, value) in report.output.counts.sorted(by: { $0.key < $1.key }) where name != "customers" {
            gauge("report_counts", "The last run's report counts, by name (as in the report's counts).",
                  labels: labels + [("name", name)]).set(Int64(value))
        }
        try MetricsFile.replace(path, with: registry.emitToString())
    }

    /// Why the metrics file could not be written: the path, the step and the system's reason.
    struct WriteError: Error, CustomStringConvertible {
        let path: String
        let step: String
        let reason: String
        var description: String { "cannot write the metrics file \(path): \(step): \(reason)" }
    }

    /// Writes `text` to a temporary file beside `path`, fsyncs it, renames it over `path` and
    /// fsyncs the directory, so the rename itself is durable.
    static func replace(_ path: String, with text: String) throws {
        let directory = (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent
        let temporary = directory + "/.\((path as NSString).lastPathComponent).\(getpid()).tmp"
        func fail(_ step: String) -> WriteError { WriteError(path: path, step: step, reason: String(cString: strerror(errno))) }
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw fail("cannot create \(temporary)") }
        var closed = false
        defer { if !closed { close(descriptor); unlink(temporary) } }
        let bytes = Array(text.utf8)
        var done = 0
        while done < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + done, bytes.count - done) }
            if written < 0 {
                if errno == EINTR { continue }
                throw fail("cannot write \(temporary)")
            }
            done += written
        }
        guard fsync(descriptor) == 0 else { throw fail("cannot fsync \(temporary)") }
        closed = true
        guard close(descriptor) == 0 else { unlink(temporary); throw fail("cannot close \(temporary)") }
        guard rename(temporary, path) == 0 else {
            let error = fail("cannot rename \(temporary) into place")
            unlink(temporary)
            throw error
        }
        let directoryDescriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard directoryDescriptor >= 0 else { throw fail("cannot open the directory to fsync it") }
        defer { close(directoryDescriptor) }
        guard fsync(directoryDescriptor) == 0 else { throw fail("cannot fsync the directory") }
    }

    /// The last success timestamp of `job` in an earlier file, if any (also from a file an
    /// earlier release wrote with the label `job`).
    static func previousSuccess(in path: String, job: String) -> Int64? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        let prefixes = ["job_name", "job"].map { "supportbill_job_last_success_timestamp_seconds{\($0)=\"\(job)\"} " }
        for line in text.split(separator: "\n") {
            guard let prefix = prefixes.first(where: { line.hasPrefix($0) }) else { continue }
            let value = line.dropFirst(prefix.count)
            if let integer = Int64(value) { return integer }
            if let dot = value.firstIndex(of: "."), let integer = Int64(value[..<dot]) { return integer }
        }
        return nil
    }
}
