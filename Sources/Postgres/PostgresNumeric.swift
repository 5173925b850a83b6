/// An exact `numeric` value, kept as its decimal digits: never routed through floating point.
public struct PostgresNumeric: PostgresCodable, Hashable, Sendable, CustomStringConvertible {
    /// The canonical decimal text, e.g. `-2.25`, `0`, `1000`.
    public let text: String

    /// Parses `[-+]digits[.digits]`; `NaN` and infinities are refused.
    public init?(_ text: String) {
        var body = Substring(text)
        var sign = ""
        if body.first == "-" { sign = "-"; body = body.dropFirst() } else if body.first == "+" { body = body.dropFirst() }
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2,
              let whole = parts.first, !whole.isEmpty, whole.allSatisfy({ $0.isASCII && $0.isNumber })
        else { return nil }
        let fraction = parts.count == 2 ? parts[1] : ""
        guard fraction.allSatisfy({ $0.isASCII && $0.isNumber }), parts.count == 1 || !fraction.isEmpty else { return nil }
        let trimmedWhole = whole.drop(while: { $0 == "0" })
        let wholeText = trimmedWhole.isEmpty ? "0" : String(trimmedWhole)
        let fractionText = String(fraction)
        let isZero = wholeText == "0" && fractionText.allSatisfy { $0 == "0" }
        self.text = (isZero ? "" : sign) + wholeText + (fractionText.isEmpty ? "" : "." + fractionText)
    }

    /// The integral value when the number has no fractional part (or only zeros) and fits.
    public var int64Value: Int64? {
        let parts = text.split(separator: ".")
        guard parts.count == 1 || parts[1].allSatisfy({ $0 == "0" }) else { return nil }
        return Int64(parts[0])
    }

    /// The value scaled by 10^scale, when that is exact and fits in Int64.
    public func scaled(by scale: Int) -> Int64? {
        let negative = text.hasPrefix("-")
        let body = negative ? text.dropFirst() : Substring(text)
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        var fraction = parts.count == 2 ? String(parts[1]) : ""
        while fraction.count > scale, fraction.last == "0" { fraction.removeLast() }
        guard fraction.count <= scale else { return nil }
        fraction += String(repeating: "0", count: scale - fraction.count)
        guard let magnitude = Int64(String(parts[0]) + fraction) else { return nil }
        return negative ? -magnitude : magnitude
    }

    public var description: String { text }
    public var postgresText: String? { text }

    public init(postgresText text: PostgresText, type: PostgresType) throws {
        guard type == .numeric || PostgresType.integers.contains(type) || type == .unknown || type == .text else {
            throw PostgresError.decoding("expected numeric, got \(type)")
        }
        guard let value = PostgresNumeric(text.string) else {
            throw PostgresError.decoding("numeric value is not a finite decimal")
        }
        self = value
    }
}
