import Postgres
import TestSupport
import Testing

@Suite("Transactions, savepoints, advisory locks, streaming and bulk writes")
struct TransactionTests {
    struct Boom: Error {}

    @Test("a rollback leaves nothing; a savepoint rollback keeps the rest of the transaction")
    func rollback() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        try db.execute("CREATE TABLE t (v int)")
        #expect(throws: Boom.self) {
            try db.transaction { db in
                try db.execute("INSERT INTO t VALUES (1)")
                throw Boom()
            }
        }
        #expect(try db.query("SELECT count(*) FROM t").scalar(Int.self) == 0)
        #expect(!db.inTransaction)

        try db.transaction { db in
            try db.execute("INSERT INTO t VALUES (1)")
            #expect(throws: Boom.self) {
                try db.savepoint { db in
                    try db.execute("INSERT INTO t VALUES (2)")
                    throw Boom()
                }
            }
            // A failed statement inside a savepoint does not poison the transaction either.
            #expect(throws: PostgresError.self) {
                try db.savepoint { db in try db.execute("INSERT INTO t VALUES ('not a number')") }
            }
            try db.execute("INSERT INTO t VALUES (3)")
        }
        #expect(try db.query("SELECT array_agg(v ORDER BY v) FROM t").scalar([Int64].self) == [1, 3])
        #expect(throws: PostgresError.self) { try db.transaction { db in try db.transaction { _ in } } }
        db.close()
    }

    @Test("session advisory locks exclude other sessions until released or disconnected")
    func advisoryLocks() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let first = try database.connect()
        let second = try database.connect()
        let key = PostgresAdvisoryLockKey(classID: 42, objectID: 7)
        #expect(try first.tryAdvisoryLock(key))
        #expect(try !second.tryAdvisoryLock(key))
        #expect(try first.advisoryUnlock(key))
        #expect(try second.tryAdvisoryLock(key))
        second.close()  // a dead session's lock goes with it (once its backend has exited)
        var acquired = false
        for _ in 0..<100 where !acquired {
            acquired = try first.tryAdvisoryLock(key)
            if !acquired { usleep(20_000) }
        }
        #expect(acquired)

        // Transaction-level locks end with the transaction.
        let third = try database.connect()
        try first.advisoryUnlock(key)
        try third.transaction { db throws in
            #expect(try db.tryAdvisoryTransactionLock(key))
            #expect(try !first.tryAdvisoryLock(key))
        }
        #expect(try first.tryAdvisoryLock(key))
        first.close()
        third.close()
    }

    @Test("streaming reads deliver every row one at a time, and a failing consumer leaves the connection usable")
    func streaming() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        var count = 0
        var sum: Int64 = 0
        try db.stream("SELECT g FROM generate_series(1, $1::int) g", [200_000]) { row in
            count += 1
            sum += try row.decode(0, as: Int64.self)
        }
        #expect(count == 200_000)
        #expect(sum == 200_000 * 200_001 / 2)

        var seen = 0
        #expect(throws: Boom.self) {
            try db.stream("SELECT g FROM generate_series(1, 1000000) g") { _ in
                seen += 1
                if seen == 10 { throw Boom() }
            }
        }
        #expect(seen == 10)
        #expect(try db.query("SELECT 1").scalar(Int.self) == 1)
        db.close()
    }

    @Test("bulk insert-if-absent through unnest arrays is idempotent")
    func bulkInsert() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        try db.execute("CREATE TABLE bulk_items (key text PRIMARY KEY, amount bigint NOT NULL, note text)")
        let keys = (0..<50_000).map { "k\($0)" }
        let amounts = (0..<50_000).map { Int64($0) * 3 }
        let notes: [String?] = (0..<50_000).map { $0 % 7 == 0 ? nil : "n'\($0)" }
        let sql = """
            INSERT INTO bulk_items (key, amount, note)
            SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[])
            ON CONFLICT (key) DO NOTHING
            RETURNING key
            """
        #expect(try db.query(sql, [keys, amounts, notes]).count == 50_000)
        #expect(try db.query(sql, [keys, amounts, notes]).count == 0)
        #expect(try db.query("SELECT sum(amount)::bigint, count(note) FROM bulk_items").first?.decode(0, as: Int64.self) == amounts.reduce(0, +))
        #expect(try db.query("SELECT count(*) FROM bulk_items WHERE note IS NULL").scalar(Int.self) == notes.filter { $0 == nil }.count)
        db.close()
    }

    @Test("a cancel handle stops a running statement from another thread")
    func cancel() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        let handle = try #require(db.cancelHandle())
        let thread = Thread {
            Thread.sleep(forTimeInterval: 0.3)
            handle.cancel()
        }
        thread.start()
        do {
            try db.execute("SELECT pg_sleep(30)")
            Issue.record("the statement was not cancelled")
        } catch let error as PostgresError {
            #expect(error.sqlState == "57014")
            #expect(error.isCancellation)
        }
        #expect(try db.query("SELECT 1").scalar(Int.self) == 1)
        db.close()
    }
}

import Foundation
