import Postgres
import TestSupport
import Testing

@Suite("Typed decoding of every listed type, and NULL")
struct DecodingTests {
    @Test("text, integers, numeric, bool, date, timestamptz, jsonb decode to exact values")
    func types() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        let row = try #require(try db.query("""
            SELECT 'héllo'::text, 32767::int2, 2147483647::int4, 9223372036854775807::int8, (-9223372036854775808)::int8,
                   12345678901234567890.123456789::numeric, (-2.25)::numeric, true, false,
                   DATE '2024-02-29', TIMESTAMPTZ '2026-10-31 23:30:00.123456-07',
                   '{"a": [1, 2.5, "x"]}'::jsonb, ARRAY[1, 2, 3]::int8[], ARRAY['a"b', NULL, 'c,d']::text[],
                   TIMESTAMPTZ '1969-12-31 23:59:59+00'
            """).first)
        #expect(try row.decode(0, as: String.self) == "héllo")
        #expect(try row.decode(1, as: Int16.self) == 32767)
        #expect(try row.decode(2, as: Int32.self) == 2_147_483_647)
        #expect(try row.decode(3, as: Int64.self) == Int64.max)
        #expect(try row.decode(4, as: Int64.self) == Int64.min)
        // numeric never passes through floating point: every digit survives.
        #expect(try row.decode(5, as: PostgresNumeric.self).text == "12345678901234567890.123456789")
        #expect(try row.decode(6, as: PostgresNumeric.self).text == "-2.25")
        #expect(try row.decode(6, as: PostgresNumeric.self).scaled(by: 2) == -225)
        #expect(try row.decode(7, as: Bool.self) == true)
        #expect(try row.decode(8, as: Bool.self) == false)
        #expect(try row.decode(9, as: PostgresDate.self) == PostgresDate(year: 2024, month: 2, day: 29))
        // The session runs in UTC: 23:30 at -07 is 06:30 the next day.
        #expect(try row.decode(10, as: PostgresTimestamp.self) == PostgresTimestamp(year: 2026, month: 11, day: 1, hour: 6, minute: 30, second: 0, microsecond: 123_456))
        #expect(try row.decode(11, as: PostgresJSON.self).text == #"{"a": [1, 2.5, "x"]}"#)
        #expect(try row.decode(12, as: [Int64].self) == [1, 2, 3])
        // Arrays with NULL elements: the literal parser keeps quotes, commas and NULL apart.
        #expect(try PostgresArrayLiteral.decode(row.decode(13, as: String.self)) == ["a\"b", nil, "c,d"])
        #expect(try row.decode(14, as: PostgresTimestamp.self).year == 1969)
        db.close()
    }

    @Test("NULL decodes as nil into optionals and is an error otherwise")
    func nulls() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        let row = try #require(try db.query("""
            SELECT NULL::text, NULL::int8, NULL::numeric, NULL::bool, NULL::date, NULL::timestamptz, NULL::jsonb, NULL::int4, NULL::int2
            """).first)
        #expect(try row.decode(0, as: String?.self) == nil)
        #expect(try row.decode(1, as: Int64?.self) == nil)
        #expect(try row.decode(2, as: PostgresNumeric?.self) == nil)
        #expect(try row.decode(3, as: Bool?.self) == nil)
        #expect(try row.decode(4, as: PostgresDate?.self) == nil)
        #expect(try row.decode(5, as: PostgresTimestamp?.self) == nil)
        #expect(try row.decode(6, as: PostgresJSON?.self) == nil)
        #expect(try row.decode(7, as: Int32?.self) == nil)
        #expect(try row.decode(8, as: Int16?.self) == nil)
        #expect(row.isNull(0))
        #expect(throws: PostgresError.self) { try row.decode(1, as: Int64.self) }
        // Bound NULLs travel as SQL NULL, not as the text "nil" or "".
        let bound = try db.query("SELECT $1::text IS NULL, $2::int8 IS NULL", [String?.none, Int64?.none])
        #expect(try bound.first?.decode(0, as: Bool.self) == true)
        #expect(try bound.first?.decode(1, as: Bool.self) == true)
        db.close()
    }

    @Test("a value of the wrong type is refused, never truncated")
    func wrongTypes() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        let row = try #require(try db.query("SELECT 2.5::numeric, 2.5::float8, 99999::int4, TIMESTAMP '2026-01-01 00:00', 'infinity'::date").first)
        #expect(throws: PostgresError.self) { try row.decode(0, as: Int64.self) }
        #expect(throws: PostgresError.self) { try row.decode(1, as: Int64.self) }
        #expect(throws: PostgresError.self) { try row.decode(1, as: PostgresNumeric.self) }
        #expect(throws: PostgresError.self) { try row.decode(2, as: Int16.self) }
        #expect(throws: PostgresError.self) { try row.decode(3, as: PostgresTimestamp.self) }
        #expect(throws: PostgresError.self) { try row.decode(4, as: PostgresDate.self) }
        db.close()
    }

    @Test("values round-trip through binding", arguments: [
        "", "plain", "quote ' and \" and \\ backslash", "new\nline", "emoji 😀 and ünïcödé", "{\"json\": true}", "NULL",
    ])
    func roundTrip(text: String) throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        #expect(try db.query("SELECT $1::text", [text]).scalar(String.self) == text)
        #expect(try db.query("SELECT ($1::text[])[1]", [[text]]).scalar(String.self) == text)
        #expect(try db.query("SELECT $1::text[]", [[text, "x"]]).first?.decode(0, as: [String].self) == [text, "x"])
        db.close()
    }
}
