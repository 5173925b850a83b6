import BillingCore
import BillingJobs
import BillingStore
import Foundation
import Postgres
import TestSupport
import Testing

/// Reruns and re-rating end to end: a rerun emits nothing; late or edited entries correct a
/// draft in place or, once the month is issued, add adjustment invoices; issued invoices never change.
@Suite("monthly-rollup on PostgreSQL: reruns and re-rating")
struct MonthlyRollupRerateTests {
    private func d(_ text: String) -> LocalDate { try! LocalDate(text) }

    /// Every invoice's total equals the sum of its items.
    private func balanced(_ t: RollupTestDatabase) throws -> Bool {
        try t.db.query("""
            SELECT count(*) FROM invoices i
             WHERE i.total <> (SELECT COALESCE(sum(amount), 0) FROM billable_items b WHERE b.invoice_id = i.id)
            """).scalar(Int.self) == 0
    }

    @Test("a rerun with unchanged inputs emits nothing and exits 0")
    func rerun() throws {
        let t = try RollupTestDatabase()
        defer { t.close() }
        let c = try t.customer("Northwind", timezone: "America/New_York", plan: t.plans.bundle, startsOn: "2026-08-01")
        try t.fixtures.entry(customer: c.customer, ticket: c.ticket, workedAt: "2026-10-05T12:00:00Z", minutes: 255)
        let flat = try t.customer("Adventure", timezone: "Pacific/Kiritimati", plan: t.plans.flat, startsOn: "2026-07-17")
        try t.fixtures.uninvoicedItem(customer: flat.customer, amount: 2500, month: "2026-10", sourceKey: "ce:per-incident:1")
        // Lookback Aug–Oct: Northwind's fee and usage, Adventure's fee billed in advance each month.
        #expect(t.run(period: nil).output.counts["invoices"] == 6)
        let before = try [c.customer, flat.customer].map { try t.invoices(customer: $0) }
        let items = try t.fixtures.count("billable_items")

        let again = t.run(asOf: RollupTestDatabase.closing.adding(seconds: 3600), period: nil)
        #expect(again.exitStatus == .success)
        #expect(again.output.records.isEmpty)
        #expect(again.output.counts == ["customers": 2])
        #expect(again.output.totals.isEmpty)
        #expect(try [c.customer, flat.customer].map { try t.invoices(customer: $0) } == before)
        #expect(try t.fixtures.count("billable_items") == items)
        let rerunPeriod = t.run(asOf: RollupTestDatabase.closing.adding(seconds: 7200))
        #expect(rerunPeriod.exitStatus == .success)
        #expect(rerunPeriod.output.records.isEmpty)
    }

    //   issue = false: October is drafted at 255 min (335.00). A 45-minute entry arrives late:
    //   the same draft now says 300 min, 3 h beyond 2 h = 180.00, total 380.00. A run with
    //   issue = true then issues it, due 14 days after its local as-of date.
    @Test("with issue = false a late entry corrects the draft in place; issue = true then issues it")
    func draftCorrectedInPlace() throws {
        let t = try RollupTestDatabase()
        defer { t.close() }
        let c = try t.customer("Northwind", plan: t.plans.bundle, startsOn: "2026-08-01")
        try t.fixtures.entry(customer: c.customer, ticket: c.ticket, workedAt: "2026-10-05T12:00:00Z", minutes: 255)
        let first = t.run(issue: false)
        #expect(first.exitStatus == .success)
        let draft = try #require(try t.invoices(customer: c.customer).first)
        #expect(draft.status == "draft")
        #expect(draft.dueOn == nil)
        #expect(draft.issuedAt == nil)
        #expect(draft.total == 33500)

        try t.fixtures.entry(customer: c.customer, ticket: c.ticket, workedAt: "2026-10-30T12:00:00Z", minutes: 45)
        let corrected = t.run(issue: false)
        #expect(corrected.output.counts["drafts_corrected"] == 1)
        #expect(corrected.output.counts["items_corrected"] == 1)
        #expect(corrected.output.totals[try CurrencyCode("USD")]?["draft_changes"] == 4500)
        let after = try t.invoices(customer: c.customer)
        #expect(after.count == 1)
        #expect(after[0].id == draft.id)
        #expect(after[0].total == 38000)
        let usage = try #require(after[0].items.first { $0.kind == "usage" })
        #expect(usage.id == draft.items.first { $0.kind == "usage" }?.id)
        #expect(usage.minutes == 300)
        #expect(usage.amount == 18000)
        #expect(t.run(issue: false).output.records.isEmpty)

        let issued = t.run(asOf: try Instant(rfc3339: "2026-11-03T09:00:00Z"))
        #expect(issued.output.counts["issued"] == 1)
        let final = try t.invoices(customer: c.customer)
        #expect(final.map(\.id) == [draft.id])
        #expect(final[0].status == "issued")
        #expect(final[0].dueOn == d("2026-11-17"))
        #expect(final[0].total == 38000)
        #expect(try balanced(t))
    }

