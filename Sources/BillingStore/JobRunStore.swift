import BillingCore
import Postgres

/// The `job_runs` lifecycle: running, then succeeded, partial or failed.
public enum JobRunStore {
    public struct Start: Sendable {
        public var job: String
        public var asOf: Instant
        public var period: DateRange?
        public var dryRun: Bool
        public var invokedBy: String
        public var host: String
        public var pid: Int

        public init(job: String, asOf: Instant, period: DateRange?, dryRun: Bool, invokedBy: String, host: String, pid: Int) {
            self.job = job
            self.asOf = asOf
            self.period = period
            self.dryRun = dryRun
            self.invokedBy = invokedBy
            self.host = host
            self.pid = pid
        }
    }

    /// Marks `running` rows of `job` as failed. Call only while holding the job's lock: then no
    /// other run of the job is alive, so any `running` row was left by a process that died.
    @discardableResult
    public static func failStaleRuns(_ db: PostgresConnection, job: String, foundBy: String) throws -> [Int64] {
        try db.query("""
            UPDATE job_runs
               SET status = 'failed', finished_at = now(),
                   error = 'stale: the process died while running (found by ' || $2 || ')'
             WHERE job = $1 AND status = 'running'
            RETURNING id
            """, [job, foundBy]).map { try $0.decode(0, as: Int64.self) }
    }

    public static func insert(_ db: PostgresConnection, _ start: Start) throws -> Int64 {
        let id = try db.query("""
            INSERT INTO job_runs (job, as_of, period_start, period_end, dry_run, status, started_at, invoked_by, host, pid)
            VALUES ($1, $2, $3, $4, $5, 'running', clock_timestamp(), $6, $7, $8)
            RETURNING id
            """, [start.job, start.asOf, start.period?.start, start.period?.end, start.dryRun, start.invokedBy, start.host, start.pid])
            .scalar(Int64.self)
        guard let id else { throw PostgresError.usage("INSERT INTO job_runs returned no id") }
        return id
    }

    public static func finish(_ db: PostgresConnection, id: Int64, status: String, stats: JSONValue, error: String?) throws {
        // statement_timestamp(), not clock_timestamp(): the same instant here (the statement
        // starts when the run ends), and stable, which Citus requires of an UPDATE of a
        // distributed or reference table (docs/scale-out.md).
        try db.execute("""
            UPDATE job_runs SET status = $2, finished_at = statement_timestamp(), stats = $3::jsonb, error = $4
             WHERE id = $1
            """, [id, status, stats, error])
    }

    /// The most recent runs, newest first.
    public static func recent(_ db: PostgresConnection, job: String? = nil, status: String? = nil, limit: Int = 20) throws -> [JobRunRecord] {
        try db.query("""
            SELECT id, job, as_of, period_start, period_end, dry_run, status, started_at, finished_at,
                   invoked_by, host, pid, stats, error
              FROM job_runs
             WHERE ($1::text IS NULL OR job = $1) AND ($2::text IS NULL OR status = $2)
             ORDER BY id DESC
             LIMIT $3
            """, [job, status, limit]).map(decode)
    }

    public static func find(_ db: PostgresConnection, id: Int64) throws -> JobRunRecord? {
        try db.query("""
            SELECT id, job, as_of, period_start, period_end, dry_run, status, started_at, finished_at,
                   invoked_by, host, pid, stats, error
              FROM job_runs WHERE id = $1
            """, [id]).map(decode).first
    }

    private static func decode(_ row: PostgresRow) throws -> JobRunRecord {
        JobRunRecord(
            id: try row.decode(0), job: try row.decode(1), asOf: try row.decode(2),
            periodStart: try row.decode(3, as: LocalDate?.self), periodEnd: try row.decode(4, as: LocalDate?.self),
            dryRun: try row.decode(5), status: try row.decode(6), startedAt: try row.decode(7),
            finishedAt: try row.decode(8, as: Instant?.self), invokedBy: try row.decode(9), host: try row.decode(10),
            pid: try row.decode(11), stats: try row.decode(12), error: try row.decode(13, as: String?.self)
        )
    }

    /// Who holds a job's advisory lock, for the message of a run locked out.
    public struct LockHolder: Sendable {
        /// The session from `pg_locks`, and its run if it has recorded one (a dry run's row is
        /// not visible: it lives in a transaction never committed).
        public let description: String
        /// The runner names its session `supportbill <job> ... (dry run)` before it takes the
        /// lock; pg_stat_activity shows application_name of every role's sessions, so this
        /// holds for a finance user's dry run too.
        public let isDryRun: Bool

        public init(description: String, isDryRun: Bool) {
            self.description = description
            self.isDryRun = isDryRun
        }
    }

    public static func holder(_ db: PostgresConnection, job: String, lock: PostgresAdvisoryLockKey) throws -> LockHolder {
        // A real run takes the lock, then records itself: a run locked out in between finds the
        // session but not yet its row. It looks again for up to a second, so that the message
        // names the run (a dry run's row is never visible: its transaction is rolled back).
        var holder = try describeHolder(db, job: job, lock: lock)
        for _ in 0..<10 where holder.awaitsItsRow {
            _ = try db.execute("SELECT pg_sleep(0.1)")
            holder = try describeHolder(db, job: job, lock: lock)
        }
        return holder.holder
    }

    private static func describeHolder(_ db: PostgresConnection, job: String, lock: PostgresAdvisoryLockKey) throws -> (holder: LockHolder, awaitsItsRow: Bool) {
        let session = try db.query("""
            SELECT a.pid, a.application_name, a.backend_start, a.usename::text
              FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
             WHERE l.locktype = 'advisory' AND l.granted
               AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
               AND l.classid = $1::bigint::oid AND l.objid = $2::bigint::oid AND l.objsubid = 2
             LIMIT 1
            """, [Int64(lock.classID), Int64(lock.objectID)]).first
        let run = try db.query("""
            SELECT id, started_at, invoked_by, host, pid FROM job_runs
             WHERE job = $1 AND status = 'running' ORDER BY id DESC LIMIT 1
            """, [job]).first

        var parts: [String] = []
        let application = try session?.decode(1, as: String?.self) ?? ""
        if let run {
            let id = try run.decode(0, as: Int64.self)
            let started = try run.decode(1, as: Instant.self)
            let by = try run.decode(2, as: String.self)
            let host = try run.decode(3, as: String.self)
            let pid = try run.decode(4, as: Int.self)
            parts.append("run \(id), started \(started) by \(by) on \(host) (pid \(pid))")
        } else if application.hasPrefix("supportbill ") {
            parts.append(String(application.dropFirst("supportbill ".count)))
        }
        if let session {
            let backend = try session.decode(0, as: Int.self)
            if parts.isEmpty {
                // Another role's session (an operator's): pg_stat_activity shows its pid and role
                // to the runner, not when it started.
                if let started = try session.decode(2, as: Instant?.self) {
                    parts.append("a session started \(started)")
                } else {
                    parts.append("a session of role \(try session.decode(3, as: String?.self) ?? "unknown")")
                }
            }
            parts.append("database backend pid \(backend)")
        }
        let isDryRun = application.hasPrefix("supportbill ") && application.hasSuffix("(dry run)")
        return (LockHolder(
            description: parts.isEmpty ? "another session (it may just have finished)" : parts.joined(separator: "; "),
            isDryRun: isDryRun
        ), run == nil && application.hasPrefix("supportbill ") && !isDryRun)
    }
}
