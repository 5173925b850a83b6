import BillingCore
import BillingJobs
import BillingStore
import Foundation
import Postgres
import TestSupport
import Testing

/// monthly-rollup on corrected data (issue 16, docs/design.md §9 and §8): fees on every
/// plan kind, other jobs' uninvoiced items of any age, items that net to 0, late entries before
/// the window.
@Suite("monthly-rollup on PostgreSQL: when the past changes")
struct MonthlyRollupCorrectionTests {
    private func d(_ text: String) -> LocalDate { try! LocalDate(text) }

    /// The report's counts of what a run emitted (`customers` counts those visited).
    private func emitted(_ report: JobReport) -> [String: Int] {
        report.output.counts.filter { $0.key != "customers" }
    }

    //   incidents-10 (99.00 a month) from Oct 11 for 3 months:
    //   |-- Oct 11..Nov 10 --|-- Nov 11..Dec 10 --|-- Dec 11..Jan 10 --| Jan 11 (ends_on)
    //   Oct invoice           Nov invoice           Dec invoice
    //   prepaid-setup (25.00 once, time debited from credit) from Oct 5: Oct invoice 25.00, no usage.
    @Test("incidents and prepaid plans pay their fees through the rollup; their time is never billed as usage")
    func feesOnEveryPlanKind() throws {
        let t = try RollupTestDatabase()
        defer { t.close() }
        let incidents = try t.fixtures.plan("incidents-10", billing: "incidents", incidentsPerPeriod: 10)
        try t.fixtures.price(plan: incidents, recurringFee: 9900)
        let prepaid = try t.fixtures.plan("prepaid-setup", billing: "prepaid")
        try t.fixtures.price(plan: prepaid, setupFee: 2500, hourlyRate: 100, topupAmount: 1000)
        let free = try t.fixtures.plan("incidents-free", billing: "incidents", incidentsPerPeriod: 3)  // no price at all

        let tailspin = try t.customer("Tailspin", plan: incidents, startsOn: "2026-10-11", endsOn: "2027-01-11")
        try t.fixtures.entry(customer: tailspin.customer, ticket: tailspin.ticket, workedAt: "2026-10-20T10:00:00Z", minutes: 90)
        let fabrikam = try t.customer("Fabrikam", plan: prepaid, startsOn: "2026-10-05")
        try t.fixtures.entry(customer: fabrikam.customer, ticket: fabrikam.ticket, workedAt: "2026-10-21T10:00:00Z", minutes: 120)
        let gratis = try t.customer("Gratis", plan: free, startsOn: "2026-10-01")

        let october = t.run()
        #expect(october.exitStatus == .success, "\(october.output.skipped)")
        let fee = try #require(try t.invoices(customer: tailspin.customer).first)
        #expect(fee.total == 9900)
        #expect(fee.items.map(\.kind) == ["recurring_fee"])
        #expect(fee.items.first?.periodStart == d("2026-10-11") && fee.items.first?.periodEnd == d("2026-11-11"))
        #expect(fee.items.first?.sourceKey == "mr:fee:\(tailspin.service):2026-10-11")
        let setup = try #require(try t.invoices(customer: fabrikam.customer).first)
        #expect(setup.total == 2500)
        #expect(setup.items.map(\.kind) == ["setup_fee"])
        #expect(try t.invoices(customer: gratis.customer).isEmpty)
        #expect(october.output.totals[try CurrencyCode("USD")]?["invoiced"] == 12400)

        // November: the second incidents period; nothing for the pre-paid plan (setup only).
        let november = t.run(asOf: try Instant(rfc3339: "2026-12-01T14:00:00Z"), period: try YearMonth("2026-11"))
        #expect(november.exitStatus == .success)
        #expect(try t.invoices(customer: tailspin.customer).map(\.total) == [9900, 9900])
        #expect(try t.invoices(customer: fabrikam.customer).count == 1)

        // threshold-topup still debits the pre-paid service's time: a fee billed by the rollup is
        // no sign of a move between pre-paid and monthly billing (service_billing_changed).
        let topup = JobRunner(target: t.database.target).run(ThresholdTopupJob(parameters: ThresholdTopupParameters()), JobRunRequest(
            asOf: try Instant(rfc3339: "2026-11-01T15:00:00Z"), customers: [fabrikam.customer], invokedBy: "test"))
        #expect(topup.exitStatus == .success, "\(topup.output.skipped)")
        #expect(topup.output.counts["entries_debited"] == 1)
        #expect(try DataDefectScanner.scan(t.db, asOf: RollupTestDatabase.closing, kinds: [.serviceBillingChanged]).isEmpty)

        // A rerun emits nothing.
        let rerun = t.run()
        #expect(emitted(rerun).isEmpty)
    }

