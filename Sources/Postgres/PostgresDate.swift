/// A `date` value as its calendar fields. Conversions to the billing calendar live in
/// BillingStore, so this module needs no calendar arithmetic.
public struct PostgresDate: PostgresCodable, Hashable, Sendable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// `YYYY-MM-DD`, as PostgreSQL prints a date under `DateStyle = ISO`.
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count >= 4, parts[1].count == 2, parts[2].count == 2,
              let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]),
              (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        self.init(year: year, month: month, day: day)
    }

    public var description: String {
        let y = String(year)
        let m = month < 10 ? "0\(month)" : "\(month)"
        let d = day < 10 ? "0\(day)" : "\(day)"
        return String(repeating: "0", count: max(0, 4 - y.count)) + y + "-" + m + "-" + d
    }

    public var postgresText: String? { description }

    public init(postgresText text: PostgresText, type: PostgresType) throws {
        guard type == .date || type == .unknown || type == .text else {
            throw PostgresError.decoding("expected date, got \(type)")
        }
        guard let value = PostgresDate(text.string) else {
            throw PostgresError.decoding("date is not a finite YYYY-MM-DD (infinity and BC dates are not supported)")
        }
        self = value
    }
}
