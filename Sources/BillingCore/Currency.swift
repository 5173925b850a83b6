/// A currency and its exponent (`currencies.minor_units`): USD 2, JPY 0, KWD 3.
public struct Currency: Hashable, Sendable {
    public let code: CurrencyCode
    public let minorUnits: Int

    public init(code: CurrencyCode, minorUnits: Int) {
        precondition((0...6).contains(minorUnits), "minor units out of range")
        self.code = code
        self.minorUnits = minorUnits
    }

    /// Formats an amount of minor units for people: `135.00 USD`, `-1500 JPY`, `1.250 KWD`.
    public func format(_ minor: Int64) -> String {
        let negative = minor < 0
        let magnitude = minor.magnitude
        var text: String
        if minorUnits == 0 {
            text = String(magnitude)
        } else {
            var scale: UInt64 = 1
            for _ in 0..<minorUnits { scale *= 10 }
            let fraction = String(magnitude % scale)
            text = String(magnitude / scale) + "." + String(repeating: "0", count: minorUnits - fraction.count) + fraction
        }
        return (negative ? "-" : "") + text + " " + code.rawValue
    }
}
