import BillingCore
import BillingJobs
import BillingStore
import Postgres

/// A sixth job, for tests only: docs/writing-a-job.md's checklist made concrete. It records, once,
/// each customer whose billable minutes reach `minimum_minutes` (in `test_tallies`, created by
/// the test). Everything a registered job must state is stated here because `RegisteredJob`
/// requires it: leave out `summary` or `defectsSkippedByRunner` and this file does not compile.
///
/// `JobName` is closed (a case is a public name: CLI word, `job_runs.job`, jobs file, timer), so
/// a test job cannot add one; it borrows contract-expiry-rollover's name, and with it that job's
/// lock, its jobs file name and the defects `supportbill check` assigns to it.
struct TallyJob: RegisteredJob {
    static let name = JobName.contractExpiryRollover
    static let summary = "record each customer whose billable time reaches minimum_minutes"
    /// The borrowed name's: the runner locks by name.
    static let lockObjectID: Int32 = 5
    static let dailyRank = 60
    /// A far-future entry would count in the tally, so the runner screens for it.
    static let defectsSkippedByRunner: Set<DataDefectKind> = [.entryFarFuture]

    static let schema = """
        CREATE TABLE test_tallies (
            customer_id bigint NOT NULL,
            source_key  text NOT NULL UNIQUE,
            minutes     bigint NOT NULL,
            run_id      bigint NOT NULL
        )
        """

    let parameters: TallyParameters

    static func make(_ parameters: TallyParameters) -> TallyJob { TallyJob(parameters: parameters) }

    func customers(_ context: JobContext) throws -> [Int64] {
        try context.db.query("SELECT id FROM customers WHERE ($1::bigint[] IS NULL OR id = ANY($1)) ORDER BY id",
                             [context.customerFilterBind]).map { try $0.decode(0, as: Int64.self) }
    }

    func process(_ batch: [CustomerRecord], _ context: JobContext) throws -> JobOutput {
        var output = JobOutput()
        let inserted = try context.db.query("""
            INSERT INTO test_tallies (customer_id, source_key, minutes, run_id)
            SELECT e.customer_id, 'tally:' || e.customer_id, sum(e.minutes), $3
              FROM time_entries e
             WHERE e.customer_id = ANY($1::bigint[]) AND e.billable
             GROUP BY e.customer_id
            HAVING sum(e.minutes) >= $2::bigint
            ON CONFLICT (source_key) DO NOTHING
            RETURNING customer_id, source_key, minutes
            """, [batch.map(\.id), Int64(parameters.minimumMinutes), context.runID])
        for row in inserted {
            let customer = try row.decode(0, as: Int64.self)
            let key = try row.decode(1, as: String.self)
            output.count("tallies")
            output.append(.events, ReportRecord(customerID: customer, sortKey: key, fields: [
                ("customer_id", .int(customer)), ("source_key", .string(key)), ("minutes", .int(try row.decode(2, as: Int64.self))),
            ]))
        }
        return output
    }
}

/// TallyJob's keys in its jobs file: `schedule` and `minimum_minutes`.
struct TallyParameters: JobParameters {
    var schedule = "*-*-* 07:00:00 UTC"
    var minimumMinutes = 60

    init() {}

    init(reading reader: inout TOMLReader) throws {
        let defaults = Self()
        schedule = try reader.string("schedule", default: defaults.schedule)
        minimumMinutes = try reader.int("minimum_minutes", default: defaults.minimumMinutes, range: 1...100_000)
    }
}
