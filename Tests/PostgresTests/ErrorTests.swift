import Foundation
import Postgres
import TestSupport
import Testing

@Suite("PostgresError keeps SQLSTATE, message, detail and hint apart and leaks no data")
struct ErrorTests {
    @Test("a unique violation keeps its fields; the description holds no bound value")
    func uniqueViolation() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        try db.execute("CREATE TABLE accounts (card text PRIMARY KEY)")
        let secret = "4111-1111-1111-1111"
        try db.execute("INSERT INTO accounts VALUES ($1)", [secret])
        do {
            try db.execute("INSERT INTO accounts VALUES ($1)", [secret])
            Issue.record("expected a unique violation")
        } catch let error as PostgresError {
            #expect(error.sqlState == "23505")
            #expect(error.isDataError)
            #expect(error.constraintName == "accounts_pkey")
            #expect(error.message.contains("duplicate key"))
            #expect(error.detail?.contains(secret) == true)   // the server put it in DETAIL...
            #expect(!error.description.contains(secret))        // ...which the description leaves out
            #expect(!"\(error)".contains("1111"))
        }
        db.close()
    }

    @Test("invalid input: the server quotes the value; the description redacts it")
    func invalidInput() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        let payload = "s3cr3t-not-a-number"
        do {
            try db.execute("SELECT $1::bigint", [payload])
            Issue.record("expected an error")
        } catch let error as PostgresError {
            #expect(error.sqlState == "22P02")
            #expect(!error.description.contains(payload))
            #expect(error.description.contains("invalid input syntax"))
        }
        // Each statement must fail: `#require(throws:)` records an issue when it does not.
        let divide = try #require(throws: PostgresError.self) { try db.execute("SELECT 1/0") }
        #expect(divide.sqlState == "22012")
        #expect(divide.isDataError)
        let syntax = try #require(throws: PostgresError.self) { try db.execute("RAISE") }
        #expect(syntax.sqlState == "42601")
        #expect(!syntax.isDataError)
        // A hint is kept apart from the message.
        let hinted = try #require(throws: PostgresError.self) { try db.execute("SELECT pg_advisory_unlock_all(1)") }
        #expect(hinted.sqlState == "42883")
        #expect(hinted.hint != nil)
        #expect(!hinted.message.contains("HINT"))
        db.close()
    }

    @Test("an unreachable server is 'unavailable', and the password is never in the message", arguments: [
        "postgresql://billing:Pa55w0rd-URI@127.0.0.1:1/support?connect_timeout=2",
        "host=/nonexistent/socket/dir port=5432 user=billing password=Pa55w0rd-KV dbname=support",
    ])
    func unreachable(conninfo: String) throws {
        do {
            _ = try PostgresConnection(conninfo: conninfo)
            Issue.record("connected to nothing?")
        } catch let error as PostgresError {
            #expect(error.isUnavailable)
            #expect(!error.description.contains("Pa55w0rd"))
            #expect(error.description.contains("could not connect"))
        }
    }
}
