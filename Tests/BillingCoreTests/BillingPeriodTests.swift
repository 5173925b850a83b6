import BillingCore
import Testing

@Suite("Anniversary periods (docs/design.md §3): from the anchor, clamped, never chained")
struct BillingPeriodTests {
    private func d(_ text: String) -> LocalDate { try! LocalDate(text) }
    private func r(_ start: String, _ end: String) -> DateRange { DateRange(start: d(start), end: d(end)) }

    //   BILLmanager's example: 10 incidents a month, ordered for 3 months on April 11.
    //
    //   Apr 11          May 11          Jun 11          Jul 11 (ends_on, exclusive)
    //   |---- k=0 ------|---- k=1 ------|---- k=2 ------|
    //   Apr 11–May 10    May 11–Jun 10   Jun 11–Jul 10
    @Test("the April 11 three-month example")
    func april11() {
        let periods = BillingPeriod.anniversaries(anchor: d("2026-04-11"), months: 1, startingIn: r("2026-01-01", "2027-01-01"), termEnd: d("2026-07-11"))
        #expect(periods.map(\.range) == [r("2026-04-11", "2026-05-11"), r("2026-05-11", "2026-06-11"), r("2026-06-11", "2026-07-11")])
        #expect(periods.map(\.range.description) == ["2026-04-11..2026-05-10", "2026-05-11..2026-06-10", "2026-06-11..2026-07-10"])
        #expect(periods.map(\.index) == [0, 1, 2])
    }

    //   anchor Jan 31, monthly (2026, not a leap year):
    //   Jan 31     Feb 28     Mar 31     Apr 30     May 31
    //   |-- k=0 ---|-- k=1 ---|-- k=2 ---|-- k=3 ---|
    //   chaining would give Feb 28 -> Mar 28 -> Apr 28: wrong.
    @Test("anchor day 31 clamps to each month's end and comes back")
    func anchor31() {
        let starts = (0..<5).map { BillingPeriod.anniversary(anchor: d("2026-01-31"), months: 1, index: $0).range.start }
        #expect(starts == [d("2026-01-31"), d("2026-02-28"), d("2026-03-31"), d("2026-04-30"), d("2026-05-31")])
        #expect(BillingPeriod.anniversary(anchor: d("2026-01-31"), months: 1, index: 0).range == r("2026-01-31", "2026-02-28"))
        #expect(BillingPeriod.anniversary(anchor: d("2026-01-31"), months: 1, index: 1).range == r("2026-02-28", "2026-03-31"))
    }

    //   anchor Jan 31, leap year 2024:
    //   Jan 31     Feb 29     Mar 31
    //   |-- k=0 ---|-- k=1 ---|
    @Test("anchor day 31 in a leap year lands on Feb 29")
    func anchor31Leap() {
        #expect(BillingPeriod.anniversary(anchor: d("2024-01-31"), months: 1, index: 1).range == r("2024-02-29", "2024-03-31"))
    }

    //   anchor Jan 30:  Jan 30 | Feb 28 | Mar 30 | Apr 30 | May 30
    //   anchor Jan 29:  Jan 29 | Feb 28 | Mar 29   (2026)
    //                   Jan 29 | Feb 29 | Mar 29   (2024)
    @Test("anchor days 29 and 30", arguments: [
        ("2026-01-30", ["2026-01-30", "2026-02-28", "2026-03-30", "2026-04-30", "2026-05-30"]),
        ("2026-01-29", ["2026-01-29", "2026-02-28", "2026-03-29", "2026-04-29", "2026-05-29"]),
        ("2024-01-29", ["2024-01-29", "2024-02-29", "2024-03-29", "2024-04-29", "2024-05-29"]),
        ("2026-08-30", ["2026-08-30", "2026-09-30", "2026-10-30", "2026-11-30", "2026-12-30"]),
        ("2026-08-31", ["2026-08-31", "2026-09-30", "2026-10-31", "2026-11-30", "2026-12-31"]),
    ] as [(String, [String])])
    func anchorDays(anchor: String, expectedStarts: [String]) {
        let starts = (0..<5).map { BillingPeriod.anniversary(anchor: d(anchor), months: 1, index: $0).range.start }
        #expect(starts == expectedStarts.map(d))
    }

    //   anchor Feb 29 2024, yearly (12 months):
    //   2024-02-29 | 2025-02-28 | 2026-02-28 | 2027-02-28 | 2028-02-29
    @Test("a Feb 29 anchor clamps in common years and returns in leap years")
    func anchorFeb29() {
        let starts = (0..<5).map { BillingPeriod.anniversary(anchor: d("2024-02-29"), months: 12, index: $0).range.start }
        #expect(starts == [d("2024-02-29"), d("2025-02-28"), d("2026-02-28"), d("2027-02-28"), d("2028-02-29")])
        let monthly = (0..<3).map { BillingPeriod.anniversary(anchor: d("2024-02-29"), months: 1, index: $0).range.start }
        #expect(monthly == [d("2024-02-29"), d("2024-03-29"), d("2024-04-29")])
    }

