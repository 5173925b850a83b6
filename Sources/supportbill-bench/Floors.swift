import BillingCore
import BillingJobs
import Postgres

/// The physical floor per job: hand-written set-based statements that compute the figures a job's
/// first run computes and write comparable rows into the same tables (with their indexes,
/// foreign keys and triggers), in one transaction that is rolled back. Its time is what
/// PostgreSQL itself needs for the work; the job's time over it is the price of everything
/// else (round trips, batches of customers, planning in Swift, the report).
///
/// Each floor also returns its figures, which the bench compares with the job's report
/// (`CrossCheck`): a job that is fast and wrong is worth nothing. docs/benchmark.md says what
/// each floor computes and which figures it can check.
enum Floors {
    struct Measurement {
        let milliseconds: Int64
        /// (figure, value): `counts.X`, `totals.CUR.X`, `sum:counts.a,counts.b`; `uncompared:...`
        /// names a figure the floor could not compute exactly on this data (see the floor).
        let figures: [(name: String, value: Int64)]
    }

    /// What every floor's statements may refer to.
    struct Context {
        let month: YearMonth
        let asOf: Instant
        let configuration: BenchConfiguration
        /// The floor's own `job_runs` row (output rows need one), rolled back with the rest.
        var runID: Int64 = 0
    }

    /// One statement of a floor.
    struct Step {
        let sql: String
        let binds: [any PostgresEncodable]

        init(_ sql: String, _ binds: [any PostgresEncodable] = []) {
            self.sql = sql
            self.binds = binds
        }
    }

    /// A job's floor: its statements, then one query returning (figure text, value bigint).
    struct Definition {
        let steps: [Step]
        let figures: Step
    }

    static func definition(for job: JobName, _ context: Context) -> Definition {
        switch job {
        case .monthlyRollup: return MonthlyRollupFloor.definition(context)
        case .thresholdTopup: return ThresholdTopupFloor.definition(context)
        case .suspensionSweep: return SuspensionSweepFloor.definition(context)
        case .incidentGrants: return IncidentGrantsFloor.definition(context)
        case .contractExpiryRollover: return ContractExpiryRolloverFloor.definition(context)
        }
    }

    /// Runs `job`'s floor in a transaction that is rolled back, and times it (the rollback
    /// included). The caller vacuums the tables afterwards, as autovacuum would.
    static func measure(_ job: JobName, db: PostgresConnection, month: YearMonth, asOf: Instant, configuration: BenchConfiguration) throws -> Measurement {
        var context = Context(month: month, asOf: asOf, configuration: configuration)
        let started = ContinuousClock.now
        try db.execute("BEGIN")
        do {
            try db.execute("SET LOCAL work_mem = '64MB'")
            context.runID = try db.query("""
                INSERT INTO job_runs (job, as_of, dry_run, status, started_at, invoked_by, host, pid)
                VALUES ($1, $2, false, 'running', now(), 'bench floor', 'bench', 0)
                RETURNING id
                """, [job.rawValue, asOf])[0].decode(0, as: Int64.self)
            let definition = definition(for: job, context)
            for step in definition.steps { try db.execute(step.sql, step.binds) }
            var figures: [(String, Int64)] = []
            for row in try db.query(definition.figures.sql, definition.figures.binds) {
                figures.append((try row.decode(0, as: String.self), try row.decode(1, as: Int64?.self) ?? 0))
            }
            try db.execute("ROLLBACK")
            return Measurement(milliseconds: milliseconds(since: started), figures: figures.sorted { $0.0 < $1.0 })
        } catch {
            db.rollbackQuietly()
            throw error
        }
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> Int64 {
        let elapsed = ContinuousClock.now - start
        return elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
    }
}
