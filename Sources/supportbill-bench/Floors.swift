import BillingCore
import BillingJobs
import Postgres

/// The physical floor per job: hand-written set-based statements that compute the figures a job's
/// first run computes and write the same rows, in one transaction that is rolled back. Each
/// floor runs twice (issue 20):
/// - **honest** (`lean`): on a copy of the database whose output tables keep only their primary
///   key and idempotency key (`source_key`), with no foreign keys and no triggers
///   (`DatabaseCopy.Switch.lean`), writing each row once in its final state (an invoice is
///   inserted issued, not drafted and then issued): the least work that produces the job's
///   figures and rows. The job's time over it is the price of everything the job does beyond
///   that: the guards (foreign keys, triggers, indexes), round trips, batches, planning in Swift;
/// - **same schema**: on the real database, writing into the same tables as the job (with their
///   indexes, foreign keys and triggers): the job's time over it is the price of the job's shape
///   alone, not of the schema's guards.
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
        /// The honest floor: on a lean copy (no triggers keep derived tables, no immutability
        /// trigger asks for drafts first), so rows are written once, in their final state.
        var lean = false
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
    static func measure(_ job: JobName, db: PostgresConnection, month: YearMonth, asOf: Instant, configuration: BenchConfiguration,
                        lean: Bool = false) throws -> Measurement {
        var context = Context(month: month, asOf: asOf, configuration: configuration)
        context.lean = lean
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
