import BillingCore
import Postgres

/// Loads the customers a run visits in one query, and separates those whose basic data makes
/// them impossible to bill (unknown time zone) so no set-based statement ever fails on them.
public enum CustomerDirectory {
    public struct Lookup: Sendable {
        public var customers: [CustomerRecord] = []
        /// Customers that cannot be billed, with the reason.
        public var defects: [(customerID: Int64, reason: String)] = []
        /// Requested ids that do not exist.
        public var missing: [Int64] = []
    }

    /// Loads `ids` (in ascending id order). The local as-of date is computed by PostgreSQL with
    /// the same `AT TIME ZONE` rule the jobs' queries use, and checked against BillingCore's.
    public static func load(_ db: PostgresConnection, ids: [Int64], asOf: Instant) throws -> Lookup {
        var lookup = Lookup()
        guard !ids.isEmpty else { return lookup }
        let rows = try db.query("""
            WITH zones AS (SELECT name FROM pg_timezone_names)
            SELECT c.id, c.name, c.currency, cur.minor_units, c.timezone, c.org_unit_id,
                   CASE WHEN EXISTS (SELECT 1 FROM zones z WHERE z.name = c.timezone)
                        THEN ($2::timestamptz AT TIME ZONE c.timezone)::date END AS local_as_of
            FROM customers c
            JOIN currencies cur ON cur.code = c.currency
            WHERE c.id = ANY($1::bigint[])
            ORDER BY c.id
            """, [ids, asOf])
        var found = Set<Int64>()
        for row in rows {
            let id = try row.decode(0, as: Int64.self)
            found.insert(id)
            let zoneName = try row.decode(4, as: String.self)
            guard let localAsOf = try row.decode(6, as: LocalDate?.self), let zone = try? CustomerTimeZone(zoneName) else {
                lookup.defects.append((id, "unknown time zone \(zoneName.debugDescription) (expected an IANA name such as Europe/Berlin)"))
                continue
            }
            let currency = Currency(
                code: try row.decode(2, as: CurrencyCode.self),
                minorUnits: try row.decode(3, as: Int.self)
            )
            lookup.customers.append(CustomerRecord(
                id: id, name: try row.decode(1, as: String.self), currency: currency, timeZone: zone,
                orgUnitID: try row.decode(5, as: Int64?.self), localAsOf: localAsOf
            ))
        }
        lookup.missing = ids.filter { !found.contains($0) }
        return lookup
    }

    /// Ids of `ids` that exist, for validating `--customer` before a run.
    public static func existing(_ db: PostgresConnection, ids: [Int64]) throws -> Set<Int64> {
        Set(try db.query("SELECT id FROM customers WHERE id = ANY($1::bigint[])", [ids]).map { try $0.decode(0, as: Int64.self) })
    }
}
