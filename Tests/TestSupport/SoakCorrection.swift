import Postgres

/// One kind of input correction the soak test makes between runs, as the helpdesk and billing
/// platform would: the same correction is applied to the faulted database and to the clean
/// reference, so it draws its numbers first (`draw`) and then picks rows by content, never by
/// the id of a row the jobs wrote (a killed run advances sequences, so two databases number
/// the same invoice differently).
///
/// To add a kind once the jobs converge on it (docs/design.md §9: entries edited, re-dated,
/// withdrawn or moved; payments deleted, reduced or moved; service terms corrected), write a
/// `SoakCorrection` below and add it to `enabled`.
public struct SoakCorrection: Sendable {
    public let name: String
    /// How many numbers `apply` takes (drawn from the soak's seeded sequence, 0...999_999).
    public let draws: Int
    /// Applies the correction as the inputs' owner at `asOf` (RFC 3339); returns what it did
    /// (nil: nothing to correct today).
    public let apply: @Sendable (PostgresConnection, [Int], String) throws -> String?

    public init(name: String, draws: Int, apply: @escaping @Sendable (PostgresConnection, [Int], String) throws -> String?) {
        self.name = name
        self.draws = draws
        self.apply = apply
    }

    /// The kinds every job converges on today; the soak draws from these.
    public static let enabled: [SoakCorrection] = [.lateTimeEntry, .paymentArrives, .paymentReversed]

    /// A time entry recorded late: worked up to 40 days before `asOf` (often in a month already
    /// billed: the rollup re-rates it, top-up debits it, contracts charge it), on a ticket open then.
    public static let lateTimeEntry = SoakCorrection(name: "late time entry", draws: 3) { db, numbers, asOf in
        try db.query("""
            WITH t AS (
                SELECT id, customer_id, opened_at FROM tickets
                 ORDER BY id OFFSET $1::bigint % greatest(1, (SELECT count(*) FROM tickets)) LIMIT 1
            )
            INSERT INTO time_entries (customer_id, ticket_id, worked_at, minutes, billable, staff, note)
            SELECT customer_id, id, greatest(opened_at, $4::timestamptz - ($2::int % (40 * 24)) * interval '1 hour' - interval '1 minute'),
                   1 + $3::int % 180, true, 'soak', 'recorded late'
              FROM t
            RETURNING 'entry ' || id || ' on ticket ' || ticket_id || ' at ' || worked_at || ', ' || minutes || ' min'
            """, [Int64(numbers[0]), numbers[1], numbers[2], asOf]).first.map { try $0.decode(0, as: String.self) }
    }

    /// A payment arriving for an issued invoice not yet paid (its total), a few hours before `asOf`.
    public static let paymentArrives = SoakCorrection(name: "payment arrives", draws: 1) { db, numbers, asOf in
        try db.query("""
            WITH open AS (
                SELECT i.id, i.customer_id, i.total, i.currency, i.source_key FROM invoices i
                 WHERE i.status = 'issued' AND i.total > 0
                   AND coalesce((SELECT sum(p.amount) FROM payments p WHERE p.invoice_id = i.id AND p.status = 'completed'), 0) < i.total
            ), pick AS (
                SELECT * FROM open ORDER BY source_key OFFSET $1::bigint % greatest(1, (SELECT count(*) FROM open)) LIMIT 1
            )
            INSERT INTO payments (customer_id, invoice_id, amount, currency, received_at, status)
            SELECT customer_id, id, total, currency, $2::timestamptz - interval '3 hours', 'completed' FROM pick
            RETURNING 'payment of ' || amount || ' ' || currency || ' for invoice of customer ' || customer_id
            """, [Int64(numbers[0]), asOf]).first.map { try $0.decode(0, as: String.self) }
    }

    /// A completed payment reversed (a charge-back): invoice payments and funds alike.
    public static let paymentReversed = SoakCorrection(name: "payment reversed", draws: 1) { db, numbers, asOf in
        try db.query("""
            WITH pick AS (
                SELECT id FROM payments WHERE status = 'completed' AND received_at < $2::timestamptz
                 ORDER BY id OFFSET $1::bigint % greatest(1, (SELECT count(*) FROM payments WHERE status = 'completed' AND received_at < $2::timestamptz)) LIMIT 1
            )
            UPDATE payments p SET status = 'reversed' FROM pick WHERE p.id = pick.id
            RETURNING 'payment ' || p.id || ' of customer ' || p.customer_id || ' reversed'
            """, [Int64(numbers[0]), asOf]).first.map { try $0.decode(0, as: String.self) }
    }
}
