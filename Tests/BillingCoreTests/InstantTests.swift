import BillingCore
import Testing

@Suite("Instants: RFC 3339 input, bare dates")
struct InstantTests {
    @Test("RFC 3339 instants and bare dates parse to the same microseconds", arguments: [
        ("2026-11-01", "2026-11-01T00:00:00Z"),
        ("2026-11-01T06:00:00Z", "2026-11-01T06:00:00Z"),
        ("2026-11-01t06:00:00z", "2026-11-01T06:00:00Z"),
        ("2026-11-01 06:00:00Z", "2026-11-01T06:00:00Z"),
        ("2026-10-31T23:30:00-07:00", "2026-11-01T06:30:00Z"),
        ("2026-11-01T00:30:00+14:00", "2026-10-31T10:30:00Z"),
        ("2026-11-01T12:00:00-12:00", "2026-11-02T00:00:00Z"),
        ("2026-11-01T06:00:00.5Z", "2026-11-01T06:00:00.5Z"),
        ("2026-11-01T06:00:00.123456Z", "2026-11-01T06:00:00.123456Z"),
        ("1969-12-31T23:59:59Z", "1969-12-31T23:59:59Z"),
        ("2024-02-29T12:00:00+05:30", "2024-02-29T06:30:00Z"),
    ])
    func parse(text: String, expected: String) throws {
        #expect(try Instant(rfc3339: text).description == expected)
    }

    @Test("malformed instants are refused", arguments: [
        "2026-11-01T06:00Z", "2026-11-01T06:00:00", "2026-13-01T00:00:00Z", "2026-11-01T24:00:00Z",
        "yesterday", "", "2026-11-01T06:00:00+1400", "2026-02-29T00:00:00Z", "2026-11-01T06:00:00.Z",
    ])
    func malformed(text: String) {
        #expect(throws: BillingError.self) { try Instant(rfc3339: text) }
    }

    @Test("an instant's UTC date, before and after the epoch")
    func utcDate() throws {
        #expect(try Instant(rfc3339: "1969-12-31T23:59:59Z").utcDate == LocalDate("1969-12-31"))
        #expect(try Instant(rfc3339: "1970-01-01T00:00:00Z").utcDate == LocalDate("1970-01-01"))
        #expect(try Instant(rfc3339: "2026-10-31T23:59:59.999999Z").utcDate == LocalDate("2026-10-31"))
    }
}
