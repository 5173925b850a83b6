import BillingCore
import BillingJobs
import BillingStore
import Foundation
import Postgres
import TestSupport
import Testing

/// When the past changes (docs/design.md §9): each correction of a payment and each credit note,
/// starting from the corrected data, on a real database.
@Suite("suspension-sweep corrections: payments deleted, reduced, moved; credit notes settle what they correct")
struct SuspensionSweepCorrectionTests {
    typealias World = SuspensionSweepJobTests.World

    static func sweep(_ w: World, _ asOf: String) -> JobReport { SuspensionSweepJobTests.sweep(w, asOf) }
    static func events(_ report: JobReport) -> [String] { SuspensionSweepJobTests.events(report) }

    /// A customer on priority-flat (grace 5) with one October invoice of 49.00 due 2026-11-15.
    static func customer(_ w: World) throws -> (customer: Int64, service: Int64, invoice: Int64) {
        let customer = try w.fixtures.customer("Adventure Works")
        let service = try w.fixtures.service(customer: customer, plan: w.priorityFlat, startsOn: "2026-08-01")
        let invoice = try w.sweep.invoice(customer: customer, lines: [.init(service: service, amount: 4900)], dueOn: "2026-11-15",
                                          run: w.run, month: "2026-10")
        try w.sweep.member(customer: customer, group: w.priorityGroup, managed: true)
        return (customer, service, invoice)
    }

    // paid 11-10, sweep 11-11: paid; then the payment is corrected (deleted / reduced / moved).
    //
    //   11-10 paid  11-11 sweep   (correction)   11-12 sweep          11-20 sweep
    //   |-----------|-------------|--------------|--------------------|---------->
    //               invoice_paid                  invoice_unpaid       suspended (due 11-15 + 5)
    @Test("a payment deleted, reduced or moved after the invoice was marked paid sends it back to issued, then overdue suspends",
          arguments: ["delete", "reduce", "move"])
    func paymentCorrected(correction: String) throws {
        let w = try SuspensionSweepJobTests.world()
        defer { w.close() }
        let (customer, service, invoice) = try Self.customer(w)
        let other = try w.sweep.invoice(customer: customer, lines: [.init(service: service, amount: 1000)], dueOn: "2026-11-15", run: w.run)
        let payment = try w.fixtures.payment(customer: customer, invoice: invoice, amount: 4900, receivedAt: "2026-11-10T09:00:00Z")
        let paid = Self.sweep(w, "2026-11-11T06:00:00Z")
        #expect(Self.events(paid) == ["\(customer) invoice_paid invoice \(invoice)"])
        #expect(try w.sweep.invoiceStatus(invoice) == "paid")

        switch correction {
        case "delete": try w.db.execute("DELETE FROM payments WHERE id = $1", [payment])
        case "reduce": try w.db.execute("UPDATE payments SET amount = 4000 WHERE id = $1", [payment])
        default: try w.db.execute("UPDATE payments SET invoice_id = $2 WHERE id = $1", [payment, other])
        }
        let reopened = Self.sweep(w, "2026-11-12T06:00:00Z")
        #expect(reopened.exitStatus == .success)
        if correction == "move" {
            // The moved payment (49.00) pays the other invoice (10.00) in full.
            #expect(Self.events(reopened) == ["\(customer) invoice_unpaid invoice \(invoice)", "\(customer) invoice_paid invoice \(other)"])
            #expect(try w.sweep.invoiceStatus(other) == "paid")
        } else {
            #expect(Self.events(reopened) == ["\(customer) invoice_unpaid invoice \(invoice)"])
        }
        #expect(try w.sweep.invoiceStatus(invoice) == "issued")
        let unpaid = try #require(try w.sweep.events(customer).last { $0.event == "invoice_unpaid" })
        #expect(unpaid.detail["outstanding"]?.intValue == (correction == "reduce" ? 900 : 4900))
        #expect(unpaid.detail["paid"]?.intValue == (correction == "reduce" ? 4000 : 0))
        #expect(reopened.output.totals[try CurrencyCode("USD")]?["reopened"] == (correction == "reduce" ? 900 : 4900))

        let rerun = Self.sweep(w, "2026-11-12T06:00:00Z")
        #expect(rerun.output.records[.events] == nil)
        let overdue = Self.sweep(w, "2026-11-20T06:00:00Z")
        #expect(Self.events(overdue).first == "\(customer) suspended service \(service)")
        #expect(try w.sweep.serviceState(service).status == "suspended")
    }

