import BillingCore
import Testing

/// The cut-over as a plain input of the planners (docs/operations.md "Cut-over"): the rules
/// alone, no database. The job tests (BillingJobsTests/Cutover) show the loaders hand it over.
@Suite("cut-over in the planners: nothing dated before it")
struct CutoverPlannerTests {
    static let usd = try! CurrencyCode("USD")
    private func d(_ text: String) -> LocalDate { try! LocalDate(text) }
    private func ym(_ text: String) -> YearMonth { try! YearMonth(text) }

    //   cut-over Sep 15; quarterly flat fee 450.00 from Jul 20, in advance, plus a monthly
    //   bundle from Sep 1 with a 30.00 setup fee. Window Jul..Oct:
    //   quarterly: Jul 20 (before) · Oct 20 (billed in September, in advance)
    //   monthly:   Sep 1 (before; its setup fee too) · Oct 1 (billed in October)
    //   usage:     August (ends before) dropped; September's minutes are the store's (after Sep 15)
    @Test("monthly-rollup: fee periods and setup fees starting before the cut-over, and months ending before it, bill nothing")
    func monthlyRollup() throws {
        let quarterly = RollupService(id: 1, planID: 1, planCode: "retainer-q", planName: "Retainer", billing: .recurring, periodMonths: 3,
                                      billInAdvance: true, includedMinutes: 0, currency: Self.usd, status: "active", startsOn: d("2026-07-20"),
                                      endsOn: nil, price: RollupPrice(recurringFee: 45000, setupFee: 0, hourlyRate: 0))
        let monthly = RollupService(id: 2, planID: 2, planCode: "hourly", planName: "Hourly", billing: .metered, periodMonths: 1,
                                    billInAdvance: false, includedMinutes: 0, currency: Self.usd, status: "active", startsOn: d("2026-09-01"),
                                    endsOn: nil, price: RollupPrice(recurringFee: 1000, setupFee: 3000, hourlyRate: 6000))
        var input = MonthlyRollupInput(
            customerID: 7, localAsOf: d("2026-11-01"), asOf: try Instant(rfc3339: "2026-11-01T14:00:00Z"),
            window: RollupWindow(months: ["2026-07", "2026-08", "2026-09", "2026-10"].map { ym($0) }), services: [quarterly, monthly],
            usage: [RollupUsage(serviceID: 2, month: ym("2026-08"), minutes: 600), RollupUsage(serviceID: 2, month: ym("2026-09"), minutes: 30)],
            invoices: [], openItems: [], dueDays: 14, issue: true)
        input.cutover = d("2026-09-15")
        guard case .plan(let plan) = MonthlyRollupPlanner.plan(input) else { Issue.record("skipped"); return }
        let lines = plan.invoices.flatMap { invoice in invoice.items.map { "\(invoice.month) \($0.kind) \($0.amount) \($0.periodStart.map(String.init(describing:)) ?? "-")" } }
        #expect(lines == [
            "2026-09 recurring_fee 45000 2026-10-20",
            "2026-09 usage 3000 2026-09-01",
            "2026-10 recurring_fee 1000 2026-10-01",
        ])
        // Without it: the July and September periods, the setup fee and August's usage too.
        input.cutover = nil
        guard case .plan(let all) = MonthlyRollupPlanner.plan(input) else { Issue.record("skipped"); return }
        #expect(all.invoices.flatMap(\.items).count == 7)
    }

    //   Tokyo customer (UTC+9), cut-over Oct 15: 2026-10-14T16:00Z is Oct 15 01:00 local (debited),
    //   2026-10-14T14:00Z is Oct 14 23:00 local (not), though both are Oct 14 in UTC.
    @Test("threshold-topup: the entry's local date decides, not UTC; a debited entry re-dated before the cut-over is given back")
    func thresholdTopup() throws {
        typealias Input = ThresholdTopupInput
        let service = Input.Service(id: 30, customerID: 7, status: .active, endsOn: nil, planCode: "prepaid", planName: "Pre-paid",
                                    isPrepaid: true, incrementMinutes: 15, currency: Currency(code: Self.usd, minorUnits: 2),
                                    price: Input.Price(hourlyRate: 100, topupAmount: 1000, threshold: 0), balance: 5000, topupsIssuedToday: 0)
        func entry(_ worked: String) -> Input.TimeEntry {
            Input.TimeEntry(customerID: 7, ticketID: 900, ticketCustomerID: 7, ticketServiceID: nil, serviceID: 30,
                            workedAt: try! Instant(rfc3339: worked), minutes: 60, billable: true)
        }
        var input = Input(customerID: 7, asOf: try Instant(rfc3339: "2026-10-20T00:00:00Z"), localAsOf: d("2026-10-20"), services: [service],
                          entries: [
                              Input.EntryChange(entryID: 1, queueIDs: [10], entry: entry("2026-10-14T14:00:00Z"), debits: [], ledgerRowsAnyCustomer: 0),
                              Input.EntryChange(entryID: 2, queueIDs: [20], entry: entry("2026-10-14T16:00:00Z"), debits: [], ledgerRowsAnyCustomer: 0),
                              Input.EntryChange(entryID: 3, queueIDs: [30], entry: entry("2026-10-01T09:00:00Z"),
                                                debits: [Input.EntryDebit(serviceID: 30, currency: Self.usd, netMinutes: 60, netAmount: -100, hourlyRate: 100, rows: 1)],
                                                ledgerRowsAnyCustomer: 1),
                          ],
                          invoices: [], rules: ThresholdTopupRules(dueDays: 7, maxTopupsPerDay: 3))
        input.cutover = d("2026-10-15")
        input.timeZone = try CustomerTimeZone("Asia/Tokyo")
        let plan = try ThresholdTopupPlanner.plan(input)
        #expect(plan.ledger.map { "\($0.timeEntryID ?? 0) \($0.reason) \($0.amount)" } == ["2 usage -100", "3 adjustment 100"])
        #expect(plan.corrections.values.sorted() == ["entry re-dated before the cut-over (2026-10-15)"])
        #expect(plan.consumedEntryQueueIDs == [10, 20, 30])
    }
}