    //   As of Nov 1 the timer's window is Aug..Oct. May and April are older:
    //   | Apr: +49, -49 (both uninvoiced) | May: +49, later -49 | ... | Aug | Sep | Oct |
    //   run 1: May on its period invoice (+49.00), April netted (no invoice, settled once)
    //   run 2: May issued, its -49.00 offset goes on a credit note for May
    @Test("uninvoiced items of months before the window are invoiced whatever their age; items netting to 0 are settled once")
    func olderUninvoicedItems() throws {
        let t = try RollupTestDatabase()
        defer { t.close() }
        let litware = try t.fixtures.customer("Litware")
        let may = try t.fixtures.uninvoicedItem(customer: litware, amount: 4900, month: "2026-05", sourceKey: "ce:per-incident:1")
        let aprilCharge = try t.fixtures.uninvoicedItem(customer: litware, amount: 4900, month: "2026-04", sourceKey: "ce:per-incident:2")
        let aprilOffset = try t.fixtures.uninvoicedItem(customer: litware, amount: -4900, month: "2026-04", sourceKey: "ce:per-incident:2:withdrawn")

        let first = t.run(period: nil)
        #expect(first.exitStatus == .success)
        var invoices = try t.invoices(customer: litware)
        #expect(invoices.map(\.kind) == ["period"])
        #expect(invoices.first?.periodStart == d("2026-05-01"))
        #expect(invoices.first?.total == 4900)
        #expect(invoices.first?.sourceKey == "mr:period:\(litware):USD:2026-05")
        #expect(invoices.first?.items.map(\.id) == [may])
        #expect(first.output.counts["items_netted"] == 2)
        #expect(first.output.notices.contains { $0.contains("2 uninvoiced items (per_incident) of 2026-04 in USD net to 0") })
        #expect(try t.fixtures.count("rollup_netted_items", where: "item_id = ANY($1::bigint[])", [[aprilCharge, aprilOffset]]) == 2)
        #expect(try t.fixtures.count("rollup_netted_items", where: "customer_id = $1", [litware]) == 2)

        // Nothing left: the netted items are neither invoiced nor reported again.
        let rerun = t.run(asOf: try Instant(rfc3339: "2026-11-02T14:00:00Z"), period: nil)
        #expect(emitted(rerun).isEmpty)
        #expect(!rerun.output.notices.contains { $0.contains("2026-04") })

        // The May charge is withdrawn after May was issued: a credit note for May.
        let offset = try t.fixtures.uninvoicedItem(customer: litware, amount: -4900, month: "2026-05", sourceKey: "ce:per-incident:1:withdrawn")
        let second = t.run(asOf: try Instant(rfc3339: "2026-11-03T14:00:00Z"), period: nil)
        #expect(second.exitStatus == .success)
        invoices = try t.invoices(customer: litware)
        #expect(invoices.map(\.kind) == ["period", "adjustment"])
        let credit = try #require(invoices.last)
        #expect(credit.total == -4900)
        #expect(credit.periodStart == d("2026-05-01"))
        #expect(credit.status == "issued")
        #expect(credit.sourceKey == "mr:adjustment:\(litware):USD:2026-05:1")
        #expect(credit.items.map(\.id) == [offset])
        #expect(second.output.counts["adjustment_invoices"] == 1)
        #expect(try t.fixtures.count("billable_items", where: "customer_id = $1 AND invoice_id IS NULL", [litware]) == 2)  // April's, netted
        #expect(emitted(t.run(asOf: try Instant(rfc3339: "2026-11-04T14:00:00Z"), period: nil)).isEmpty)
    }

