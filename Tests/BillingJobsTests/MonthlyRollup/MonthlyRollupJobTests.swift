import BillingCore
import BillingJobs
import BillingStore
import Foundation
import Postgres
import TestSupport
import Testing

/// monthly-rollup end to end on a real database: every rule of issue 3 with its numbers.
@Suite("monthly-rollup on PostgreSQL: fees, usage, local months, invoices")
struct MonthlyRollupJobTests {
    private func d(_ text: String) -> LocalDate { try! LocalDate(text) }

    //   Northwind (New York), the 2 h bundle since Aug 1. October's entries: 60 + 45 + 90 + 50
    //   (-> 60) = 255 min = 4.25 h, and 20 min not billable. 2.25 h beyond 2 h at 60.00 = 135.00.
    //   Contoso (Berlin), post-paid from Oct 3: 30 + 20 (-> 30) + 65 (-> 75) = 135 min = 2.25 h
    //   at 1.00/h = 2.25, plus the 30.00 one-time fee.
    @Test("the seed cases: 135.00 + 200.00 for the bundle, 2.25 + 30.00 post-paid, issued and due in 14 days")
    func seedCases() throws {
        let t = try RollupTestDatabase()
        defer { t.close() }
        let northwind = try t.customer("Northwind", timezone: "America/New_York", plan: t.plans.bundle, startsOn: "2026-08-01")
        for (at, minutes) in [("2026-10-02 10:00", 60), ("2026-10-03 14:00", 45), ("2026-10-05 11:15", 90), ("2026-10-18 09:00", 50)] {
            try t.fixtures.entry(customer: northwind.customer, ticket: northwind.ticket, workedAt: at + " America/New_York", minutes: minutes)
        }
        try t.fixtures.entry(customer: northwind.customer, ticket: northwind.ticket, workedAt: "2026-10-18 10:00 America/New_York", minutes: 20, billable: false)
        let contoso = try t.customer("Contoso", timezone: "Europe/Berlin", plan: t.plans.postpaid, startsOn: "2026-10-03")
        for (at, minutes) in [("2026-10-06 10:30", 30), ("2026-10-06 11:30", 20), ("2026-10-20 09:30", 65)] {
            try t.fixtures.entry(customer: contoso.customer, ticket: contoso.ticket, workedAt: at + " Europe/Berlin", minutes: minutes)
        }

        let report = t.run()
        #expect(report.exitStatus == .success, "\(report.error ?? "") \(report.output.skipped)")
        #expect(report.output.counts["invoices"] == 2)
        #expect(report.output.counts["items"] == 4)
        #expect(report.output.totals[try CurrencyCode("USD")]?["invoiced"] == 36725)

        let bundle = try #require(try t.invoices(customer: northwind.customer).first)
        #expect(try t.invoices(customer: northwind.customer).count == 1)
        #expect(bundle.kind == "period")
        #expect(bundle.periodStart == d("2026-10-01"))
        #expect(bundle.status == "issued")
        #expect(bundle.total == 33500)
        #expect(bundle.issuedAt == RollupTestDatabase.closing)
        #expect(bundle.dueOn == d("2026-11-15"))
        #expect(bundle.sourceKey == "mr:period:\(northwind.customer):USD:2026-10")
        let usage = try #require(bundle.items.first { $0.kind == "usage" })
        #expect(usage.minutes == 255)
        #expect(usage.quantity == ExactDecimal(units: 225, scale: 2))
        #expect(usage.unitPrice == 6000)
        #expect(usage.amount == 13500)
        #expect(usage.serviceID == northwind.service)
        #expect(usage.periodStart == d("2026-10-01") && usage.periodEnd == d("2026-11-01"))
        #expect(bundle.items.first { $0.kind == "recurring_fee" }?.amount == 20000)

        let postpaid = try #require(try t.invoices(customer: contoso.customer).first)
        #expect(postpaid.total == 3225)
        #expect(postpaid.items.map(\.kind) == ["setup_fee", "usage"])
        #expect(postpaid.items.map(\.amount) == [3000, 225])
        #expect(postpaid.items.last?.minutes == 135)

        // The report rows carry the schema's columns.
        let invoice = try #require(report.output.records[.invoices]?.first { $0.customerID == northwind.customer })
        #expect(invoice.fields["total"] == 33500)
        #expect(invoice.fields["due_on"] == "2026-11-15")
        #expect(invoice.fields["items"]?.arrayValue?.first { $0["kind"] == "usage" }?["quantity"] == .decimal("2.25"))
        #expect(invoice.sortKey == "mr:period:\(northwind.customer):USD:2026-10")
    }