    //   quarterly from Nov 30:
    //   Nov 30 2026 | Feb 28 2027 | May 30 2027 | Aug 30 2027
    @Test("multi-month periods clamp from the anchor too")
    func quarterly() {
        let ranges = (0..<3).map { BillingPeriod.anniversary(anchor: d("2026-11-30"), months: 3, index: $0).range }
        #expect(ranges == [r("2026-11-30", "2027-02-28"), r("2027-02-28", "2027-05-30"), r("2027-05-30", "2027-08-30")])
    }

    //   monthly from Jan 15; window = October; term open-ended:
    //   ... Sep 15 |  Oct 15  | Nov 15 ...
    //        window [Oct 1 ........ Nov 1)
    //   -> exactly one period starts in October: #9 Oct 15–Nov 14
    @Test("periods starting within a window")
    func window() {
        let periods = BillingPeriod.anniversaries(anchor: d("2026-01-15"), months: 1, startingIn: YearMonth.parsed("2026-10").dateRange)
        #expect(periods.map(\.index) == [9])
        #expect(periods.first?.range == r("2026-10-15", "2026-11-15"))
        // A period starting on the window's first day is in; one on the end is out.
        let edge = BillingPeriod.anniversaries(anchor: d("2026-01-01"), months: 1, startingIn: YearMonth.parsed("2026-10").dateRange)
        #expect(edge.map(\.range.start) == [d("2026-10-01")])
        // Before the anchor, nothing.
        #expect(BillingPeriod.anniversaries(anchor: d("2026-11-05"), months: 1, startingIn: YearMonth.parsed("2026-10").dateRange).isEmpty)
        // Quarterly from Jan 31: starts Jan 31, Apr 30, Jul 31, Oct 31 -> October has one.
        let quarterly = BillingPeriod.anniversaries(anchor: d("2026-01-31"), months: 3, startingIn: YearMonth.parsed("2026-10").dateRange)
        #expect(quarterly.map(\.range) == [r("2026-10-31", "2027-01-31")])
        // Quarterly from Jan 31: nothing starts in November.
        #expect(BillingPeriod.anniversaries(anchor: d("2026-01-31"), months: 3, startingIn: YearMonth.parsed("2026-11").dateRange).isEmpty)
    }

    //   term Apr 11 .. Jun 20 (cancelled): periods start Apr 11 and May 11 and Jun 11; the one
    //   starting Jun 11 starts before ends_on, so it is within the term and billed in full.
    //   |-- Apr 11 --|-- May 11 --|-- Jun 11 ...
    //                                   ^ Jun 20 ends_on
    @Test("a term ending mid-period still includes the period that started within it")
    func termEnd() {
        let periods = BillingPeriod.anniversaries(anchor: d("2026-04-11"), months: 1, startingIn: r("2026-01-01", "2027-01-01"), termEnd: d("2026-06-20"))
        #expect(periods.map(\.range.start) == [d("2026-04-11"), d("2026-05-11"), d("2026-06-11")])
        // ends_on exactly on a period start excludes that period.
        let exact = BillingPeriod.anniversaries(anchor: d("2026-04-11"), months: 1, startingIn: r("2026-01-01", "2027-01-01"), termEnd: d("2026-06-11"))
        #expect(exact.map(\.range.start) == [d("2026-04-11"), d("2026-05-11")])
    }

    @Test("the period containing a date")
    func containing() {
        #expect(BillingPeriod.anniversary(containing: d("2026-05-10"), anchor: d("2026-04-11"), months: 1)?.index == 0)
        #expect(BillingPeriod.anniversary(containing: d("2026-05-11"), anchor: d("2026-04-11"), months: 1)?.index == 1)
        #expect(BillingPeriod.anniversary(containing: d("2026-04-10"), anchor: d("2026-04-11"), months: 1) == nil)
        #expect(BillingPeriod.anniversary(containing: d("2026-03-30"), anchor: d("2026-01-31"), months: 1)?.range == r("2026-02-28", "2026-03-31"))
        #expect(BillingPeriod.anniversary(containing: d("2027-03-01"), anchor: d("2026-11-30"), months: 3)?.range == r("2027-02-28", "2027-05-30"))
    }

    @Test("consecutive periods partition time: each ends where the next starts", arguments: [
        "2026-01-31", "2024-02-29", "2026-01-29", "2026-03-30", "2026-04-11", "2026-12-31",
    ])
    func partition(anchor: String) {
        for months in [1, 2, 3, 6, 12] {
            var previousEnd: LocalDate?
            for index in 0..<60 {
                let period = BillingPeriod.anniversary(anchor: d(anchor), months: months, index: index)
                #expect(!period.range.isEmpty)
                if let previousEnd { #expect(period.range.start == previousEnd) }
                previousEnd = period.range.end
            }
        }
    }
}

extension YearMonth {
    static func parsed(_ text: String) -> YearMonth { try! YearMonth(text) }
}
