import BillingCore
import BillingJobs
import Foundation
import Postgres
import TestSupport
import Testing

@Suite("supportbill report usage: one customer's support month")
struct UsageReportCommandTests {
    @Test("lists every entry of the month with its rounded time, hours against the bundle, billed items")
    func usage() throws {
        let database = try DemoData.load()
        defer { database.drop() }
        let asOf = try Instant(rfc3339: "2026-11-01T14:00:00Z")
        let runner = JobRunner(target: database.target)
        for job in [JobName.contractExpiryRollover, .monthlyRollup] {
            let report = runner.run(try JobRegistry.make(job, source: JobConfigurationSource(directory: nil)),
                                    JobRunRequest(asOf: asOf, period: job == .monthlyRollup ? try YearMonth("2026-10") : nil, invokedBy: "test"))
            #expect(report.status != nil && report.status != .failed, "\(job): \(report.error ?? "")")
        }
        let db = try database.connect()
        defer { db.close() }
        // Northwind's October in New York: every entry, whatever its billable flag.
        let expected = try db.query("""
            SELECT id FROM time_entries
             WHERE customer_id = 1 AND (worked_at AT TIME ZONE 'America/New_York')::date BETWEEN '2026-10-01' AND '2026-10-31'
             ORDER BY worked_at, id
            """).map { try $0.decode(0, as: Int64.self) }
        #expect(expected.count == 5)

        let csv = try ChildProcess.supportbill(["report", "usage", "--customer", "1", "--period", "2026-10", "--format", "csv", "--database", database.conninfo])
        #expect(csv.status == 0, "\(csv.stderr)")
        let rows = csv.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        #expect(rows.map { Int64($0[3]) } == expected.map { Optional($0) })
        // 50 minutes on a 15-minute plan bill as 60; the 20-minute hand-over is not billable.
        #expect(rows.contains { $0[7] == "50" && $0[8] == "60" && $0[9] == "true" })
        #expect(rows.contains { $0[7] == "20" && $0[8] == "30" && $0[9] == "false" })

        let text = try ChildProcess.supportbill(["report", "usage", "--customer", "1", "--period", "2026-10", "--database", database.conninfo])
        #expect(text.status == 0)
        #expect(text.stdout.contains("4.25 h used of 2 h included, 2.25 h beyond at 60.00 USD/h"))
        #expect(text.stdout.contains("Support time 2026-10: 4.25 h worked, 2 h included"))
        #expect(text.stdout.contains("135.00 USD  invoice"))

        // Contract time left and what used it (Litware), as JSON.
        let json = try ChildProcess.supportbill(["report", "usage", "--customer", "7", "--period", "2026-10", "--format", "json", "--database", database.conninfo])
        #expect(json.status == 0)
        let value = try JSONValue(parsing: json.stdout)
        let contracts = value["contracts"]?.arrayValue ?? []
        #expect(contracts.map { $0["minutes_left"]?.intValue } == [0, 1140])
        #expect(value["time_entries"]?.arrayValue?.count == 4)
        #expect(value["time_entries"]?.arrayValue?.flatMap { $0["charges"]?.arrayValue ?? [] }.map { $0["outcome"]?.stringValue } ==
                ["covered", "covered", "covered", "rolled_over", "per_incident"])

        let unknown = try ChildProcess.supportbill(["report", "usage", "--customer", "999", "--period", "2026-10", "--database", database.conninfo])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("no such customer: 999"))
    }
}