    //   Entries of a Los Angeles customer (post-paid, 1.00/h), around the DST change of Nov 1:
    //   2026-10-01T06:59Z = Sep 30 23:59 PDT          60 min  September
    //   Oct 31 23:30 PDT  = 2026-11-01T06:30Z          45 min  October (already November in UTC)
    //   Nov 1 00:10 PDT   = 2026-11-01T07:10Z          30 min  November
    //   Nov 1 01:30 PST   = 2026-11-01T09:30Z          15 min  November (after the clocks went back)
    //   Nov 30 23:30 PST  = 2026-12-01T07:30Z          15 min  November
    @Test("each entry belongs to the customer's local month, across the DST change")
    func localMonths() throws {
        let t = try RollupTestDatabase()
        defer { t.close() }
        let wingtip = try t.customer("Wingtip", timezone: "America/Los_Angeles", plan: t.plans.postpaid, startsOn: "2026-01-01")
        for (at, minutes) in [("2026-10-01T06:59:00Z", 60), ("2026-11-01T06:30:00Z", 45), ("2026-11-01T07:10:00Z", 30),
                              ("2026-11-01T09:30:00Z", 15), ("2026-12-01T07:30:00Z", 15)] {
            try t.fixtures.entry(customer: wingtip.customer, ticket: wingtip.ticket, workedAt: at, minutes: minutes)
        }
        // 2026-12-01T06:00Z is still Nov 30 in Los Angeles: November is open there, not billed.
        let early = t.run(asOf: try Instant(rfc3339: "2026-12-01T06:00:00Z"), period: try YearMonth("2026-11"))
        #expect(early.exitStatus == .success)
        #expect(early.output.counts["not_closed"] == 1)
        #expect(early.output.notices.first?.contains("2026-11 has not closed yet") == true)
        #expect(try t.invoices(customer: wingtip.customer).isEmpty)

        let report = t.run(asOf: try Instant(rfc3339: "2026-12-01T14:00:00Z"), period: nil)
        #expect(report.exitStatus == .success)
        let invoices = try t.invoices(customer: wingtip.customer)
        #expect(invoices.map(\.periodStart) == [d("2026-09-01"), d("2026-10-01"), d("2026-11-01")])
        #expect(invoices.map { $0.items.first?.minutes } == [60, 45, 60])
        #expect(invoices.map(\.total) == [100, 75, 100])
    }

    //   Sakura (Tokyo), the bundle in yen: 120 + 75 = 195 min, 75 min beyond 2 h at 9000 JPY/h.
    @Test("JPY: 30000 + 11250 = 41250 JPY")
    func yen() throws {
        let t = try RollupTestDatabase()
        defer { t.close() }
        let sakura = try t.customer("Sakura", currency: "JPY", timezone: "Asia/Tokyo", plan: t.plans.bundle, startsOn: "2026-06-02")
        try t.fixtures.entry(customer: sakura.customer, ticket: sakura.ticket, workedAt: "2026-10-08 10:30 Asia/Tokyo", minutes: 120)
        try t.fixtures.entry(customer: sakura.customer, ticket: sakura.ticket, workedAt: "2026-10-10 14:00 Asia/Tokyo", minutes: 75)
        let report = t.run()
        #expect(report.exitStatus == .success)
        let invoice = try #require(try t.invoices(customer: sakura.customer).first)
        #expect(invoice.total == 41250)
        #expect(invoice.items.first { $0.kind == "usage" }?.amount == 11250)
        #expect(invoice.items.first { $0.kind == "recurring_fee" }?.periodStart == d("2026-10-02"))
        #expect(report.output.totals[try CurrencyCode("JPY")]?["invoiced"] == 41250)
    }

