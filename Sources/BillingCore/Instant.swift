/// A point in time: microseconds since 1970-01-01T00:00:00Z. What `timestamptz` stores.
public struct Instant: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let microsecondsSinceEpoch: Int64

    public init(microsecondsSinceEpoch: Int64) {
        self.microsecondsSinceEpoch = microsecondsSinceEpoch
    }

    public init(secondsSinceEpoch: Int64) {
        self.microsecondsSinceEpoch = secondsSinceEpoch * 1_000_000
    }

    /// The instant at `hour:minute:second` UTC on `date`.
    public init(utc date: LocalDate, hour: Int = 0, minute: Int = 0, second: Int = 0, microsecond: Int = 0) {
        let seconds = Int64(date.daysSinceEpoch) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        self.microsecondsSinceEpoch = seconds * 1_000_000 + Int64(microsecond)
    }

    /// Parses an RFC 3339 instant (`2026-11-01T06:00:00Z`, `2026-10-31T23:30:00.5-07:00`), or a bare
    /// date `D`, which means `D 00:00:00Z`.
    public init(rfc3339 text: String) throws {
        if let date = try? LocalDate(text) {
            self.init(utc: date)
            return
        }
        let bytes = Array(text.utf8)
        var index = 0
        func digits(_ count: Int) -> Int? {
            guard index + count <= bytes.count else { return nil }
            var value = 0
            for _ in 0..<count {
                guard bytes[index] >= 48, bytes[index] <= 57 else { return nil }
                value = value * 10 + Int(bytes[index] - 48)
                index += 1
            }
            return value
        }
        func accept(_ options: String) -> Bool {
            guard index < bytes.count, options.utf8.contains(bytes[index]) else { return false }
            index += 1
            return true
        }
        guard let year = digits(4), accept("-"), let month = digits(2), accept("-"), let day = digits(2),
              accept("Tt "), let hour = digits(2), accept(":"), let minute = digits(2), accept(":"),
              let second = digits(2), let date = try? LocalDate(year: year, month: month, day: day),
              hour < 24, minute < 60, second < 60 else {
            throw BillingError.invalidInstant(text)
        }
        var micro = 0
        if accept(".") {
            var count = 0
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                if count < 6 { micro = micro * 10 + Int(bytes[index] - 48) }
                count += 1
                index += 1
            }
            guard count > 0 else { throw BillingError.invalidInstant(text) }
            if count < 6 { for _ in count..<6 { micro *= 10 } }
        }
        var offset = 0
        if !accept("Zz") {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") else {
                throw BillingError.invalidInstant(text)
            }
            let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            index += 1
            guard let hours = digits(2), accept(":"), let minutes = digits(2), hours <= 23, minutes < 60 else {
                throw BillingError.invalidInstant(text)
            }
            offset = sign * (hours * 3600 + minutes * 60)
        }
        guard index == bytes.count else { throw BillingError.invalidInstant(text) }
        let local = Instant(utc: date, hour: hour, minute: minute, second: second, microsecond: micro)
        self.init(microsecondsSinceEpoch: local.microsecondsSinceEpoch - Int64(offset) * 1_000_000)
    }

    public var secondsSinceEpoch: Int64 {
        let (q, r) = microsecondsSinceEpoch.quotientAndRemainder(dividingBy: 1_000_000)
        return r < 0 ? q - 1 : q
    }

    /// The UTC calendar date of this instant.
    public var utcDate: LocalDate {
        let seconds = secondsSinceEpoch
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        return LocalDate(daysSinceEpoch: Int(days))
    }

    public func adding(seconds: Int64) -> Instant {
        Instant(microsecondsSinceEpoch: microsecondsSinceEpoch + seconds * 1_000_000)
    }

    public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.microsecondsSinceEpoch < rhs.microsecondsSinceEpoch }

    /// RFC 3339 in UTC: `2026-11-01T06:00:00Z`, with a fraction only when there is one.
    public var description: String {
        let seconds = secondsSinceEpoch
        let micro = Int(microsecondsSinceEpoch - seconds * 1_000_000)
        let date = utcDate
        let secondOfDay = Int(seconds - Int64(date.daysSinceEpoch) * 86_400)
        func pad(_ value: Int, _ width: Int = 2) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        var text = "\(date)T\(pad(secondOfDay / 3600)):\(pad(secondOfDay % 3600 / 60)):\(pad(secondOfDay % 60))"
        if micro != 0 {
            var fraction = pad(micro, 6)
            while fraction.hasSuffix("0") { fraction.removeLast() }
            text += "." + fraction
        }
        return text + "Z"
    }
}
