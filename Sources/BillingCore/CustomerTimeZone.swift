import Foundation

/// A customer's IANA time zone (`customers.timezone`): where an instant becomes a local date.
///
/// Only IANA names are accepted (`Europe/Berlin`, `Pacific/Kiritimati`, `Etc/GMT+12`, `UTC`), never
/// POSIX strings like `GMT+3`, whose sign PostgreSQL and Foundation read differently.
public struct CustomerTimeZone: Hashable, Sendable, CustomStringConvertible {
    public let identifier: String
    private let zone: TimeZone

    /// Abbreviations (`PST`, `CET`) name no rules of their own; PostgreSQL does not list them as zones.
    private static let abbreviations = Set(TimeZone.abbreviationDictionary.keys).subtracting(["UTC", "GMT"])

    public init(_ identifier: String) throws {
        // Foundation resolves offsets like "GMT+3" to another identifier ("GMT+0300"): refusing
        // anything that does not keep its name keeps out the strings PostgreSQL reads as POSIX.
        guard !CustomerTimeZone.abbreviations.contains(identifier), let zone = TimeZone(identifier: identifier),
              zone.identifier == identifier || identifier == "UTC" else {
            throw BillingError.unknownTimeZone(identifier)
        }
        self.identifier = identifier
        self.zone = zone
    }

    public static let utc = try! CustomerTimeZone("UTC")

    /// Seconds east of UTC in effect at `instant` (daylight saving time included).
    public func utcOffsetSeconds(at instant: Instant) -> Int {
        zone.secondsFromGMT(for: Date(timeIntervalSince1970: TimeInterval(instant.secondsSinceEpoch)))
    }

    /// The local calendar date of `instant` in this zone:
    /// `(instant AT TIME ZONE timezone)::date` in PostgreSQL.
    public func localDate(of instant: Instant) -> LocalDate {
        instant.adding(seconds: Int64(utcOffsetSeconds(at: instant))).utcDate
    }

    /// The first instant whose local date is `date` or later: local midnight, or, where a DST
    /// change skips midnight, the first instant after the gap. Periods `[start, end)` of local
    /// dates become the instant range `[startOfDay(start), startOfDay(end))`.
    public func startOfDay(_ date: LocalDate) -> Instant {
        // Local midnight lies within ±26 h of UTC midnight for every real zone.
        let utcMidnight = Instant(utc: date).secondsSinceEpoch
        var low = utcMidnight - 26 * 3600
        var high = utcMidnight + 26 * 3600
        while low < high {
            let middle = low + (high - low) / 2
            if localDate(of: Instant(secondsSinceEpoch: middle)) >= date {
                high = middle
            } else {
                low = middle + 1
            }
        }
        return Instant(secondsSinceEpoch: low)
    }

    public var description: String { identifier }

    public static func == (lhs: CustomerTimeZone, rhs: CustomerTimeZone) -> Bool { lhs.identifier == rhs.identifier }
    public func hash(into hasher: inout Hasher) { hasher.combine(identifier) }
}