    //   Entries of 1, 7, 14, 15, 16, 29, 31, 59 and 61 minutes, rounded up per entry in SQL, must
    //   sum to what MoneyMath.roundUp gives, for increments 15, 6 and 1.
    @Test("PostgreSQL rounds each entry up exactly as MoneyMath.roundUp", arguments: [15, 6, 1])
    func roundingParity(increment: Int) throws {
        let t = try RollupTestDatabase()
        defer { t.close() }
        let plan = try t.fixtures.plan("exact-\(increment)", billing: "metered", incrementMinutes: increment)
        try t.fixtures.price(plan: plan, hourlyRate: 6000)
        let c = try t.customer("Parity", plan: plan, startsOn: "2026-01-01")
        let minutes: [Int64] = [1, 7, 14, 15, 16, 29, 31, 59, 61]
        for (index, m) in minutes.enumerated() {
            try t.fixtures.entry(customer: c.customer, ticket: c.ticket, workedAt: "2026-10-\(10 + index)T12:00:00Z", minutes: Int(m))
        }
        #expect(t.run().exitStatus == .success)
        let expected = try minutes.reduce(0) { $0 + (try MoneyMath.roundUp(minutes: $1, toIncrement: Int64(increment))) }
        let usage = try #require(try t.invoices(customer: c.customer).first?.items.first)
        #expect(usage.minutes == Int(expected))
        #expect(usage.amount == (try MoneyMath.amount(minutes: expected, ratePerHour: 6000)))
    }

    @Test("one period invoice per (customer, currency, month); no invoice when the total is 0")
    func invoicesPerCurrency() throws {
        let t = try RollupTestDatabase()
        defer { t.close() }
        try t.fixtures.price(plan: t.plans.flat, currency: "EUR", recurringFee: 4500)
        let both = try t.customer("Both", plan: t.plans.bundle, startsOn: "2026-08-01")
        try t.fixtures.service(customer: both.customer, plan: t.plans.flat, startsOn: "2026-09-05")
        try t.fixtures.service(customer: both.customer, plan: t.plans.flat, currency: "EUR", startsOn: "2026-09-05")
        let idle = try t.customer("Idle", plan: t.plans.postpaid, startsOn: "2026-01-01")
        _ = try t.customer("Pending", plan: t.plans.flat, startsOn: "2026-09-05", status: "pending")

        let report = t.run()
        #expect(report.exitStatus == .success)
        let invoices = try t.invoices(customer: both.customer)
        #expect(invoices.map(\.sourceKey).sorted() == ["mr:period:\(both.customer):EUR:2026-10", "mr:period:\(both.customer):USD:2026-10"])
        #expect(invoices.first { $0.sourceKey.contains("USD") }?.total == 24900)
        #expect(invoices.first { $0.sourceKey.contains("USD") }?.items.count == 2)
        #expect(invoices.first { $0.sourceKey.contains("EUR") }?.total == 4500)
        #expect(try t.invoices(customer: idle.customer).isEmpty)
        #expect(try t.fixtures.count("invoices") == 2)
    }

    //   Adventure Works (Kiritimati, UTC+14), flat priority support in advance from Jul 17:
    //   October's invoice holds Nov 17–Dec 16. As of Nov 1 14:00Z it is Nov 2 there: due Nov 16.
    //   A quarterly retainer from Aug 3 that ended on Nov 10 (cancelled) pays for Nov 3–Feb 2.
    @Test("recurring fees: in advance, anniversary periods, cancelled services, due on the local date + due_days")
    func fees() throws {
        let t = try RollupTestDatabase()
        defer { t.close() }
        let adventure = try t.customer("Adventure", timezone: "Pacific/Kiritimati", plan: t.plans.flat, startsOn: "2026-07-17")
        let retainer = try t.customer("Retainer", plan: t.plans.retainer, startsOn: "2026-08-03", endsOn: "2026-11-10", status: "cancelled")
        #expect(t.run().exitStatus == .success)
        let october = try #require(try t.invoices(customer: adventure.customer).first)
        #expect(october.total == 4900)
        #expect(october.dueOn == d("2026-11-16"))
        #expect(october.items.first?.periodStart == d("2026-11-17"))
        #expect(october.items.first?.periodEnd == d("2026-12-17"))
        #expect(try t.invoices(customer: retainer.customer).isEmpty)  // no period starts in October

        #expect(t.run(asOf: try Instant(rfc3339: "2026-12-01T14:00:00Z"), period: try YearMonth("2026-11")).exitStatus == .success)
        #expect(try t.invoices(customer: retainer.customer).map(\.total) == [45000])
        #expect(try t.invoices(customer: retainer.customer).first?.items.first?.periodStart == d("2026-11-03"))
        #expect(t.run(asOf: try Instant(rfc3339: "2027-03-01T14:00:00Z"), period: try YearMonth("2027-02")).exitStatus == .success)
        #expect(try t.invoices(customer: retainer.customer).count == 1)  // Feb 3 is after the term
    }

