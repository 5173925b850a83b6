/// An ISO 4217 currency code: three upper-case ASCII letters.
public struct CurrencyCode: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init(_ text: String) throws {
        guard text.utf8.count == 3, text.utf8.allSatisfy({ $0 >= 65 && $0 <= 90 }) else {
            throw BillingError.invalidCurrency(text)
        }
        rawValue = text
    }

    public static func < (lhs: CurrencyCode, rhs: CurrencyCode) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { rawValue }
}
