import BillingCore
import Foundation
import Postgres
import TestSupport
import Testing

@Suite("supportbill run threshold-topup: exit codes, jobs dir, demo")
struct ThresholdTopupCommandTests {
    @Test("exit 0 with the top-up in the JSON report, 0 again on a rerun that emits nothing, 65 for a skipped customer")
    func exitCodes() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let (customer, service, ticket) = try f.prepaidCustomer(plan: try f.prepaidPlan())
        try f.entry(customer: customer, ticket: ticket, workedAt: "2026-10-03T10:00:00Z", minutes: 90)
        let arguments = ["run", "threshold-topup", "--database", database.conninfo, "--as-of", "2026-10-04T00:05:00Z", "--format", "json"]

        let first = try ChildProcess.supportbill(arguments)
        #expect(first.status == 0, "\(first.stderr)")
        let json = try JSONValue(parsing: first.stdout)
        #expect(json["job"] == "threshold-topup")
        #expect(json["status"] == "succeeded")
        #expect(json["ledger"]?.arrayValue?.map { $0["amount"] } == [-150])
        #expect(json["invoices"]?.arrayValue?.first?["total"] == 1000)
        #expect(json["invoices"]?.arrayValue?.first?["items"]?.arrayValue?.first?["service_id"]?.intValue == service)
        #expect(json["totals"]?["USD"]?["invoiced"] == 1000)

        let rerun = try ChildProcess.supportbill(arguments)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        let again = try JSONValue(parsing: rerun.stdout)
        #expect(again["ledger"]?.arrayValue?.isEmpty == true)
        #expect(again["invoices"]?.arrayValue?.isEmpty == true)

        try db.execute("UPDATE plan_prices SET topup_amount = 0")
        try f.entry(customer: customer, ticket: ticket, workedAt: "2026-10-04T10:00:00Z", minutes: 30)
        let skipped = try ChildProcess.supportbill(["run", "threshold-topup", "--database", database.conninfo, "--as-of", "2026-10-05T00:05:00Z"])
        #expect(skipped.status == 65, "\(skipped.stderr)")
        #expect(skipped.stdout.contains("customer \(customer): service \(service) (plan prepaid-credit) has topup_amount 0 in USD"))
        #expect(try f.ledger(customer: customer).count == 1)
    }

    @Test("max_topups_per_day from --jobs-dir: beyond it exit 65 with the service reported; an unknown key exits 64 naming file and key")
    func jobsDirectory() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let (customer, service, ticket) = try f.prepaidCustomer(plan: try f.prepaidPlan())
        let directory = NSTemporaryDirectory() + "/tt-jobs-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/threshold-topup.toml"
        try "max_topups_per_day = 1\n".write(toFile: file, atomically: true, encoding: .utf8)
        func run(_ asOf: String) throws -> ChildProcess.Result {
            try ChildProcess.supportbill(["run", "threshold-topup", "--database", database.conninfo, "--as-of", asOf, "--jobs-dir", directory])
        }
        #expect(try run("2026-10-04T00:05:00Z").status == 0)
        // The first pack is paid and used up the same day: a second pack would be the day's second invoice.
        let invoice = try #require(try f.topups(customer: customer).first?.id)
        try f.payment(customer: customer, invoice: invoice, amount: 1000, receivedAt: "2026-10-04T08:00:00Z")
        try f.entry(customer: customer, ticket: ticket, workedAt: "2026-10-04T09:00:00Z", minutes: 600)
        let limited = try run("2026-10-04T10:05:00Z")
        #expect(limited.status == 65, "\(limited.stderr)")
        #expect(limited.stdout.contains("Reported customers"))
        #expect(limited.stdout.contains("amount -10.00 USD  reason usage"))
        #expect(limited.stdout.contains("minutes 600  hourly_rate 1.00 USD"))
        #expect(limited.stdout.contains("service \(service): max_topups_per_day = 1 reached on 2026-10-04 (1 top-up invoice issued that day)"))
        #expect(try f.ledger(customer: customer).map(\.amount) == [-1000, 1000])
        #expect(try run("2026-10-05T00:05:00Z").status == 0)
        #expect(try f.topups(customer: customer).count == 2)

        try "max_topup_per_day = 2\n".write(toFile: file, atomically: true, encoding: .utf8)
        let bad = try run("2026-10-05T01:05:00Z")
        #expect(bad.status == 64)
        #expect(bad.stderr.contains(file))
        #expect(bad.stderr.contains("max_topup_per_day"))
    }

    @Test("the demo shows Fabrikam's pre-paid ledger and its top-up invoices")
    func demo() throws {
        let temporary = NSTemporaryDirectory() + "/tt-demo-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: temporary) }
        let result = try ChildProcess.supportbill(["demo", "--month", "2026-10"], environment: ["TMPDIR": temporary])
        #expect(result.status == 0, "\(result.stderr)")
        let out = result.stdout
        // Oct 1: the first pack; Oct 10: 270 min debited (-4.50), the paid pack credited; Nov 1: the
        // other 330 min (-5.50), B = 0, the next pack.
        #expect(out.contains("invoice 1 INV-000001  customer 3  topup  issued  due 2026-10-08  total 10.00 USD"))
        #expect(out.contains("amount 10.00 USD  reason topup  invoice_id 1  source_key tt:credit:1:1"))
        #expect(out.contains("credited 10.00 USD  ·  debited -4.50 USD"))
        #expect(out.contains("debited -5.50 USD  ·  invoiced 10.00 USD"))
        #expect(out.contains("Pre-paid Support Credit for service 3, balance 0.00 USD"))
        #expect(out.contains("invoice 2 INV-000002  customer 3  topup  issued  due 2026-11-08  total 10.00 USD"))
        #expect(out.contains("paid, due 2026-10-08, paid 10.00 USD"))
    }
}