    @Test("other jobs' uninvoiced items of the month are attached to its period invoice")
    func openItems() throws {
        let t = try RollupTestDatabase()
        defer { t.close() }
        let litware = try t.customer("Litware", plan: t.plans.flat, startsOn: "2026-09-05")
        let item = try t.fixtures.uninvoicedItem(customer: litware.customer, amount: 2500, month: "2026-10", sourceKey: "ce:per-incident:13")
        let onlyItems = try t.fixtures.customer("Only incidents")
        try t.fixtures.uninvoicedItem(customer: onlyItems, amount: 2500, month: "2026-10", sourceKey: "ce:per-incident:14")
        let report = t.run()
        #expect(report.exitStatus == .success)
        let invoice = try #require(try t.invoices(customer: litware.customer).first)
        #expect(invoice.total == 7400)
        #expect(invoice.items.first { $0.id == item }?.kind == "per_incident")
        #expect(report.output.counts["items_attached"] == 2)
        #expect(try t.invoices(customer: onlyItems).first?.total == 2500)
        #expect(try t.fixtures.count("billable_items", where: "invoice_id IS NULL") == 0)
    }

    //   Down from October until February: the run of Feb 1 (no --period) bills November,
    //   December and January (lookback 3); October is outside the window.
    @Test("without --period every closed month within lookback_months is brought up to date")
    func catchUp() throws {
        let t = try RollupTestDatabase()
        defer { t.close() }
        let c = try t.customer("Northwind", timezone: "America/New_York", plan: t.plans.bundle, startsOn: "2026-06-01")
        for (at, minutes) in [("2026-10-15T15:00:00Z", 150), ("2026-11-10T15:00:00Z", 180), ("2026-12-10T15:00:00Z", 60), ("2027-01-20T15:00:00Z", 135)] {
            try t.fixtures.entry(customer: c.customer, ticket: c.ticket, workedAt: at, minutes: minutes)
        }
        let report = t.run(asOf: try Instant(rfc3339: "2027-02-01T14:00:00Z"), period: nil)
        #expect(report.exitStatus == .success)
        let invoices = try t.invoices(customer: c.customer)
        #expect(invoices.map(\.periodStart) == [d("2026-11-01"), d("2026-12-01"), d("2027-01-01")])
        // 180 -> 60 min beyond 2 h; 60 -> none; 135 -> 15 min.
        #expect(invoices.map(\.total) == [26000, 20000, 21500])
        #expect(t.run(asOf: try Instant(rfc3339: "2027-02-01T15:00:00Z"), period: nil).output.records[.invoices] == nil)
    }

    @Test("--customer limits a run to those customers")
    func customerFilter() throws {
        let t = try RollupTestDatabase()
        defer { t.close() }
        let first = try t.customer("First", plan: t.plans.flat, startsOn: "2026-09-05")
        let second = try t.customer("Second", plan: t.plans.flat, startsOn: "2026-09-05")
        let report = t.run(customers: [second.customer])
        #expect(report.exitStatus == .success)
        #expect(report.output.counts["customers"] == 1)
        #expect(try t.invoices(customer: first.customer).isEmpty)
        #expect(try t.invoices(customer: second.customer).count == 1)
    }

