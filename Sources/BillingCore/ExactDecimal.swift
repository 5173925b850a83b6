/// An exact decimal number `units / 10^scale`, for `numeric` quantities such as billed hours.
public struct ExactDecimal: Hashable, Sendable, CustomStringConvertible {
    public let units: Int64
    public let scale: Int

    public init(units: Int64, scale: Int = 0) {
        precondition(scale >= 0 && scale <= 18, "scale out of range")
        self.units = units
        self.scale = scale
    }

    public init(_ integer: Int64) { self.init(units: integer, scale: 0) }

    /// Parses `-12.345`.
    public init?(_ text: String) {
        var body = Substring(text)
        let negative = body.first == "-"
        if negative || body.first == "+" { body = body.dropFirst() }
        let parts = body.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = parts.first, !whole.isEmpty,
              whole.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        let fraction = parts.count == 2 ? parts[1] : ""
        guard fraction.allSatisfy({ $0.isASCII && $0.isNumber }), fraction.count <= 18,
              let magnitude = Int64(String(whole) + String(fraction)) else { return nil }
        self.init(units: negative ? -magnitude : magnitude, scale: fraction.count)
    }

    /// The same value with trailing fractional zeros removed (2.250000 -> 2.25, 3.000 -> 3).
    public var normalized: ExactDecimal {
        var units = self.units
        var scale = self.scale
        while scale > 0, units % 10 == 0 {
            units /= 10
            scale -= 1
        }
        return ExactDecimal(units: units, scale: scale)
    }

    public var description: String {
        guard scale > 0 else { return String(units) }
        let magnitude = String(units.magnitude)
        let padded = String(repeating: "0", count: max(0, scale + 1 - magnitude.count)) + magnitude
        let split = padded.index(padded.endIndex, offsetBy: -scale)
        return (units < 0 ? "-" : "") + padded[..<split] + "." + padded[split...]
    }

    public static func == (lhs: ExactDecimal, rhs: ExactDecimal) -> Bool {
        let l = lhs.normalized, r = rhs.normalized
        return l.units == r.units && l.scale == r.scale
    }

    public func hash(into hasher: inout Hasher) {
        let n = normalized
        hasher.combine(n.units)
        hasher.combine(n.scale)
    }
}
