/// The billing calendar (docs/design.md §3). All periods are half-open ranges of local dates.
///
/// Anniversary periods are computed from the anchor, never chained, and clamped to the end of
/// shorter months:
///
///     anchor Jan 31, monthly:
///     |-- k=0 --|-- k=1 --|-- k=2 --|
///     Jan 31    Feb 28    Mar 31    Apr 30      (Feb 29 in leap years)
///
///     anchor Apr 11, monthly, term of 3 months (ends_on Jul 11):
///     |---- k=0 ----|---- k=1 ----|---- k=2 ----|
///     Apr 11        May 11        Jun 11        Jul 11 (exclusive)
///     shown as Apr 11–May 10, May 11–Jun 10, Jun 11–Jul 10
public enum BillingPeriod {
    /// One anniversary period: index `k` and its dates.
    public struct Anniversary: Hashable, Sendable, CustomStringConvertible {
        public let index: Int
        public let range: DateRange
        public var description: String { "#\(index) \(range)" }
    }

    /// The calendar month `[first, first of next)`.
    public static func month(_ month: YearMonth) -> DateRange { month.dateRange }

    /// Period `index` of `months`-month periods anchored at `anchor`.
    public static func anniversary(anchor: LocalDate, months: Int, index: Int) -> Anniversary {
        precondition(months >= 1, "anniversary periods need period_months >= 1 (0 means lifetime)")
        precondition(index >= 0, "period index must not be negative")
        return Anniversary(
            index: index,
            range: DateRange(start: anchor.adding(months: index * months), end: anchor.adding(months: (index + 1) * months))
        )
    }

    /// The anniversary periods whose start lies in `window` and before `termEnd` (exclusive; nil
    /// for an open-ended term), in order.
    public static func anniversaries(anchor: LocalDate, months: Int, startingIn window: DateRange, termEnd: LocalDate? = nil) -> [Anniversary] {
        precondition(months >= 1, "anniversary periods need period_months >= 1 (0 means lifetime)")
        guard window.end > anchor else { return [] }
        var index = max(0, firstIndex(anchor: anchor, months: months, notBefore: window.start))
        var periods: [Anniversary] = []
        while true {
            let period = anniversary(anchor: anchor, months: months, index: index)
            let start = period.range.start
            if start >= window.end { break }
            if let termEnd, start >= termEnd { break }
            if start >= window.start { periods.append(period) }
            index += 1
        }
        return periods
    }

    /// The anniversary period containing `date`, or nil before the anchor.
    public static func anniversary(containing date: LocalDate, anchor: LocalDate, months: Int) -> Anniversary? {
        guard date >= anchor else { return nil }
        var index = max(0, anchor.yearMonth.months(until: date.yearMonth) / months - 1)
        while true {
            let period = anniversary(anchor: anchor, months: months, index: index)
            if period.range.contains(date) { return period }
            if period.range.start > date { return nil }
            index += 1
        }
    }

    /// The smallest index whose period starts on or after `date` (a close lower estimate, then
    /// walked forward: clamping can only move a start earlier within its month).
    private static func firstIndex(anchor: LocalDate, months: Int, notBefore date: LocalDate) -> Int {
        guard date > anchor else { return 0 }
        var index = max(0, anchor.yearMonth.months(until: date.yearMonth) / months - 1)
        while anchor.adding(months: index * months) < date { index += 1 }
        return index
    }
}
