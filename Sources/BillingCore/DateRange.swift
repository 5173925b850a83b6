/// A half-open range of local dates `[start, end)`. `end` is what `period_end` and
/// `valid_until` store; people are shown the inclusive last day, `end - 1 day`.
public struct DateRange: Hashable, Sendable, CustomStringConvertible {
    public let start: LocalDate
    public let end: LocalDate

    public init(start: LocalDate, end: LocalDate) {
        precondition(start <= end, "a date range cannot end before it starts")
        self.start = start
        self.end = end
    }

    public var isEmpty: Bool { start == end }
    public var lastDay: LocalDate { end.adding(days: -1) }
    public var dayCount: Int { start.days(until: end) }

    public func contains(_ date: LocalDate) -> Bool { start <= date && date < end }

    public func overlaps(_ other: DateRange) -> Bool { start < other.end && other.start < end }

    /// `2026-10-01..2026-10-31`, inclusive, for people.
    public var description: String { isEmpty ? "\(start) (empty)" : "\(start)..\(lastDay)" }
}
