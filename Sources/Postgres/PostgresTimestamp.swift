/// A `timestamptz` value as the fields PostgreSQL printed. Connections run with
/// `TimeZone = 'UTC'`, so `utcOffsetSeconds` is 0 for every value they read; the offset is kept
/// anyway so that the fields always name one instant.
public struct PostgresTimestamp: PostgresCodable, Hashable, Sendable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int
    public let hour: Int
    public let minute: Int
    public let second: Int
    public let microsecond: Int
    public let utcOffsetSeconds: Int

    public init(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, microsecond: Int = 0, utcOffsetSeconds: Int = 0) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
        self.microsecond = microsecond
        self.utcOffsetSeconds = utcOffsetSeconds
    }

    /// Parses `YYYY-MM-DD HH:MM:SS[.ffffff]±HH[:MM[:SS]]` (PostgreSQL's ISO output).
    public init?(_ text: String) {
        let scalars = Array(text.utf8)
        var index = 0
        func number(_ width: Int) -> Int? {
            guard index + width <= scalars.count else { return nil }
            var value = 0
            for _ in 0..<width {
                let byte = scalars[index]
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
                index += 1
            }
            return value
        }
        func expect(_ character: Character) -> Bool {
            guard index < scalars.count, scalars[index] == character.asciiValue else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
              expect(" ") || expect("T"),
              let hour = number(2), expect(":"), let minute = number(2), expect(":"), let second = number(2)
        else { return nil }
        var micro = 0
        if expect(".") {
            var digits = 0
            while index < scalars.count, scalars[index] >= 48, scalars[index] <= 57 {
                if digits < 6 { micro = micro * 10 + Int(scalars[index] - 48) }
                digits += 1
                index += 1
            }
            guard digits > 0 else { return nil }
            if digits < 6 { for _ in digits..<6 { micro *= 10 } }
        }
        var offset = 0
        if expect("Z") {
            offset = 0
        } else {
            guard index < scalars.count, scalars[index] == UInt8(ascii: "+") || scalars[index] == UInt8(ascii: "-") else { return nil }
            let sign = scalars[index] == UInt8(ascii: "-") ? -1 : 1
            index += 1
            guard let hours = number(2) else { return nil }
            var minutes = 0, seconds = 0
            if expect(":") { guard let m = number(2) else { return nil }; minutes = m }
            if expect(":") { guard let s = number(2) else { return nil }; seconds = s }
            offset = sign * (hours * 3600 + minutes * 60 + seconds)
        }
        guard index == scalars.count, (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        self.init(year: year, month: month, day: day, hour: hour, minute: minute, second: second, microsecond: micro, utcOffsetSeconds: offset)
    }

    public var description: String {
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        var text = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2)) \(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2))"
        if microsecond != 0 { text += "." + pad(microsecond, 6) }
        let sign = utcOffsetSeconds < 0 ? "-" : "+"
        let offset = abs(utcOffsetSeconds)
        text += sign + pad(offset / 3600, 2)
        if offset % 3600 != 0 { text += ":" + pad(offset % 3600 / 60, 2) }
        if offset % 60 != 0 { text += ":" + pad(offset % 60, 2) }
        return text
    }

    public var postgresText: String? { description }

    public init(postgresText text: PostgresText, type: PostgresType) throws {
        guard type == .timestamptz || type == .unknown || type == .text else {
            throw PostgresError.decoding("expected timestamptz, got \(type) (timestamp without time zone is refused: it names no instant)")
        }
        guard let value = PostgresTimestamp(text.string) else {
            throw PostgresError.decoding("timestamptz is not a finite ISO timestamp (infinity and BC are not supported)")
        }
        self = value
    }
}