    // Invoice 49.00 for October, due 11-15, never paid; credit note -49.00 for October issued
    // 11-05. Without it the sweep of 11-20 suspends (11-15 + 5 days' grace).
    //
    //   11-05 credit note   11-20 sweep
    //   |-------------------|---------->
    //                       credit_applied 49.00, invoice_paid; nothing suspended
    @Test("a credit note that fully credits an unpaid invoice stops the suspension; the application is stored once")
    func creditNoteSettles() throws {
        let w = try SuspensionSweepJobTests.world()
        defer { w.close() }
        let (customer, service, invoice) = try Self.customer(w)
        let note = try w.sweep.creditNote(customer: customer, service: service, amount: 4900, month: "2026-10", run: w.run)

        let report = Self.sweep(w, "2026-11-20T06:00:00Z")
        #expect(report.exitStatus == .success)
        #expect(try w.sweep.serviceState(service).status == "active")
        #expect(try w.sweep.invoiceStatus(invoice) == "paid")
        #expect(try w.sweep.invoiceStatus(note) == "issued")
        #expect(try w.sweep.applications(customer) == ["\(note)->\(invoice):4900"])
        let events = Self.events(report)
        #expect(events.count == 2)
        #expect(events[0].hasPrefix("\(customer) credit_applied credit_application "))
        #expect(events[1] == "\(customer) invoice_paid invoice \(invoice)")
        #expect(report.output.counts["credit_applied"] == 1)
        #expect(report.output.totals[try CurrencyCode("USD")]?["credit_applied"] == 4900)
        let applied = try #require(report.output.records[.events]?.first?.fields["detail"])
        #expect(applied["credit_note_id"]?.intValue == note)
        #expect(applied["invoice_id"]?.intValue == invoice)
        #expect(applied["amount"]?.intValue == 4900)
        #expect(applied["rule"]?.stringValue == "corrected_month")
        #expect(applied["source_key"]?.stringValue == "suspension-sweep:credit:\(note):\(invoice):1")
        let paid = try #require(report.output.records[.events]?.last?.fields["detail"])
        #expect(paid["credited"]?.intValue == 4900)
        #expect(paid["credit_note_ids"] == .array([.int(note)]))

        let rerun = Self.sweep(w, "2026-11-21T06:00:00Z")
        #expect(rerun.output.records[.events] == nil)
        #expect(try w.db.query("SELECT count(*) FROM credit_applications").scalar(Int.self) == 1)
    }