    //   October issued: 255 min, 335.00. A late 45-minute entry: 300 min = 180.00 beyond the
    //   included hours, 135.00 billed -> adjustment invoice #1: +45.00 (45 min, 0.75 h).
    //   Then the late entry is corrected to 15 minutes and another is withdrawn (not billable):
    //   255 - 60 + 15 = 210 min -> 90 min beyond = 90.00; billed 180.00 -> credit note #2: -90.00.
    @Test("an issued month gets an adjustment invoice for a late entry and a credit note for an edit; issued invoices never change")
    func adjustments() throws {
        let t = try RollupTestDatabase()
        defer { t.close() }
        let c = try t.customer("Northwind", plan: t.plans.bundle, startsOn: "2026-08-01")
        let withdrawn = try t.fixtures.entry(customer: c.customer, ticket: c.ticket, workedAt: "2026-10-05T12:00:00Z", minutes: 60)
        try t.fixtures.entry(customer: c.customer, ticket: c.ticket, workedAt: "2026-10-06T12:00:00Z", minutes: 195)
        #expect(t.run().exitStatus == .success)
        let period = try #require(try t.invoices(customer: c.customer).first)
        #expect(period.total == 33500)

        let late = try t.fixtures.entry(customer: c.customer, ticket: c.ticket, workedAt: "2026-10-31T23:00:00Z", minutes: 45)
        let charge = t.run(asOf: try Instant(rfc3339: "2026-11-05T14:00:00Z"))
        #expect(charge.exitStatus == .success)
        #expect(charge.output.counts["adjustment_invoices"] == 1)
        #expect(charge.output.totals[try CurrencyCode("USD")]?["adjusted"] == 4500)
        var invoices = try t.invoices(customer: c.customer)
        #expect(invoices.count == 2)
        #expect(invoices[0] == period)
        let adjustment = invoices[1]
        #expect(adjustment.kind == "adjustment")
        #expect(adjustment.sourceKey == "mr:adjustment:\(c.customer):USD:2026-10:1")
        #expect(adjustment.periodStart == d("2026-10-01"))
        #expect(adjustment.status == "issued")
        #expect(adjustment.dueOn == d("2026-11-19"))
        #expect(adjustment.total == 4500)
        let item = try #require(adjustment.items.first)
        #expect(adjustment.items.count == 1)
        #expect(item.kind == "adjustment")
        #expect(item.serviceID == c.service)
        #expect(item.periodStart == d("2026-10-01") && item.periodEnd == d("2026-11-01"))
        #expect(item.minutes == 45)
        #expect(item.quantity == ExactDecimal(units: 75, scale: 2))
        #expect(item.unitPrice == 6000)
        #expect(item.amount == 4500)
        #expect(t.run(asOf: try Instant(rfc3339: "2026-11-05T15:00:00Z")).output.records.isEmpty)

        try t.db.execute("UPDATE time_entries SET minutes = 15 WHERE id = $1", [late])
        try t.db.execute("UPDATE time_entries SET billable = false WHERE id = $1", [withdrawn])
        let credit = t.run(asOf: try Instant(rfc3339: "2026-11-20T14:00:00Z"))
        #expect(credit.exitStatus == .success)
        invoices = try t.invoices(customer: c.customer)
        #expect(invoices.count == 3)
        #expect(invoices[0] == period)
        #expect(invoices[1] == adjustment)
        #expect(invoices[2].sourceKey == "mr:adjustment:\(c.customer):USD:2026-10:2")
        #expect(invoices[2].total == -9000)
        #expect(invoices[2].items.first?.minutes == -90)
        #expect(invoices[2].items.first?.quantity == ExactDecimal(units: -15, scale: 1))
        #expect(t.run(asOf: try Instant(rfc3339: "2026-11-20T15:00:00Z")).output.records.isEmpty)
        // Both name the period invoice they correct; the credit note is numbered in its own counter.
        let documents = try t.db.query("""
            SELECT number, corrects_invoice_id FROM invoices WHERE customer_id = $1 ORDER BY id
            """, [c.customer]).map { (try $0.decode(0, as: String.self), try $0.decode(1, as: Int64?.self)) }
        #expect(documents.map(\.0) == ["INV-000001", "INV-000002", "CN-000001"])
        #expect(documents.map(\.1) == [nil, period.id, period.id])
        #expect(try balanced(t))

        // The issued invoice itself refuses any change (triggers): corrections are new rows only.
        #expect(throws: PostgresError.self) { try t.db.execute("UPDATE invoices SET total = 1 WHERE id = $1", [period.id]) }
    }

