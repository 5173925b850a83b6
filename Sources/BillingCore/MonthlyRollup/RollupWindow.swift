/// The months one monthly-rollup run brings up to date for one customer.
///
/// A month M is closed for a customer when the customer's local as-of date is on or after the
/// first day of M+1. Only closed months are billed: an open month's usage is still growing, and
/// an invoice issued for it could only be corrected by adjustments later.
///
///     lookback_months 3, local as-of 2026-11-02 (closed: up to October):
///     ... | Jul | Aug | Sep | Oct | Nov (open) |
///               |-- window ------|
///
///     --period 2026-10: exactly October, if closed for this customer; otherwise nothing and
///     `notClosed` = 2026-10 (the run says so in a notice).
public struct RollupWindow: Sendable, Equatable {
    /// Ascending, contiguous; empty when nothing is to be billed.
    public let months: [YearMonth]
    /// `--period` named a month that has not closed yet in the customer's time zone.
    public let notClosed: YearMonth?

    public init(months: [YearMonth], notClosed: YearMonth? = nil) {
        self.months = months
        self.notClosed = notClosed
    }

    public static func make(period: YearMonth?, lookbackMonths: Int, localAsOf: LocalDate) -> RollupWindow {
        let lastClosed = localAsOf.yearMonth.previous
        if let period {
            return period <= lastClosed ? RollupWindow(months: [period]) : RollupWindow(months: [], notClosed: period)
        }
        let count = max(1, lookbackMonths)
        return RollupWindow(months: (0..<count).reversed().map { lastClosed.adding(months: -$0) })
    }

    /// `[first day of the first month, first day after the last month)`, nil when empty.
    public var range: DateRange? {
        guard let first = months.first, let last = months.last else { return nil }
        return DateRange(start: first.firstDay, end: last.next.firstDay)
    }

    public func contains(_ month: YearMonth) -> Bool {
        guard let first = months.first, let last = months.last else { return false }
        return first <= month && month <= last
    }
}
