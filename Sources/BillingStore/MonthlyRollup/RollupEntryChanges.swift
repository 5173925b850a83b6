import BillingCore
import Postgres

/// The notes of changed time entries on metered services (`rollup_entry_changes`, sql/150): the
/// rollup deletes those of the months it re-rated, and what is left in months older than its
/// window is a late entry no timer run bills (reported with the command that bills it, and by
/// `supportbill check`). The queue holds only changes since their month was last re-rated, so
/// both statements read a few rows through `(customer_id, worked_at)`, never the history.
public enum RollupEntryChanges {
    /// The run's watermark while it runs: notes written after `prepare` (an entry recorded while
    /// the run is under way, which the run's usage did not see) are left for the next run.
    static let markTable = "pg_temp.monthly_rollup_entry_mark"

    public static func prepare(_ db: PostgresConnection) throws {
        try db.execute("DROP TABLE IF EXISTS \(markTable)")
        try db.execute("CREATE TEMP TABLE monthly_rollup_entry_mark AS SELECT COALESCE(max(id), 0) AS id FROM rollup_entry_changes")
    }

    /// One customer's months as local dates `[start, end)`.
    public struct Range: Sendable {
        public let customerID: Int64
        public let range: DateRange

        public init(customerID: Int64, range: DateRange) {
            self.customerID = customerID
            self.range = range
        }
    }

    /// Deletes the notes of the months the run re-rated (seen at `prepare`); returns how many.
    @discardableResult
    public static func consume(_ db: PostgresConnection, rerated: [Range]) throws -> Int {
        guard !rerated.isEmpty else { return 0 }
        return try db.execute("""
            DELETE FROM rollup_entry_changes q
             USING unnest($1::bigint[], $2::date[], $3::date[]) AS w(customer_id, first_day, end_day), customers c
             WHERE c.id = w.customer_id AND q.customer_id = w.customer_id
               AND q.worked_at >= (w.first_day::timestamp AT TIME ZONE c.timezone)
               AND q.worked_at < (w.end_day::timestamp AT TIME ZONE c.timezone)
               AND q.id <= (SELECT id FROM \(markTable))
            """, [rerated.map(\.customerID), rerated.map(\.range.start), rerated.map(\.range.end)])
    }

    /// Late entries: notes of months before each customer's `before` date (the first day of the
    /// window the timer's runs bring up to date), per customer and local month.
    public struct Late: Sendable, Equatable {
        public let customerID: Int64
        public let month: YearMonth
        public let entries: Int
        public let firstEntryID: Int64
    }

    public static func late(_ db: PostgresConnection, before: [(customerID: Int64, day: LocalDate)]) throws -> [Late] {
        guard !before.isEmpty else { return [] }
        return try db.query("""
            SELECT q.customer_id, date_trunc('month', q.worked_at AT TIME ZONE c.timezone)::date AS month,
                   count(DISTINCT q.time_entry_id)::bigint, min(q.time_entry_id)
              FROM unnest($1::bigint[], $2::date[]) AS w(customer_id, first_day)
              JOIN customers c ON c.id = w.customer_id
              JOIN rollup_entry_changes q ON q.customer_id = w.customer_id
                                         AND q.worked_at < (w.first_day::timestamp AT TIME ZONE c.timezone)
              -- Entries worked before the cut-over are no month's to bill (docs/operations.md).
              LEFT JOIN billing_cutover k ON true
             WHERE k.cutover IS NULL OR q.worked_at >= (k.cutover::timestamp AT TIME ZONE c.timezone)
             GROUP BY q.customer_id, 2
             ORDER BY q.customer_id, 2
            """, [before.map(\.customerID), before.map(\.day)]).map { row in
            Late(customerID: try row.decode(0), month: try row.decode(1, as: LocalDate.self).yearMonth,
                 entries: Int(try row.decode(2, as: Int64.self)), firstEntryID: try row.decode(3))
        }
    }

    /// The exact command that bills a late month of one customer.
    public static func command(month: YearMonth, customerID: Int64) -> String {
        "supportbill run monthly-rollup --period \(month) --customer \(customerID)"
    }
}
