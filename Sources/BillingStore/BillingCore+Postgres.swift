import BillingCore
import Postgres

// The BillingCore value types travel to and from PostgreSQL in their text forms. BillingCore
// itself knows nothing of PostgreSQL; these conformances are the bridge.

extension LocalDate: PostgresCodable {
    public var postgresText: String? { description }

    public init(postgresText text: PostgresText, type: PostgresType) throws {
        let date = try PostgresDate(postgresText: text, type: type)
        self = try LocalDate(year: date.year, month: date.month, day: date.day)
    }
}

extension Instant: PostgresCodable {
    /// RFC 3339 with `Z`, which PostgreSQL reads as a timestamptz.
    public var postgresText: String? { description }

    public init(postgresText text: PostgresText, type: PostgresType) throws {
        let stamp = try PostgresTimestamp(postgresText: text, type: type)
        let date = try LocalDate(year: stamp.year, month: stamp.month, day: stamp.day)
        let local = Instant(utc: date, hour: stamp.hour, minute: stamp.minute, second: stamp.second, microsecond: stamp.microsecond)
        self = local.adding(seconds: Int64(-stamp.utcOffsetSeconds))
    }
}

extension CurrencyCode: PostgresCodable {
    public var postgresText: String? { rawValue }

    public init(postgresText text: PostgresText, type: PostgresType) throws {
        do { try self.init(text.string) } catch { throw PostgresError.decoding("\(error)") }
    }
}

extension ExactDecimal: PostgresCodable {
    public var postgresText: String? { description }

    public init(postgresText text: PostgresText, type: PostgresType) throws {
        let numeric = try PostgresNumeric(postgresText: text, type: type)
        guard let value = ExactDecimal(numeric.text) else {
            throw PostgresError.decoding("numeric value does not fit an exact 64-bit decimal")
        }
        self = value
    }
}

extension JSONValue: PostgresCodable {
    public var postgresText: String? { compactText }

    public init(postgresText text: PostgresText, type: PostgresType) throws {
        let json = try PostgresJSON(postgresText: text, type: type)
        do { self = try JSONValue(parsing: json.text) } catch { throw PostgresError.decoding("malformed JSON") }
    }
}
