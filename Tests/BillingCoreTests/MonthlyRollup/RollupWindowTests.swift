import BillingCore
import Testing

@Suite("monthly-rollup window: closed months per customer, lookback, --period")
struct RollupWindowTests {
    private func ym(_ text: String) -> YearMonth { try! YearMonth(text) }
    private func d(_ text: String) -> LocalDate { try! LocalDate(text) }

    //   lookback_months 3; a month is closed once the local date reaches the 1st of the next:
    //   ... | Jul | Aug | Sep | Oct | Nov 1 (as-of) ...
    //             |--- window ----|
    @Test("without --period: the lookback_months most recent closed months")
    func lookback() {
        let window = RollupWindow.make(period: nil, lookbackMonths: 3, localAsOf: d("2026-11-01"))
        #expect(window.months == [ym("2026-08"), ym("2026-09"), ym("2026-10")])
        #expect(window.range == DateRange(start: d("2026-08-01"), end: d("2026-11-01")))
        #expect(window.notClosed == nil)
    }

    //   2026-11-01T06:00Z is still Oct 31 in Los Angeles: October is open there.
    @Test("closed per customer: October is still open on Oct 31 local time")
    func perCustomer() {
        let la = try! CustomerTimeZone("America/Los_Angeles")
        let asOf = try! Instant(rfc3339: "2026-11-01T06:00:00Z")
        #expect(la.localDate(of: asOf) == d("2026-10-31"))
        let window = RollupWindow.make(period: nil, lookbackMonths: 3, localAsOf: la.localDate(of: asOf))
        #expect(window.months == [ym("2026-07"), ym("2026-08"), ym("2026-09")])
        let period = RollupWindow.make(period: ym("2026-10"), lookbackMonths: 3, localAsOf: la.localDate(of: asOf))
        #expect(period.months.isEmpty)
        #expect(period.notClosed == ym("2026-10"))
    }

    @Test("--period: exactly that month, also one older than the lookback")
    func period() {
        #expect(RollupWindow.make(period: ym("2026-10"), lookbackMonths: 3, localAsOf: d("2026-11-02")).months == [ym("2026-10")])
        #expect(RollupWindow.make(period: ym("2025-01"), lookbackMonths: 3, localAsOf: d("2026-11-02")).months == [ym("2025-01")])
    }

    //   Down from Oct 15 to Feb 1: the catch-up run brings Nov, Dec and Jan up to date, across a year.
    @Test("catch-up after downtime crosses the year")
    func catchUp() {
        let window = RollupWindow.make(period: nil, lookbackMonths: 3, localAsOf: d("2027-02-01"))
        #expect(window.months == [ym("2026-11"), ym("2026-12"), ym("2027-01")])
        #expect(window.contains(ym("2026-12")))
        #expect(!window.contains(ym("2026-10")))
    }
}
