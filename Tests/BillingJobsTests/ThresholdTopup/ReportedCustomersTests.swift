import BillingCore
import BillingJobs
import Testing

/// `JobOutput.reported`: customers processed (their rows written) that hit a safety limit.
/// threshold-topup uses it for `max_topups_per_day`; the end-to-end test shows the exit 65.
@Suite("Reported customers in reports")
struct ReportedCustomersTests {
    private func report() throws -> JobReport {
        var first = JobOutput()
        first.report(9, "service 90: max_topups_per_day = 3 reached on 2026-10-14")
        var second = JobOutput()
        second.report(4, "service 40: max_topups_per_day = 3 reached on 2026-10-14")
        second.skip(5, "no price in USD")
        first.merge(second)
        return JobReport(job: .thresholdTopup, runID: 1, dryRun: false, asOf: try Instant(rfc3339: "2026-10-14T12:05:00Z"), period: nil,
                         status: .partial, output: first, error: nil, exitStatus: .dataError, durationMilliseconds: 3, currencies: [:])
    }

    @Test("JSON, CSV, text and job_runs stats list them, sorted by customer, apart from the skipped ones")
    func formats() throws {
        let report = try report()
        #expect(report.json["reported"]?.arrayValue?.map { $0["customer_id"]?.intValue } == [4, 9])
        #expect(report.json["skipped"]?.arrayValue?.map { $0["customer_id"]?.intValue } == [5])
        #expect(report.stats["reported"]?.arrayValue?.count == 2)
        let csv = CSVReport.render(report).split(separator: "\n").map(String.init)
        #expect(csv.filter { $0.hasPrefix("reported,4,") }.count == 1)
        #expect(csv.filter { $0.hasPrefix("skipped,5,") }.count == 1)
        let text = TextReport.render(report)
        #expect(text.contains("Reported customers (billed, but a safety limit needs a look)\n  customer 4: service 40"))
        #expect(text.contains("  customer 9: service 90"))
    }
}
