import BillingCore
import BillingJobs
import BillingStore
import Foundation
import Postgres
@testable import supportbill
import TestSupport
import Testing

@Suite("supportbill run suspension-sweep: exit codes, --jobs-dir, and the demo's story")
struct SuspensionSweepCommandTests {
    private func jobsDir(_ toml: String) throws -> String {
        let dir = NSTemporaryDirectory() + "/sweep-jobs-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try toml.write(toFile: dir + "/suspension-sweep.toml", atomically: true, encoding: .utf8)
        return dir
    }

    @Test("exit 65 over max_suspensions (nothing written), --dry-run --force lists, --force suspends (0), a rerun exits 0")
    func exitCodes() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let fixtures = Fixtures(db)
        let plan = try fixtures.plan("hourly", billing: "metered", graceDays: 7)
        let run = try fixtures.sweep.run()
        var services: [Int64] = []
        for name in ["Late One", "Late Two"] {
            let customer = try fixtures.customer(name)
            let service = try fixtures.service(customer: customer, plan: plan, startsOn: "2026-08-01")
            try fixtures.sweep.invoice(customer: customer, lines: [.init(service: service, amount: 1500)], dueOn: "2026-11-15", run: run)
            services.append(service)
        }
        let dir = try jobsDir("max_suspensions = 1\n")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let common = ["run", "suspension-sweep", "--database", database.conninfo, "--jobs-dir", dir, "--as-of", "2026-11-22"]

        let stopped = try ChildProcess.supportbill(common + ["--format", "json"])
        #expect(stopped.status == 65, "\(stopped.stderr)")
        #expect(stopped.stderr.contains("2 services would be suspended, more than max_suspensions (1)"))
        let json = try JSONValue(parsing: stopped.stdout)
        #expect(json["status"]?.stringValue == "failed")
        #expect(json["notices"]?.arrayValue?.count == 2)
        #expect(json["notices"]?.arrayValue?.first?.stringValue?.hasPrefix("would suspend service \(services[0]) (hourly)") == true)
        #expect(try fixtures.count("services", where: "status = 'suspended'") == 0)

        let preview = try ChildProcess.supportbill(common + ["--dry-run", "--force", "--format", "csv"])
        #expect(preview.status == 0, "\(preview.stderr)")
        #expect(preview.stdout.split(separator: "\n").filter { $0.hasPrefix("events,") }.count == 2)
        #expect(try fixtures.count("services", where: "status = 'suspended'") == 0)

        let forced = try ChildProcess.supportbill(common + ["--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(forced.stdout.contains("suspended 2"))
        #expect(forced.stdout.contains("event suspended"))
        #expect(try fixtures.count("services", where: "status = 'suspended' AND suspend_reason = 'overdue'") == 2)

        let rerun = try ChildProcess.supportbill(common)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(!rerun.stdout.contains("event "))
    }

    @Test("a --jobs-dir file with an unknown key or a wrong type exits 64 naming the file and the key", arguments: [
        ("max_suspension = 5\n", "max_suspension"),
        ("max_suspensions = \"ten\"\n", "max_suspensions"),
    ])
    func badJobsFile(toml: String, key: String) throws {
        let dir = try jobsDir(toml)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try ChildProcess.supportbill(["run", "suspension-sweep", "--jobs-dir", dir, "--database", "host=/nonexistent/socket"])
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains("suspension-sweep.toml"))
        #expect(result.stderr.contains(key))
    }

    /// The demo's suspension-sweep steps on the demo data, with the period invoices monthly-rollup
    /// issues at the close of the month made by fixtures (monthly-rollup is another job's branch).
    @Test("the demo story: four customers pay, Adventure Works is suspended and leaves the group, pays, and is restored")
    func demoStory() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let month = try YearMonth("2026-10")
        try db.execute("SELECT set_config('supportbill.demo_month', $1, false)", [month.firstDay.description])
        for file in EmbeddedDemoFiles.files { try db.executeScript(file.contents) }

        // Period invoices as monthly-rollup issues them at 2026-11-01T14:00Z, due 14 local days later.
        let fixtures = Fixtures(db)
        let rollup = try fixtures.sweep.run(asOf: "2026-11-01T14:00:00Z")
        let closing = try Instant(rfc3339: "2026-11-01T14:00:00Z")
        var invoices: [Int64: Int64] = [:]
        for (customer, service, currency, amount) in [(1, 1, "USD", 33500), (2, 2, "USD", 3225), (5, 5, "USD", 20000),
                                                      (6, 6, "JPY", 30000), (8, 7, "USD", 4900)] as [(Int64, Int64, String, Int64)] {
            let zone = try CustomerTimeZone(try db.query("SELECT timezone FROM customers WHERE id = $1", [customer]).scalar(String.self) ?? "UTC")
            invoices[customer] = try fixtures.sweep.invoice(
                customer: customer, currency: currency, lines: [.init(service: service, amount: amount)],
                issuedAt: closing.description, dueOn: zone.localDate(of: closing).adding(days: 14).description, run: rollup)
        }

        var reports: [JobReport] = []
        // The month's steps; the corrections act after it needs monthly-rollup's own invoices.
        for step in DemoScenario(month: month).theMonth {
            switch step {
            case .change(_, let sql):
                let other = try database.connect()
                try other.executeScript(sql)
                other.close()
            case .run(let job, let asOf, _, _) where job == .suspensionSweep:
                reports.append(JobRunner(target: database.target).run(SuspensionSweepJob(), JobRunRequest(asOf: asOf, invokedBy: "demo")))
            case .run, .creditNotes, .cutover:
                continue
            }
        }
        #expect(reports.count == 2)
        let events = reports.map { report in
            (report.output.records[.events] ?? []).map { "\($0.fields["customer_id"]?.intValue ?? 0) \($0.fields["event"]?.stringValue ?? "") \($0.fields["entity_id"]?.intValue ?? 0)" }
        }
        #expect(events.first == [
            "1 invoice_paid \(invoices[1]!)", "2 invoice_paid \(invoices[2]!)", "5 invoice_paid \(invoices[5]!)", "6 invoice_paid \(invoices[6]!)",
            "8 suspended 7", "8 group_removed 1",
        ])
        #expect(events.last == ["8 invoice_paid \(invoices[8]!)", "8 unsuspended 7", "8 group_added 1"])
        #expect(reports.allSatisfy { $0.exitStatus == .success })
        let suspended = reports.first?.output.records[.events]?.first { $0.fields["event"]?.stringValue == "suspended" }
        // Kiritimati: issued 2026-11-02 local, due 11-16, priority-flat's grace 5 -> overdue since 11-21.
        #expect(suspended?.fields["detail"]?["summary"]?.stringValue
            == "period invoice: 49.00 USD outstanding, due 2026-11-16, overdue since 2026-11-21 (5 days' grace)")
        #expect(suspended?.fields["detail"]?["invoices"]?.arrayValue?.first?["invoice_id"]?.intValue == invoices[8])
        let members = try db.query("SELECT customer_id, managed FROM customer_group_members WHERE group_id = 1 ORDER BY customer_id")
            .map { "\(try $0.decode(0, as: Int64.self)):\(try $0.decode(1, as: Bool.self))" }
        #expect(members == ["1:true", "4:false", "5:true", "6:true", "8:true"])
        #expect(try fixtures.count("services", where: "status <> 'active'") == 0)
    }
}
