import BillingCore
import BillingStore
import Postgres
import TestSupport
import Testing

@Suite("Customer directory: local as-of dates computed by PostgreSQL agree with BillingCore")
struct CustomerDirectoryTests {
    static let zones = [
        "Etc/GMT+12", "Pacific/Pago_Pago", "Pacific/Honolulu", "America/Anchorage", "America/Los_Angeles", "America/Denver",
        "America/Chicago", "America/New_York", "America/Santiago", "America/Sao_Paulo", "Atlantic/Azores", "UTC",
        "Europe/London", "Europe/Berlin", "Africa/Cairo", "Europe/Moscow", "Asia/Tehran", "Asia/Dubai", "Asia/Kolkata",
        "Asia/Kathmandu", "Asia/Tokyo", "Australia/Adelaide", "Australia/Lord_Howe", "Pacific/Auckland",
        "Pacific/Chatham", "Pacific/Tongatapu", "Pacific/Kiritimati",
    ]

    @Test("for zones from UTC-12 to UTC+14, around month ends and DST changes")
    func agreement() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        let fixtures = Fixtures(db)
        var ids: [Int64] = []
        for zone in Self.zones { ids.append(try fixtures.customer(zone, timezone: zone)) }
        let instants = [
            "2026-10-31T10:00:00Z", "2026-10-31T11:59:59Z", "2026-11-01T06:30:00Z", "2026-11-01T07:00:00Z",
            "2026-11-01T12:00:00Z", "2026-03-29T01:30:00Z", "2026-03-08T10:30:00Z", "2024-02-29T23:30:00Z",
            "2026-12-31T23:59:59Z", "2027-01-01T00:00:00Z", "2026-04-05T15:30:00Z", "2026-09-06T03:59:59Z",
        ]
        for text in instants {
            let asOf = try Instant(rfc3339: text)
            let lookup = try CustomerDirectory.load(db, ids: ids, asOf: asOf)
            #expect(lookup.defects.isEmpty)
            #expect(lookup.customers.count == Self.zones.count)
            for customer in lookup.customers {
                #expect(customer.localAsOf == customer.timeZone.localDate(of: asOf), "\(customer.timeZone) at \(text)")
            }
        }
        db.close()
    }

    @Test("an unknown time zone is a defect with a reason, not a failed query; missing ids are listed")
    func defects() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        let fixtures = Fixtures(db)
        let good = try fixtures.customer("Good", timezone: "Europe/Berlin")
        let mars = try fixtures.customer("Mars", timezone: "Mars/Olympus")
        let posix = try fixtures.customer("Posix", timezone: "GMT+3")
        let injected = try fixtures.customer("Injected", timezone: "UTC'; DROP TABLE customers; --")
        let lookup = try CustomerDirectory.load(db, ids: [good, mars, posix, injected, 999_999], asOf: try Instant(rfc3339: "2026-11-01T00:00:00Z"))
        #expect(lookup.customers.map(\.id) == [good])
        #expect(lookup.defects.map(\.customerID) == [mars, posix, injected])
        #expect(lookup.defects.allSatisfy { $0.reason.contains("unknown time zone") })
        #expect(lookup.missing == [999_999])
        #expect(try fixtures.count("customers") == 4)
        db.close()
    }

    @Test("BillingCore values round-trip through PostgreSQL")
    func conformances() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        let instant = try Instant(rfc3339: "2026-10-31T23:30:00.25-07:00")
        let date = try LocalDate("2024-02-29")
        let row = try #require(try db.query("SELECT $1::timestamptz, $2::date, $3::numeric, $4::jsonb, $5::text",
                                             [instant, date, ExactDecimal(units: 225, scale: 2), JSONValue.object([("a", [1, "x"])]), try CurrencyCode("KWD")]).first)
        #expect(try row.decode(0, as: Instant.self) == instant)
        #expect(try row.decode(1, as: LocalDate.self) == date)
        #expect(try row.decode(2, as: ExactDecimal.self) == ExactDecimal(units: 225, scale: 2))
        #expect(try row.decode(3, as: JSONValue.self) == .object([("a", [1, "x"])]))
        #expect(try row.decode(4, as: CurrencyCode.self) == CurrencyCode("KWD"))
        db.close()
    }
}
