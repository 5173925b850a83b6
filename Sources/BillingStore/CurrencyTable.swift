import BillingCore
import Postgres

/// The `currencies` table: exponent per ISO code.
public enum CurrencyTable {
    public static func load(_ db: PostgresConnection) throws -> [CurrencyCode: Currency] {
        var table: [CurrencyCode: Currency] = [:]
        for row in try db.query("SELECT code, minor_units FROM currencies") {
            let code = try row.decode(0, as: CurrencyCode.self)
            table[code] = Currency(code: code, minorUnits: try row.decode(1, as: Int.self))
        }
        return table
    }
}
