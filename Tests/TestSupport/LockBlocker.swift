import Postgres

/// A session of the test that holds locks a run needs, in an open transaction, so that the run
/// stops at a known statement (a row it reads FOR UPDATE, a source_key it inserts, its
/// `job_runs` row, a job's advisory lock). `release()` rolls back and closes.
public final class LockBlocker {
    public let db: PostgresConnection

    public init(target: PostgresTarget) throws {
        db = try target.connect()
        // The test's session must never be the one a deadlock check picks.
        try db.execute("SET deadlock_timeout = '10min'")
        try db.execute("BEGIN")
    }

    /// Runs a locking statement inside the open transaction.
    @discardableResult
    public func hold(_ sql: String, _ binds: [any PostgresEncodable] = []) throws -> Int {
        try db.execute(sql, binds)
    }

    public func release() {
        if db.isOpen { _ = try? db.execute("ROLLBACK") }
        db.close()
    }

    deinit { release() }
}
