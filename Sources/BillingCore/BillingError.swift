/// Why a billing computation refused its input. Each case names a defect a person can fix.
public struct BillingError: Error, CustomStringConvertible, Sendable, Equatable {
    private enum Code: Sendable, Equatable {
        case overflow
        case invalidIncrement
        case invalidCurrency
        case invalidDate
        case invalidInstant
        case invalidPeriod
        case unknownTimeZone
        case invalidInput
    }

    private let code: Code
    public let message: String

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public static func overflow(_ what: String) -> BillingError {
        BillingError(.overflow, "amount out of range: \(what) does not fit in 64-bit minor units")
    }
    public static func invalidIncrement(_ increment: Int64) -> BillingError {
        BillingError(.invalidIncrement, "increment_minutes must be at least 1, got \(increment)")
    }
    public static func invalidCurrency(_ text: String) -> BillingError {
        BillingError(.invalidCurrency, "not an ISO 4217 currency code (three upper-case letters): \(text.debugDescription)")
    }
    public static func invalidDate(_ text: String) -> BillingError {
        BillingError(.invalidDate, "not a valid date (YYYY-MM-DD): \(text.debugDescription)")
    }
    public static func invalidInstant(_ text: String) -> BillingError {
        BillingError(.invalidInstant, "not an RFC 3339 instant (e.g. 2026-11-01T06:00:00Z) or a date (2026-11-01): \(text.debugDescription)")
    }
    public static func invalidPeriod(_ text: String) -> BillingError {
        BillingError(.invalidPeriod, "not a month (YYYY-MM): \(text.debugDescription)")
    }
    public static func unknownTimeZone(_ identifier: String) -> BillingError {
        BillingError(.unknownTimeZone, "unknown time zone \(identifier.debugDescription) (expected an IANA name such as Europe/Berlin)")
    }
    public static func invalidInput(_ message: String) -> BillingError {
        BillingError(.invalidInput, message)
    }

    public var description: String { message }
}
