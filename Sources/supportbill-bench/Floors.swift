import BillingCore
import BillingJobs
import Postgres

/// The physical floor per job: what PostgreSQL itself needs to compute the job's figures with
/// hand-written set-based statements into temp tables.
enum Floors {
    struct Measurement {
        let milliseconds: Int64
    }

    static func statements(for job: JobName, provider: SyntheticProvider, asOf: Instant) -> [String]? {
        switch job {
        default: return nil
        }
    }

    static func measure(_ job: JobName, db: PostgresConnection, provider: SyntheticProvider, asOf: Instant) throws -> Measurement? {
        guard let statements = statements(for: job, provider: provider, asOf: asOf) else { return nil }
        let started = ContinuousClock.now
        try db.transaction { db in
            for statement in statements { try db.execute(statement, []) }
        }
        let elapsed = ContinuousClock.now - started
        return Measurement(milliseconds: elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
    }
}