    @Test("a credit note arriving after the suspension restores the service")
    func creditNoteRestores() throws {
        let w = try SuspensionSweepJobTests.world()
        defer { w.close() }
        let (customer, service, invoice) = try Self.customer(w)
        _ = Self.sweep(w, "2026-11-20T06:00:00Z")
        #expect(try w.sweep.serviceState(service).status == "suspended")
        let note = try w.sweep.creditNote(customer: customer, service: service, amount: 4900, month: "2026-10", issuedAt: "2026-11-21T10:00:00Z", run: w.run)
        let report = Self.sweep(w, "2026-11-22T06:00:00Z")
        #expect(Array(Self.events(report).dropFirst()) == [
            "\(customer) invoice_paid invoice \(invoice)", "\(customer) unsuspended service \(service)", "\(customer) group_added customer_group \(w.priorityGroup)",
        ])
        #expect(try w.sweep.applications(customer) == ["\(note)->\(invoice):4900"])
        #expect(try w.sweep.serviceState(service).status == "active")
    }

    // Credit note -60.00 for October. Open: September 30.00 (due 10-15), October 40.00 (due 11-15),
    // a top-up 20.00 (no credit: threshold-topup settles top-ups). October first (40.00), then
    // the oldest open (September, 20.00 of its 30.00); nothing left. Then a payment of 40.00
    // arrives for October: the credit there is withdrawn and goes to September (30.00), and
    // 30.00 is left unapplied, until a November invoice of 25.00 is issued and takes 25.00.
    @Test("credit applies to the corrected month first, then the oldest open invoices; a payment moves it; later invoices take what is left")
    func allocationOrder() throws {
        let w = try SuspensionSweepJobTests.world()
        defer { w.close() }
        let customer = try w.fixtures.customer("Contoso")
        let service = try w.fixtures.service(customer: customer, plan: w.hourly, startsOn: "2026-08-01")
        let september = try w.sweep.invoice(customer: customer, lines: [.init(service: service, amount: 3000)], issuedAt: "2026-10-01T14:00:00Z",
                                            dueOn: "2026-10-15", run: w.run, month: "2026-09")
        let october = try w.sweep.invoice(customer: customer, lines: [.init(service: service, amount: 4000)], dueOn: "2026-11-15", run: w.run, month: "2026-10")
        let topup = try w.sweep.invoice(customer: customer, kind: "topup", lines: [.init(service: service, amount: 2000, kind: "topup")],
                                        issuedAt: "2026-09-20T14:00:00Z", dueOn: "2026-09-27", run: w.run)
        let note = try w.sweep.creditNote(customer: customer, service: service, amount: 6000, month: "2026-10", run: w.run)

        _ = Self.sweep(w, "2026-11-06T06:00:00Z")
        #expect(try w.sweep.applications(customer) == ["\(note)->\(september):2000", "\(note)->\(october):4000"])
        #expect(try w.sweep.invoiceStatus(october) == "paid")
        #expect(try w.sweep.invoiceStatus(september) == "issued")
        #expect(try w.sweep.invoiceStatus(topup) == "issued")

        _ = try w.fixtures.payment(customer: customer, invoice: october, amount: 4000, receivedAt: "2026-11-07T09:00:00Z")
        let moved = Self.sweep(w, "2026-11-08T06:00:00Z")
        #expect(try w.sweep.applications(customer) == ["\(note)->\(september):3000"])
        #expect(try w.sweep.invoiceStatus(september) == "paid")
        let kinds = Self.events(moved).map { $0.split(separator: " ")[1] }
        #expect(kinds == ["credit_withdrawn", "credit_withdrawn", "credit_applied", "invoice_paid"])
        let withdrawn = try #require(moved.output.records[.events]?.first { $0.fields["event"]?.stringValue == "credit_withdrawn"
            && $0.fields["detail"]?["invoice_id"]?.intValue == october })
        #expect(withdrawn.fields["detail"]?["reason"]?.stringValue == "completed payments now settle invoice \(october)")
        #expect(try w.db.query("SELECT count(*) FROM credit_applications WHERE superseded_at IS NOT NULL").scalar(Int.self) == 2)

        let november = try w.sweep.invoice(customer: customer, lines: [.init(service: service, amount: 2500)], issuedAt: "2026-12-01T14:00:00Z",
                                           dueOn: "2026-12-15", run: w.run, month: "2026-11")
        let later = Self.sweep(w, "2026-12-02T06:00:00Z")
        #expect(try w.sweep.applications(customer) == ["\(note)->\(september):3000", "\(note)->\(november):2500"])
        #expect(Self.events(later).last == "\(customer) invoice_paid invoice \(november)")
        #expect(Self.sweep(w, "2026-12-03T06:00:00Z").output.records[.events] == nil)
    }

    @Test("a credit note made void: its applications are withdrawn and the invoice it settled is issued again")
    func creditNoteVoided() throws {
        let w = try SuspensionSweepJobTests.world()
        defer { w.close() }
        let (customer, service, invoice) = try Self.customer(w)
        let note = try w.sweep.creditNote(customer: customer, service: service, amount: 4900, month: "2026-10", run: w.run)
        _ = Self.sweep(w, "2026-11-06T06:00:00Z")
        #expect(try w.sweep.invoiceStatus(invoice) == "paid")
        try w.db.execute("UPDATE invoices SET status = 'void' WHERE id = $1", [note])
        let report = Self.sweep(w, "2026-11-07T06:00:00Z")
        #expect(report.output.records[.events]?.map { $0.fields["event"]?.stringValue ?? "" } == ["credit_withdrawn", "invoice_unpaid"])
        #expect(report.output.records[.events]?.first?.fields["detail"]?["reason"]?.stringValue
            == "credit note \(note) is no longer an issued credit note")
        #expect(try w.sweep.applications(customer) == [])
        #expect(try w.sweep.invoiceStatus(invoice) == "issued")
        #expect(report.output.totals[try CurrencyCode("USD")]?["credit_withdrawn"] == 4900)
    }

    @Test("the same credit applied again after a withdrawal gets the pair's next source_key")
    func reappliedPairGetsNextKey() throws {
        let w = try SuspensionSweepJobTests.world()
        defer { w.close() }
        let (customer, service, invoice) = try Self.customer(w)
        let note = try w.sweep.creditNote(customer: customer, service: service, amount: 4900, month: "2026-10", run: w.run)
        _ = Self.sweep(w, "2026-11-06T06:00:00Z")
        let payment = try w.fixtures.payment(customer: customer, invoice: invoice, amount: 4900, receivedAt: "2026-11-07T09:00:00Z")
        _ = Self.sweep(w, "2026-11-08T06:00:00Z")
        #expect(try w.sweep.applications(customer) == [])
        #expect(try w.sweep.invoiceStatus(invoice) == "paid")
        try w.db.execute("UPDATE payments SET status = 'reversed' WHERE id = $1", [payment])
        _ = Self.sweep(w, "2026-11-09T06:00:00Z")
        #expect(try w.sweep.applications(customer) == ["\(note)->\(invoice):4900"])
        #expect(try w.sweep.invoiceStatus(invoice) == "paid")
        let keys = try w.db.query("SELECT source_key FROM credit_applications ORDER BY id").map { try $0.decode(0, as: String.self) }
        #expect(keys == ["suspension-sweep:credit:\(note):\(invoice):1", "suspension-sweep:credit:\(note):\(invoice):2"])
    }

    @Test("the runner cannot delete or rewrite a credit application; it can supersede one once")
    func applicationsAreHistory() throws {
        let w = try SuspensionSweepJobTests.world()
        defer { w.close() }
        let (customer, service, _) = try Self.customer(w)
        try w.sweep.creditNote(customer: customer, service: service, amount: 4900, month: "2026-10", run: w.run)
        _ = Self.sweep(w, "2026-11-06T06:00:00Z")
        let id = try #require(try w.db.query("SELECT id FROM credit_applications").scalar(Int64.self))
        func refusal(_ sql: String) -> String? {
            do { try w.db.execute(sql, [id]); return nil } catch let error as PostgresError { return error.sqlState } catch { return "?" }
        }
        #expect(refusal("DELETE FROM credit_applications WHERE id = $1") == "23000")
        #expect(refusal("UPDATE credit_applications SET amount = 1 WHERE id = $1") == "23000")
        #expect(refusal("UPDATE credit_applications SET superseded_at = now(), superseded_run_id = run_id WHERE id = $1") == nil)
        #expect(refusal("UPDATE credit_applications SET superseded_at = now() WHERE id = $1") == "23000")
    }
}
