import Foundation
import Postgres

/// Watches a supportbill run from another session: what its backend is doing
/// (`pg_stat_activity`, found by the application name the runner sets), and waits for states.
public struct RunnerProbe {
    public let db: PostgresConnection
    public let job: String

    public init(_ db: PostgresConnection, job: String) {
        self.db = db
        self.job = job
    }

    public struct Activity: Sendable, CustomStringConvertible {
        public let pid: Int32
        public let state: String
        public let waitEventType: String?
        public let waitEvent: String?
        public let query: String
        public let inTransaction: Bool
        /// Waiting for a lock the test's blocking session holds.
        public let blockedByTest: Bool
        /// The role the run connected as (`usename`).
        public let role: String

        /// Waiting for a heavyweight lock (a row, a transaction, an advisory lock).
        public var isWaitingForLock: Bool { waitEventType == "Lock" }
        public var description: String { "pid \(pid) \(state) \(waitEventType ?? "-")/\(waitEvent ?? "-") \(query.prefix(120))" }
    }

    /// The run's backend, if it is connected. `blocker` is a backend pid of the test's: whether
    /// it is one of those the run waits for (`pg_blocking_pids`).
    public func activity(blockedBy blocker: Int32 = 0) throws -> Activity? {
        try db.query("""
            SELECT pid, coalesce(state, ''), wait_event_type, wait_event, coalesce(query, ''), xact_start IS NOT NULL,
                   $2::int = ANY(pg_blocking_pids(pid)), coalesce(usename::text, '')
              FROM pg_stat_activity
             WHERE datname = current_database() AND application_name LIKE $1 AND pid <> pg_backend_pid()
             ORDER BY backend_start DESC LIMIT 1
            """, ["supportbill \(job)%", blocker]).first.map { row in
            Activity(pid: try row.decode(0), state: try row.decode(1), waitEventType: try row.decode(2, as: String?.self),
                     waitEvent: try row.decode(3, as: String?.self), query: try row.decode(4), inTransaction: try row.decode(5),
                     blockedByTest: try row.decode(6), role: try row.decode(7))
        }
    }

    /// Waits until the run's backend waits for a lock held by the test's session `blocker`
    /// (its backend pid), in a statement starting with `statement` (pg_stat_activity keeps
    /// only the first kilobyte of a query, so match its beginning).
    public func waitUntilBlocked(by blocker: Int32, in statement: String, timeout: Duration = .seconds(180)) throws -> Activity {
        var last: Activity?
        let found = try RunnerProbe.poll(timeout: timeout) { () -> Activity? in
            last = try activity(blockedBy: blocker)
            guard let activity = last, activity.isWaitingForLock, activity.blockedByTest,
                  activity.query.trimmingCharacters(in: .whitespacesAndNewlines).hasPrefix(statement) else { return nil }
            return activity
        }
        guard let found else {
            throw PostgresError.usage("the \(job) run never waited for the test's lock in a statement starting \(statement.debugDescription); last seen: \(last.map(String.init(describing:)) ?? "not connected")")
        }
        return found
    }

    /// Polls `condition` every 20 ms until it returns a value or `timeout` passes (then nil).
    public static func poll<T>(timeout: Duration, _ condition: () throws -> T?) throws -> T? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let value = try condition() { return value }
            usleep(20_000)
        }
        return try condition()
    }
}
