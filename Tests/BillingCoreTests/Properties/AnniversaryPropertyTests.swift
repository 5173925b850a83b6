import BillingCore
import Testing

/// Anniversary periods (docs/design.md §3) over random anchors, lengths and terms.
@Suite("property: anniversary periods partition a term")
struct AnniversaryPropertyTests {
    /// Any date from 1999 to 2041, with the 29th–31st over-represented (clamping lives there).
    static func anchor(_ g: inout SeededGenerator) -> LocalDate {
        let year = g.int(1999...2040)
        let month = g.int(1...12)
        let last = LocalDate.daysIn(year: year, month: month)
        let day = g.chance(40) ? g.int(max(1, last - 3)...last) : g.int(1...last)
        return try! LocalDate(year: year, month: month, day: day)
    }

    @Test("periods of a term follow each other with no gap and no overlap, start on the clamped anchor day, and cover the term")
    func partition() {
        PropertyCheck.forAll("anniversary partition") { g in
            let anchor = Self.anchor(&g)
            let months = g.pick([1, 1, 1, 2, 3, 6, 12, g.int(1...36)])
            // Terms of whole periods (a service's usual term) and terms ending on any date.
            let termEnd: LocalDate = g.chance(50)
                ? anchor.adding(months: months * g.int(1...30))
                : anchor.adding(days: g.int(1...3000))
            let term = DateRange(start: anchor, end: termEnd)
            let periods = BillingPeriod.anniversaries(anchor: anchor, months: months, startingIn: term, termEnd: termEnd)
            let context = "anchor \(anchor), \(months) months, term \(term): \(periods)"
            guard let first = periods.first, let last = periods.last else { return "no periods: \(context)" }
            guard first.range.start == anchor, first.index == 0 else { return "the first period does not start at the anchor: \(context)" }
            for (a, b) in zip(periods, periods.dropFirst()) {
                guard a.range.end == b.range.start else { return "gap or overlap between \(a) and \(b): \(context)" }
                guard b.index == a.index + 1 else { return "indexes skip between \(a) and \(b): \(context)" }
            }
            for period in periods {
                guard period.range.start < period.range.end else { return "empty period \(period): \(context)" }
                // Computed from the anchor, never chained: the anchor's day, clamped to the month.
                let start = period.range.start
                let expectedDay = min(anchor.day, LocalDate.daysIn(year: start.year, month: start.month))
                guard start.day == expectedDay else { return "\(period) starts on day \(start.day), expected \(expectedDay): \(context)" }
                guard anchor.yearMonth.months(until: start.yearMonth) == period.index * months else {
                    return "\(period) starts in the wrong month: \(context)"
                }
            }
            guard last.range.start < termEnd, last.range.end >= termEnd else { return "the periods do not cover the term: \(context)" }
            // Every day of the term lies in exactly one period, the one `anniversary(containing:)` finds.
            for _ in 0..<8 {
                let day = anchor.adding(days: g.int(0...(term.dayCount - 1)))
                let holders = periods.filter { $0.range.contains(day) }
                guard holders.count == 1 else { return "\(day) lies in \(holders.count) periods: \(context)" }
                guard BillingPeriod.anniversary(containing: day, anchor: anchor, months: months) == holders[0] else {
                    return "anniversary(containing: \(day)) disagrees with \(holders[0]): \(context)"
                }
            }
            return nil
        }
    }

    @Test("the periods starting in a window are exactly those of the whole term that start in it")
    func windows() {
        PropertyCheck.forAll("anniversary windows") { g in
            let anchor = Self.anchor(&g)
            let months = g.pick([1, 3, 12, g.int(1...24)])
            let termEnd: LocalDate? = g.chance(30) ? nil : anchor.adding(days: g.int(1...4000))
            let horizon = anchor.adding(days: 4500)
            let all = BillingPeriod.anniversaries(anchor: anchor, months: months, startingIn: DateRange(start: anchor, end: horizon), termEnd: termEnd)
            let windowStart = anchor.adding(days: g.int(-400...4000))
            let window = DateRange(start: windowStart, end: windowStart.adding(days: g.int(0...400)))
            let inWindow = BillingPeriod.anniversaries(anchor: anchor, months: months, startingIn: window, termEnd: termEnd)
            let expected = all.filter { window.contains($0.range.start) }
            guard inWindow == expected else {
                return "anchor \(anchor), \(months) months, term end \(termEnd.map { "\($0)" } ?? "open"), window \(window): \(inWindow), expected \(expected)"
            }
            return nil
        }
    }
}
