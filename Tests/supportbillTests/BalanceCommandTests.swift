import BillingCore
import Foundation
import Postgres
import TestSupport
import Testing

@Suite("supportbill balance: open invoices, payments, applied credit, unapplied credit")
struct BalanceCommandTests {
    // Contoso (USD): September 30.00 due 10-15 (10.00 paid), October 40.00 due 11-15, a credit
    // note of 45.00 for October issued 11-05. October takes 40.00 (its month), September 5.00
    // (oldest open) of its 20.00 outstanding; nothing unapplied. As of 11-04 the credit note is
    // not issued yet.
    @Test("json and text show each open invoice with payments, credit and outstanding; --as-of; the sweep stores the same applications")
    func balance() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        let fixtures = Fixtures(db)
        let customer = try fixtures.customer("Contoso")
        let plan = try fixtures.plan("hourly", billing: "metered", graceDays: 7)
        let service = try fixtures.service(customer: customer, plan: plan, startsOn: "2026-08-01")
        let run = try fixtures.sweep.run()
        let september = try fixtures.sweep.invoice(customer: customer, lines: [.init(service: service, amount: 3000)],
                                                   issuedAt: "2026-10-01T14:00:00Z", dueOn: "2026-10-15", run: run, month: "2026-09")
        let october = try fixtures.sweep.invoice(customer: customer, lines: [.init(service: service, amount: 4000)], dueOn: "2026-11-15",
                                                 run: run, month: "2026-10")
        let payment = try fixtures.payment(customer: customer, invoice: september, amount: 1000, receivedAt: "2026-10-10T09:00:00Z")
        let note = try fixtures.sweep.creditNote(customer: customer, service: service, amount: 4500, month: "2026-10", run: run)
        db.close()

        let base = ["balance", "--customer", String(customer), "--database", database.runnerConninfo]
        let json = try ChildProcess.supportbill(base + ["--as-of", "2026-11-20T00:00:00Z", "--format", "json"])
        #expect(json.status == 0, "\(json.stderr)")
        let value = try JSONValue(parsing: json.stdout)
        let open = try #require(value["open_invoices"]?.arrayValue)
        #expect(open.map { $0["invoice_id"]?.intValue } == [september])
        #expect(open[0]["paid"]?.intValue == 1000)
        #expect(open[0]["credited"]?.intValue == 500)
        #expect(open[0]["outstanding"]?.intValue == 1500)
        #expect(open[0]["days_past_due"]?.intValue == 36)
        #expect(open[0]["payments"]?.arrayValue?.first?["payment_id"]?.intValue == payment)
        #expect(open[0]["credit"] == .array([.object([("credit_note_id", .int(note)), ("amount", .int(500))])]))
        let notes = try #require(value["credit_notes"]?.arrayValue)
        #expect(notes.first?["applications"]?.arrayValue?.map { $0["invoice_id"]?.intValue } == [september, october])
        #expect(notes.first?["unapplied"]?.intValue == 0)
        #expect(value["unapplied_credit"] == .object([]))

        let before = try ChildProcess.supportbill(base + ["--as-of", "2026-11-04T00:00:00Z"])
        #expect(before.status == 0, "\(before.stderr)")
        #expect(before.stdout.contains("Open invoices"))
        #expect(before.stdout.contains("20.00 USD"))      // September outstanding without credit
        #expect(before.stdout.contains("40.00 USD"))      // October, no credit yet
        #expect(!before.stdout.contains("Credit notes"))
        #expect(before.stdout.contains("Unapplied credit: none"))

        let text = try ChildProcess.supportbill(base + ["--as-of", "2026-11-20T00:00:00Z"])
        #expect(text.stdout.contains("credit note \(note): 5.00 USD"))
        #expect(text.stdout.contains("applied: invoice \(september) 5.00 USD, invoice \(october) 40.00 USD; unapplied 0.00 USD"))

        // The sweep stores exactly what balance computed (one settlement function).
        let sweep = try ChildProcess.supportbill(["run", "suspension-sweep", "--database", database.runnerConninfo,
                                                  "--as-of", "2026-11-20T00:00:00Z", "--format", "json"])
        #expect(sweep.status == 0, "\(sweep.stderr)")
        let check = try database.connect()
        defer { check.close() }
        #expect(try Fixtures(check).sweep.applications(customer) == ["\(note)->\(september):500", "\(note)->\(october):4000"])
        #expect(try JSONValue(parsing: sweep.stdout)["counts"]?["credit_applied"]?.intValue == 2)
    }

    @Test("an unknown customer exits 64; --help explains with an example")
    func usage() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let unknown = try ChildProcess.supportbill(["balance", "--customer", "999999", "--database", database.runnerConninfo])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("no such customer: 999999"))
        let help = try ChildProcess.supportbill(["balance", "--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("supportbill balance --customer 8 --as-of"))
        #expect(help.stdout.contains("oldest open invoices"))
        let bad = try ChildProcess.supportbill(["balance", "--customer", "1", "--as-of", "yesterday"])
        #expect(bad.status == 64)
    }
}
