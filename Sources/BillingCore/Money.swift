/// An amount of money: whole minor units (cents, yen, fils) of one currency. Never floating point.
public struct Money: Hashable, Sendable, CustomStringConvertible {
    public let minorUnits: Int64
    public let currency: CurrencyCode

    public init(minorUnits: Int64, currency: CurrencyCode) {
        self.minorUnits = minorUnits
        self.currency = currency
    }

    public static func zero(_ currency: CurrencyCode) -> Money { Money(minorUnits: 0, currency: currency) }

    /// Adds two amounts of the same currency, refusing overflow.
    public func adding(_ other: Money) throws -> Money {
        guard other.currency == currency else {
            throw BillingError.invalidInput("cannot add \(other.currency) to \(currency)")
        }
        return Money(minorUnits: try MoneyMath.add(minorUnits, other.minorUnits), currency: currency)
    }

    public var negated: Money { Money(minorUnits: -minorUnits, currency: currency) }

    public var description: String { "\(minorUnits) \(currency) minor units" }
}
