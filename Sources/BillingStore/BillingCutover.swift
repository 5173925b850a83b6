import BillingCore
import Postgres

/// The cut-over (sql/190_cutover.sql, docs/operations.md "Cut-over"): the first local date
/// supportbill bills. Every job's loader reads it and hands it to its planner as a plain value;
/// the planners emit nothing dated before it. `supportbill cutover` shows and sets it.
public enum BillingCutover {
    /// The stored row.
    public struct Setting: Sendable, Equatable {
        public let date: LocalDate
        public let setAt: Instant
        public let setBy: String
    }

    /// What supportbill already emitted that is dated before some date: one line per kind.
    public struct Emitted: Sendable, Equatable, CustomStringConvertible {
        /// `billable_items`, `credit_ledger`, `incident_grants`, `incident_uses`, `contract_charges`.
        public let table: String
        public let rows: Int
        /// The earliest date among them (the customer's local date).
        public let earliest: LocalDate
        /// One of them (the earliest), to look at.
        public let exampleID: Int64
        public let exampleCustomerID: Int64

        public var description: String {
            "\(rows) \(table) row\(rows == 1 ? "" : "s") dated from \(earliest) (e.g. id \(exampleID), customer \(exampleCustomerID))"
        }
    }

    /// The cut-over, nil when none is set. One primary-key lookup: loaders call it per batch.
    public static func load(_ db: PostgresConnection) throws -> LocalDate? {
        try db.query("SELECT cutover FROM billing_cutover").first?.decode(0, as: LocalDate.self)
    }

    public static func setting(_ db: PostgresConnection) throws -> Setting? {
        guard let row = try db.query("SELECT cutover, set_at, set_by FROM billing_cutover").first else { return nil }
        return Setting(date: try row.decode(0), setAt: try row.decode(1), setBy: try row.decode(2))
    }

    /// What supportbill emitted that is dated before `date`, by the date each job's rule uses
    /// for "before the cut-over" (docs/operations.md): an item's `period_start` (a fee period's
    /// start, the first day of a usage month), the local date a ledger row's time entry was
    /// worked (else the local date the row was written), a grant's `valid_from` (manual grants
    /// are staff's and not counted), the local opening date of the ticket of a use not returned,
    /// and the local date of a charged entry. Five aggregates, one statement.
    public static func emitted(before date: LocalDate, _ db: PostgresConnection) throws -> [Emitted] {
        try db.query("""
            WITH dated AS (
                SELECT 'billable_items' AS tbl, b.id, b.customer_id, b.period_start AS d
                  FROM billable_items b
                 WHERE b.period_start < $1
                UNION ALL
                SELECT 'credit_ledger', l.id, l.customer_id,
                       COALESCE((e.worked_at AT TIME ZONE c.timezone)::date, (l.created_at AT TIME ZONE c.timezone)::date)
                  FROM credit_ledger l
                  JOIN customers c ON c.id = l.customer_id
                  LEFT JOIN time_entries e ON e.id = l.time_entry_id
                UNION ALL
                SELECT 'incident_grants', g.id, g.customer_id, g.valid_from
                  FROM incident_grants g
                 WHERE g.valid_from < $1 AND g.revoked_at IS NULL AND g.source <> 'manual'
                UNION ALL
                SELECT 'incident_uses', u.id, u.customer_id, (t.opened_at AT TIME ZONE c.timezone)::date
                  FROM incident_uses u
                  JOIN tickets t ON t.id = u.ticket_id
                  JOIN customers c ON c.id = u.customer_id
                 WHERE u.returned_at IS NULL
                UNION ALL
                SELECT 'contract_charges', k.id, k.customer_id, (e.worked_at AT TIME ZONE c.timezone)::date
                  FROM contract_charges k
                  JOIN time_entries e ON e.id = k.time_entry_id
                  JOIN customers c ON c.id = k.customer_id
            )
            SELECT tbl, count(*)::int, min(d), (array_agg(id ORDER BY d, id))[1], (array_agg(customer_id ORDER BY d, id))[1]
              FROM dated
             WHERE d < $1
             GROUP BY tbl
             ORDER BY min(d), tbl
            """, [date]).map { row in
            Emitted(table: try row.decode(0), rows: try row.decode(1), earliest: try row.decode(2),
                    exampleID: try row.decode(3), exampleCustomerID: try row.decode(4))
        }
    }

    /// Stores `date` as the cut-over, in one transaction that locks the row's table against a
    /// concurrent `--set`. Moving it later than it is (or setting a first one) is refused when
    /// something already emitted is dated before `date`: the jobs would leave that alone and
    /// the books would no longer say one thing. Moving it earlier only lets the jobs bill more.
    public static func set(_ date: LocalDate, _ db: PostgresConnection) throws -> Setting {
        try db.transaction { db in
            try db.execute("LOCK TABLE billing_cutover IN EXCLUSIVE MODE")
            let current = try load(db)
            if current.map({ date > $0 }) ?? true {
                let emitted = try emitted(before: date, db)
                if !emitted.isEmpty { throw CutoverRefused(date: date, current: current, emitted: emitted) }
            }
            try db.execute("""
                INSERT INTO billing_cutover (singleton, cutover) VALUES (true, $1)
                ON CONFLICT (singleton) DO UPDATE SET cutover = EXCLUDED.cutover, set_at = now(), set_by = session_user
                """, [date])
            guard let setting = try setting(db) else { throw PostgresError.decoding("billing_cutover has no row after it was set") }
            return setting
        }
    }

    /// Time entries and payments older than `before`: what `migrate` warns about while no
    /// cut-over is set. Two index range scans (sql/060 indexes worked_at and received_at).
    public static func history(before: Instant, _ db: PostgresConnection) throws -> (entries: Int, payments: Int) {
        guard let row = try db.query("""
            SELECT (SELECT count(*) FROM time_entries WHERE worked_at < $1)::int,
                   (SELECT count(*) FROM payments WHERE received_at < $1)::int
            """, [before]).first else { return (0, 0) }
        return (try row.decode(0), try row.decode(1))
    }
}

/// `cutover --set` moving the date past what supportbill already emitted.
public struct CutoverRefused: Error, CustomStringConvertible, Sendable {
    public let date: LocalDate
    public let current: LocalDate?
    public let emitted: [BillingCutover.Emitted]

    public var description: String {
        let from = current.map { "from \($0) to \(date)" } ?? "to \(date)"
        return "refusing to move the cut-over \(from): supportbill already emitted rows dated before \(date): "
            + emitted.map(\.description).joined(separator: "; ")
            + ". Those were billed by supportbill; a cut-over after them would leave them out of every later correction. "
            + "Choose a date on or before \(emitted.map(\.earliest).min().map(String.init(describing:)) ?? "\(date)")."
    }
}
