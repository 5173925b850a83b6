import BillingCore
import BillingJobs
import Foundation
import Postgres
import TestSupport
import Testing

/// The usage report's credit and incident figures, as the client area shows them, on the demo
/// month after every job ran, and after what happens next (a top-up paid, an incident returned).
@Suite("supportbill report usage: pre-paid credit and incidents")
struct UsageReportCreditTests {
    private func runJobs(_ database: TestDatabase, asOf: String, _ jobs: [JobName]) throws {
        let runner = JobRunner(target: database.target)
        for job in jobs {
            let report = runner.run(try JobRegistry.make(job, source: JobConfigurationSource(directory: nil)),
                                    JobRunRequest(asOf: try Instant(rfc3339: asOf), period: job == .monthlyRollup ? try YearMonth("2026-10") : nil, invokedBy: "test"))
            #expect(report.status != nil && report.status != .failed, "\(job): \(report.error ?? "")")
        }
    }

    private func usage(_ database: TestDatabase, customer: String, period: String) throws -> (text: String, json: JSONValue) {
        let text = try ChildProcess.supportbill(["report", "usage", "--customer", customer, "--period", period, "--database", database.conninfo])
        #expect(text.status == 0, "\(text.stderr)")
        let json = try ChildProcess.supportbill(["report", "usage", "--customer", customer, "--period", period, "--format", "json", "--database", database.conninfo])
        #expect(json.status == 0, "\(json.stderr)")
        return (text.stdout, try JSONValue(parsing: json.stdout))
    }

    @Test("credit: October's 10 h at 1.00 USD/h debited, the balance, and the paid top-up in November")
    func credit() throws {
        let database = try DemoData.load()
        defer { database.drop() }
        try runJobs(database, asOf: "2026-11-01T14:00:00Z", [.thresholdTopup, .incidentGrants, .contractExpiryRollover, .monthlyRollup])

        // Fabrikam (customer 3, UTC): six entries of 90+120+60+150+90+90 = 600 min on a 1.00 USD/h plan.
        let october = try usage(database, customer: "3", period: "2026-10")
        let service = try #require(october.json["services"]?.arrayValue?.first)
        #expect(service["billing"]?.stringValue == "prepaid")
        #expect(service["rounded_minutes"]?.intValue == 600)
        #expect(service["credit_debited_this_month"]?.intValue == -1000)
        #expect(service["credit_balance"]?.intValue == -1000)
        #expect(october.json["time_entries"]?.arrayValue?.count == 6)
        #expect(october.text.contains("[prepaid, active]: 10 h used, 10.00 USD debited; credit left -10.00 USD"), "\(october.text)")

        // The top-up issued on Nov 1 is paid; the next run credits it.
        let db = try database.connect()
        defer { db.close() }
        let topups = try db.query("SELECT coalesce(sum(total), 0)::bigint, count(*) FROM invoices WHERE customer_id = 3 AND kind = 'topup'").first
        let topupTotal = try #require(try topups?.decode(0, as: Int64.self))
        #expect(topupTotal > 1000, "the top-up does not close a -10.00 balance: \(topupTotal)")
        try db.execute("""
            INSERT INTO payments (customer_id, invoice_id, amount, currency, received_at)
            SELECT customer_id, id, total, currency, '2026-11-02 09:00Z' FROM invoices WHERE customer_id = 3 AND kind = 'topup'
            """)
        try runJobs(database, asOf: "2026-11-03T00:00:00Z", [.thresholdTopup])
        let november = try usage(database, customer: "3", period: "2026-11")
        let after = try #require(november.json["services"]?.arrayValue?.first)
        #expect(after["credit_balance"]?.intValue == topupTotal - 1000)
        #expect(after["credit_debited_this_month"]?.intValue == 0)
        // The top-up is November's item, on a paid invoice.
        let items = november.json["items"]?.arrayValue ?? []
        #expect(items.map { $0["kind"]?.stringValue } == ["topup"])
        #expect(items.map { $0["amount"]?.intValue } == [topupTotal])
        #expect(items.map { $0["invoice_status"]?.stringValue } == ["paid"])
        let currency = Currency(code: try CurrencyCode("USD"), minorUnits: 2)
        #expect(november.text.contains("credit left \(currency.format(topupTotal - 1000))"), "\(november.text)")
    }

    @Test("incidents: 10 granted from Oct 11, 4 used by October's tickets, one returned when its ticket stops requiring it")
    func incidents() throws {
        let database = try DemoData.load()
        defer { database.drop() }
        try runJobs(database, asOf: "2026-11-01T14:00:00Z", [.thresholdTopup, .incidentGrants, .contractExpiryRollover, .monthlyRollup])

        // Tailspin (customer 4, Europe/London): the plan's period from Oct 11 grants 10.
        let october = try usage(database, customer: "4", period: "2026-10")
        #expect(october.json["incidents"]?["time_limited"]?.intValue == 6)
        #expect(october.json["incidents"]?["lifetime"]?.intValue == 0)
        #expect(october.json["incidents"]?["used_this_month"]?.intValue == 4)
        #expect(october.text.contains("Incidents available at the end of the month: 6 time-limited, 0 lifetime; used this month: 4"), "\(october.text)")

        let db = try database.connect()
        defer { db.close() }
        let cleared = try db.query("UPDATE tickets SET requires_incident = false WHERE customer_id = 4 AND subject LIKE 'Mail server unreachable%' RETURNING id").count
        #expect(cleared == 1)
        try runJobs(database, asOf: "2026-11-02T06:00:00Z", [.incidentGrants])
        let returned = try usage(database, customer: "4", period: "2026-10")
        #expect(returned.json["incidents"]?["time_limited"]?.intValue == 7)
        #expect(returned.json["incidents"]?["used_this_month"]?.intValue == 3)
    }
}
