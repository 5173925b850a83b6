/// A calendar month, as `--period 2026-10` names it.
public struct YearMonth: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let year: Int
    public let month: Int

    public init(year: Int, month: Int) throws {
        guard (1...9999).contains(year), (1...12).contains(month) else {
            throw BillingError.invalidPeriod("\(year)-\(month)")
        }
        self.year = year
        self.month = month
    }

    init(unchecked year: Int, _ month: Int) {
        self.year = year
        self.month = month
    }

    /// Parses `YYYY-MM`.
    public init(_ text: String) throws {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 4, parts[1].count == 2,
              parts.allSatisfy({ $0.allSatisfy { $0.isASCII && $0.isNumber } }),
              let year = Int(parts[0]), let month = Int(parts[1]),
              (1...9999).contains(year), (1...12).contains(month) else {
            throw BillingError.invalidPeriod(text)
        }
        self.init(unchecked: year, month)
    }

    public var firstDay: LocalDate { LocalDate(unchecked: year, month, 1) }

    public func adding(months: Int) -> YearMonth { firstDay.adding(months: months).yearMonth }
    public var next: YearMonth { adding(months: 1) }
    public var previous: YearMonth { adding(months: -1) }

    /// The month as the half-open range `[first day, first day of the next month)`.
    public var dateRange: DateRange { DateRange(start: firstDay, end: next.firstDay) }

    /// Months from `self` to `other` (positive when `other` is later).
    public func months(until other: YearMonth) -> Int {
        (other.year * 12 + other.month) - (year * 12 + month)
    }

    public static func < (lhs: YearMonth, rhs: YearMonth) -> Bool { (lhs.year, lhs.month) < (rhs.year, rhs.month) }

    public var description: String {
        let y = String(year)
        return String(repeating: "0", count: max(0, 4 - y.count)) + y + "-" + (month < 10 ? "0\(month)" : "\(month)")
    }
}
