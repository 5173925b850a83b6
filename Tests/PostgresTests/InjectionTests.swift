import Postgres
import TestSupport
import Testing

@Suite("SQL injection payloads stay data")
struct InjectionTests {
    static let payloads = [
        "'; DROP TABLE victims; --",
        "Robert'); DROP TABLE victims;--",
        "\"; DELETE FROM victims; --",
        "1 OR 1=1",
        "$1",
        "\\'; SELECT pg_sleep(10); --",
        "') UNION SELECT usename, passwd FROM pg_shadow --",
        "$$; DROP TABLE victims; $$",
        "E'\\x27'",
        "}{\",NULL,\"",
    ]

    @Test("payloads bound as values are stored and read back verbatim; the table survives")
    func payloads() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        try db.execute("CREATE TABLE victims (id serial PRIMARY KEY, name text NOT NULL)")
        for payload in Self.payloads {
            try db.execute("INSERT INTO victims (name) VALUES ($1)", [payload])
        }
        // Whole arrays of payloads, as the bulk path sends them.
        try db.execute("INSERT INTO victims (name) SELECT * FROM unnest($1::text[])", [Self.payloads])
        let stored = try db.query("SELECT name FROM victims ORDER BY id").map { try $0.decode(0, as: String.self) }
        #expect(stored == Self.payloads + Self.payloads)
        for payload in Self.payloads {
            #expect(try db.query("SELECT count(*) FROM victims WHERE name = $1", [payload]).scalar(Int.self) == 2)
        }
        #expect(try db.query("SELECT to_regclass('victims') IS NOT NULL").scalar(Bool.self) == true)
        db.close()
    }
}