    //   As of Nov 2 the timer's window is Aug..Oct; a 60-minute entry for June arrives:
    //   | Jun (late entry) | Jul | Aug | Sep | Oct |
    //   the timer's run names `supportbill run monthly-rollup --period 2026-06 --customer C`, check
    //   lists it; that run bills it (60 min at 1.00/h = 1.00) and both fall silent.
    @Test("a late entry before the window is reported with the command that bills it, and listed by check")
    func lateEntryBeforeWindow() throws {
        let t = try RollupTestDatabase()
        defer { t.close() }
        let c = try t.customer("Contoso", plan: t.plans.postpaid, startsOn: "2026-06-01")
        try t.fixtures.entry(customer: c.customer, ticket: c.ticket, workedAt: "2026-10-10T10:00:00Z", minutes: 30)
        let june = t.run(asOf: try Instant(rfc3339: "2026-07-01T14:00:00Z"), period: nil)
        #expect(june.exitStatus == .success)
        #expect(try t.invoices(customer: c.customer).map(\.total) == [3000])  // June: the setup fee
        let october = t.run(period: nil)
        #expect(october.output.counts["late_entry_months"] == nil)
        #expect(try t.fixtures.count("rollup_entry_changes") == 0)  // October's note consumed

        let late = try t.fixtures.entry(customer: c.customer, ticket: c.ticket, workedAt: "2026-06-15T10:00:00Z", minutes: 60)
        // A correction inside the window is re-rated, not reported: October's entry edited.
        try t.db.execute("UPDATE time_entries SET minutes = 45 WHERE customer_id = $1 AND worked_at = '2026-10-10T10:00:00Z'", [c.customer])
        let command = "supportbill run monthly-rollup --period 2026-06 --customer \(c.customer)"
        let timer = t.run(asOf: try Instant(rfc3339: "2026-11-02T14:00:00Z"), period: nil)
        #expect(timer.exitStatus == .success)
        #expect(timer.output.counts["late_entry_months"] == 1)
        #expect(timer.output.counts["adjustment_invoices"] == 1)  // October: 30 -> 45 min
        #expect(timer.output.notices.contains { $0.contains("time entry of 2026-06 (entry \(late))") && $0.contains(command) })
        let defects = try DataDefectScanner.scan(t.db, asOf: try Instant(rfc3339: "2026-11-02T14:00:00Z"), kinds: [.lateEntryBeforeWindow])
        #expect(defects.map(\.customerID) == [c.customer])
        #expect(defects.first?.entity == "time_entries" && defects.first?.entityID == late)
        #expect(defects.first?.detail.contains(command) == true)
        #expect(defects.first?.jobs == [])
        // Reported again until it is billed.
        #expect(t.run(asOf: try Instant(rfc3339: "2026-11-03T14:00:00Z"), period: nil).output.counts["late_entry_months"] == 1)

        // June was issued (its setup fee): the hour goes on an adjustment invoice for June.
        let billed = t.run(asOf: try Instant(rfc3339: "2026-11-03T15:00:00Z"), period: try YearMonth("2026-06"), customers: [c.customer])
        #expect(billed.exitStatus == .success)
        let adjustment = try #require(try t.invoices(customer: c.customer).last)
        #expect(adjustment.kind == "adjustment" && adjustment.periodStart == d("2026-06-01"))
        #expect(adjustment.total == 100)
        #expect(adjustment.items.first?.minutes == 60)
        #expect(billed.output.counts["late_entry_months"] == nil)
        #expect(try DataDefectScanner.scan(t.db, asOf: try Instant(rfc3339: "2026-11-03T15:00:00Z"), kinds: [.lateEntryBeforeWindow]).isEmpty)
        let after = t.run(asOf: try Instant(rfc3339: "2026-11-04T14:00:00Z"), period: nil)
        #expect(emitted(after).isEmpty)
        #expect(after.output.notices.isEmpty)
    }
}