    @Test("a dry run leaves no rows and reports exactly what the real run then emits")
    func dryRun() throws {
        let t = try RollupTestDatabase()
        defer { t.close() }
        let c = try t.customer("Northwind", plan: t.plans.bundle, startsOn: "2026-08-01")
        try t.fixtures.entry(customer: c.customer, ticket: c.ticket, workedAt: "2026-10-05T12:00:00Z", minutes: 255)
        let other = try t.customer("Litware", plan: t.plans.flat, startsOn: "2026-09-05")
        try t.fixtures.uninvoicedItem(customer: other.customer, amount: 2500, month: "2026-10", sourceKey: "ce:per-incident:1")
        let missing = try t.customer("Blue Yonder", currency: "EUR", plan: t.plans.retainer, startsOn: "2026-05-03")

        let dry = t.run(dryRun: true, batchSize: 2)
        #expect(dry.dryRun)
        #expect(dry.exitStatus == .dataError)
        #expect(try t.fixtures.count("invoices") == 0)
        #expect(try t.fixtures.count("billable_items", where: "invoice_id IS NOT NULL") == 0)
        #expect(try t.fixtures.count("job_runs", where: "job = 'monthly-rollup'") == 0)

        let real = t.run(batchSize: 2)
        #expect(real.exitStatus == .dataError)
        #expect(real.output.skipped.map(\.customerID) == [missing.customer])
        #expect(DryRun.comparable(dry) == DryRun.comparable(real))
        #expect(real.output.counts["invoices"] == 2)
        #expect(try t.fixtures.count("invoices") == 2)
        // The dry run showed the numbers the real run then gave (docs/invoices.md), and left the
        // counter where it was.
        func numbers(_ report: JobReport) -> [String] {
            report.json["invoices"]?.arrayValue?.compactMap { $0["number"]?.stringValue } ?? []
        }
        #expect(Set(numbers(dry)) == ["INV-000001", "INV-000002"])
        #expect(numbers(dry) == numbers(real))
        #expect(try t.db.query("SELECT number FROM invoices ORDER BY number").map { try $0.decode(0, as: String.self) } == ["INV-000001", "INV-000002"])
    }

    //   Blue Yonder: a EUR retainer whose plan has no EUR price. A customer whose time entry sits
    //   on another customer's ticket. Both are skipped with the reason; Northwind is billed.
    @Test("a customer with invalid data is skipped with the reason, the others are billed (exit 65)")
    func invalidData() throws {
        let t = try RollupTestDatabase()
        defer { t.close() }
        let northwind = try t.customer("Northwind", plan: t.plans.bundle, startsOn: "2026-08-01")
        let blue = try t.customer("Blue Yonder", currency: "EUR", timezone: "Europe/Paris", plan: t.plans.retainer, startsOn: "2026-05-03")
        let mixed = try t.customer("Mixed", plan: t.plans.bundle, startsOn: "2026-08-01")
        let entry = try t.fixtures.entry(customer: mixed.customer, ticket: northwind.ticket, service: mixed.service, workedAt: "2026-10-05T12:00:00Z", minutes: 30)

        let report = t.run(batchSize: 10)
        #expect(report.exitStatus == .dataError)
        #expect(report.status == .partial)
        let reasons = Dictionary(uniqueKeysWithValues: report.output.skipped.map { ($0.customerID, $0.reason) })
        #expect(reasons[blue.customer] == "service \(blue.service) (plan retainer-q) has no price in EUR: add a plan_prices row for plan \(t.plans.retainer) in EUR, then re-run")
        #expect(reasons[mixed.customer] == "time entry \(entry) is on ticket \(northwind.ticket), which is not a ticket of customer \(mixed.customer) (missing, or another customer's): correct the entry or the ticket, then re-run")
        #expect(try t.invoices(customer: blue.customer).isEmpty)
        #expect(try t.invoices(customer: mixed.customer).isEmpty)
        #expect(try t.invoices(customer: northwind.customer).first?.total == 20000)
        let run = try #require(try JobRunStore.recent(t.db).first)
        #expect(run.status == "partial")
        #expect(run.stats["skipped"]?.arrayValue?.count == 2)
    }

    @Test("batches of one customer bill exactly what one batch bills")
    func batchSizes() throws {
        var results: [[Int64]] = []
        for size in [1, 500] {
            let t = try RollupTestDatabase()
            defer { t.close() }
            var ids: [Int64] = []
            for (index, minutes) in [255, 135, 0, 600].enumerated() {
                let c = try t.customer("C\(index)", plan: index % 2 == 0 ? t.plans.bundle : t.plans.postpaid, startsOn: "2026-08-01")
                if minutes > 0 { try t.fixtures.entry(customer: c.customer, ticket: c.ticket, workedAt: "2026-10-05T12:00:00Z", minutes: minutes) }
                ids.append(c.customer)
            }
            #expect(t.run(batchSize: size).exitStatus == .success)
            results.append(try ids.map { try t.invoices(customer: $0).first?.total ?? 0 })
        }
        #expect(results[0] == [33500, 225, 20000, 1000])
        #expect(results[0] == results[1])
    }
}