    //   October issued: 255 min with 2 h included at 60.00/h. The catalogue is then edited:
    //   1 h included, 70.00/h. The rerun changes nothing; a late 45-minute entry is re-rated
    //   with October's terms: 300 min -> 180 min beyond 2 h at 60.00 = 180.00 - 135.00 = +45.00.
    @Test("catalogue edits after a month was issued do not re-rate it; late entries use its terms")
    func catalogueEdits() throws {
        let t = try RollupTestDatabase()
        defer { t.close() }
        let c = try t.customer("Northwind", plan: t.plans.bundle, startsOn: "2026-08-01")
        try t.fixtures.entry(customer: c.customer, ticket: c.ticket, workedAt: "2026-10-05T12:00:00Z", minutes: 255)
        #expect(t.run().exitStatus == .success)
        try t.db.execute("UPDATE plans SET included_minutes = 60 WHERE id = $1", [t.plans.bundle])
        try t.db.execute("UPDATE plan_prices SET hourly_rate = 7000, recurring_fee = 25000 WHERE plan_id = $1", [t.plans.bundle])
        #expect(t.run(asOf: try Instant(rfc3339: "2026-11-02T10:00:00Z")).output.records.isEmpty)
        try t.fixtures.entry(customer: c.customer, ticket: c.ticket, workedAt: "2026-10-30T12:00:00Z", minutes: 45)
        #expect(t.run(asOf: try Instant(rfc3339: "2026-11-03T10:00:00Z")).exitStatus == .success)
        let invoices = try t.invoices(customer: c.customer)
        #expect(invoices.map(\.total) == [33500, 4500])
        #expect(try t.fixtures.count("billable_items", where: "kind = 'adjustment' AND included_minutes = 120 AND unit_price = 6000") == 1)
    }

    //   October issued with the bundle's 15-minute increment: entries of 50 + 65 + 140 minutes
    //   round up to 60 + 75 + 150 = 285 min (165 beyond 2 h at 60.00 = 165.00). The plan then
    //   bills by the minute. The rerun of October changes nothing (it keeps its 15 minutes); a late
    //   7-minute entry in October is rounded to 15 as well (+15 min = +15.00); November's 50 + 7
    //   minutes bill by the minute: 57 min, all within the 2 h included, 0.00.
    @Test("an increment edited after a month was issued does not re-round it; later months use the new increment")
    func incrementEdit() throws {
        let t = try RollupTestDatabase()
        defer { t.close() }
        let c = try t.customer("Contoso", plan: t.plans.bundle, startsOn: "2026-10-01")
        for (day, minutes) in [("05", 50), ("06", 65), ("07", 140)] {
            try t.fixtures.entry(customer: c.customer, ticket: c.ticket, workedAt: "2026-10-\(day)T12:00:00Z", minutes: minutes)
        }
        #expect(t.run().exitStatus == .success)
        let usage = try #require(try t.invoices(customer: c.customer).first?.items.first { $0.kind == "usage" })
        #expect(usage.minutes == 285)
        #expect(usage.amount == 16500)
        #expect(try t.db.query("SELECT increment_minutes FROM billable_items WHERE id = $1", [usage.id]).scalar(Int64.self) == 15)

        try t.db.execute("UPDATE plans SET increment_minutes = 1 WHERE id = $1", [t.plans.bundle])
        #expect(t.run(asOf: try Instant(rfc3339: "2026-11-02T10:00:00Z")).output.records.isEmpty)

        try t.fixtures.entry(customer: c.customer, ticket: c.ticket, workedAt: "2026-10-30T12:00:00Z", minutes: 7)
        #expect(t.run(asOf: try Instant(rfc3339: "2026-11-03T10:00:00Z")).exitStatus == .success)
        let afterLate = try t.invoices(customer: c.customer)
        #expect(afterLate.map(\.kind) == ["period", "adjustment"])
        #expect(afterLate[1].total == 1500)
        #expect(afterLate[1].items.first?.minutes == 15)
        #expect(try t.fixtures.count("billable_items", where: "kind = 'adjustment' AND increment_minutes = 15") == 1)

        try t.fixtures.entry(customer: c.customer, ticket: c.ticket, workedAt: "2026-11-05T12:00:00Z", minutes: 50)
        try t.fixtures.entry(customer: c.customer, ticket: c.ticket, workedAt: "2026-11-06T12:00:00Z", minutes: 7)
        #expect(t.run(asOf: try Instant(rfc3339: "2026-12-01T14:00:00Z"), period: try YearMonth("2026-11")).exitStatus == .success)
        let november = try #require(try t.invoices(customer: c.customer).first { $0.kind == "period" && $0.items.contains { $0.kind == "usage" && $0.minutes == 57 } })
        #expect(november.items.first { $0.kind == "usage" }?.amount == 0)
        #expect(try t.fixtures.count("billable_items", where: "kind = 'usage' AND minutes = 57 AND increment_minutes = 1") == 1)
    }

    //   Billed in advance in October: Nov 17–Dec 16 (49.00). The service is then cancelled as of
    //   Nov 1: that period no longer starts within the term -> credit note of -49.00 for October.
    @Test("a backdated cancellation credits a fee period billed in advance")
    func backdatedCancellation() throws {
        let t = try RollupTestDatabase()
        defer { t.close() }
        let c = try t.customer("Adventure", plan: t.plans.flat, startsOn: "2026-07-17")
        #expect(t.run().exitStatus == .success)
        try t.db.execute("UPDATE services SET status = 'cancelled', ends_on = '2026-11-01' WHERE id = $1", [c.service])
        let report = t.run(asOf: try Instant(rfc3339: "2026-11-02T10:00:00Z"))
        #expect(report.exitStatus == .success)
        let invoices = try t.invoices(customer: c.customer)
        #expect(invoices.map(\.kind) == ["period", "adjustment"])
        #expect(invoices.map(\.total) == [4900, -4900])
        #expect(invoices[1].items.first?.quantity == ExactDecimal(-1))
        #expect(invoices[1].items.first?.serviceID == c.service)
        // (The fixtures name plans by their code.)
        #expect(report.output.records[.invoices]?.first?.fields["items"]?.arrayValue?.first?["description"]
                == "Credit: priority-flat, 2026-11-17..2026-12-16 (in advance) (no longer due)")
    }

    @Test("an item another job emits after the month was issued goes on an adjustment invoice")
    func lateOpenItem() throws {
        let t = try RollupTestDatabase()
        defer { t.close() }
        let c = try t.customer("Litware", plan: t.plans.flat, startsOn: "2026-09-05")
        #expect(t.run().exitStatus == .success)
        let item = try t.fixtures.uninvoicedItem(customer: c.customer, amount: 2500, month: "2026-10", sourceKey: "ce:per-incident:9")
        #expect(t.run(asOf: try Instant(rfc3339: "2026-11-02T10:00:00Z")).exitStatus == .success)
        let invoices = try t.invoices(customer: c.customer)
        #expect(invoices.map(\.kind) == ["period", "adjustment"])
        #expect(invoices[1].total == 2500)
        #expect(invoices[1].items.map(\.id) == [item])
        #expect(invoices[1].items.map(\.kind) == ["per_incident"])
    }

    @Test("a draft whose total becomes 0 is removed; other jobs' items on it become uninvoiced again")
    func draftRemoved() throws {
        let t = try RollupTestDatabase()
        defer { t.close() }
        let c = try t.customer("Contoso", plan: t.plans.postpaid, startsOn: "2026-01-05")
        let entry = try t.fixtures.entry(customer: c.customer, ticket: c.ticket, workedAt: "2026-10-05T12:00:00Z", minutes: 90)
        let zero = try t.fixtures.uninvoicedItem(customer: c.customer, amount: 0, month: "2026-10", sourceKey: "ce:per-incident:free")
        #expect(t.run(issue: false).exitStatus == .success)
        #expect(try t.invoices(customer: c.customer).first?.total == 150)
        try t.db.execute("UPDATE time_entries SET billable = false WHERE id = $1", [entry])
        let report = t.run(issue: false)
        #expect(report.output.counts["drafts_removed"] == 1)
        #expect(report.output.notices.contains { $0.contains("was removed: its total is now 0") })
        #expect(try t.invoices(customer: c.customer).isEmpty)
        #expect(try t.fixtures.count("billable_items", where: "id = $1 AND invoice_id IS NULL", [zero]) == 1)
        #expect(try t.fixtures.count("billable_items", where: "rollup_line IS NOT NULL") == 0)
    }
}
