import Postgres

/// What must hold after every step of every run, whatever was killed or crashed: the
/// committed state is checked (nothing else is visible).
public enum BillingInvariants {
    /// Violations, empty when all hold:
    /// - every invoice's net (subtotal) is the sum of its items, its tax the sum of its tax rows,
    ///   and every invoice past draft has items; each rate's row has the base of its items and
    ///   the tax rounded once half away from zero;
    /// - every invoice-number counter holds 1..N with no gap and no repeat, N its last value
    ///   (docs/invoices.md: whatever was killed, crashed or rolled back);
    /// - no time entry is debited twice as usage, or charged to contracts beyond its minutes;
    /// - no incident grant has more active uses than it holds.
    public static func violations(_ db: PostgresConnection) throws -> [String] {
        var found: [String] = []
        for row in try db.query("""
            SELECT i.id, i.source_key, i.status, i.subtotal, coalesce(sum(b.amount), 0)::bigint, count(b.id)
              FROM invoices i LEFT JOIN billable_items b ON b.customer_id = i.customer_id AND b.invoice_id = i.id
             GROUP BY i.customer_id, i.id
            HAVING i.subtotal <> coalesce(sum(b.amount), 0) OR (i.status <> 'draft' AND count(b.id) = 0)
             ORDER BY i.id LIMIT 20
            """) {
            found.append("invoice \(try row.decode(0, as: Int64.self)) \(try row.decode(1, as: String.self)) (\(try row.decode(2, as: String.self))): subtotal \(try row.decode(3, as: Int64.self)), items sum to \(try row.decode(4, as: Int64.self)) in \(try row.decode(5, as: Int64.self)) items")
        }
        for row in try db.query("""
            SELECT i.id, i.tax_total, coalesce(sum(t.tax), 0)::bigint
              FROM invoices i LEFT JOIN invoice_taxes t ON t.customer_id = i.customer_id AND t.invoice_id = i.id
             GROUP BY i.customer_id, i.id HAVING i.tax_total <> coalesce(sum(t.tax), 0) ORDER BY i.id LIMIT 20
            """) {
            found.append("invoice \(try row.decode(0, as: Int64.self)): tax_total \(try row.decode(1, as: Int64.self)), tax rows sum to \(try row.decode(2, as: Int64.self))")
        }
        // Each rate's row: its base the sum of that rate's items, its tax rounded once half away
        // from zero (PostgreSQL's numeric round), whatever was killed (drafts included).
        for row in try db.query("""
            SELECT coalesce(t.invoice_id, b.invoice_id), coalesce(t.tax_rate, b.tax_rate), t.base, b.base, t.tax
              FROM invoice_taxes t
              FULL JOIN (SELECT customer_id, invoice_id, tax_rate, tax_percent, sum(amount)::bigint AS base
                           FROM billable_items WHERE invoice_id IS NOT NULL AND tax_rate IS NOT NULL
                          GROUP BY 1, 2, 3, 4) b
                ON (b.customer_id, b.invoice_id, b.tax_rate, b.tax_percent) = (t.customer_id, t.invoice_id, t.tax_rate, t.tax_percent)
             WHERE t.base IS DISTINCT FROM b.base OR t.tax <> round(t.base * t.tax_percent / 100)
             ORDER BY 1 LIMIT 20
            """) {
            found.append("invoice \(try row.decode(0, as: Int64.self)) rate \(try row.decode(1, as: String.self)): tax row base \(try row.decode(2, as: Int64?.self).map(String.init) ?? "none"), items \(try row.decode(3, as: Int64?.self).map(String.init) ?? "none"), tax \(try row.decode(4, as: Int64?.self).map(String.init) ?? "none")")
        }
        for row in try db.query("""
            SELECT n.series, n.credit_note, n.year, n.count, n.distinct_values, n.max_value, coalesce(c.last_value, 0)
              FROM (SELECT number_series AS series, number_credit_note AS credit_note, number_year AS year, count(*) AS count,
                           count(DISTINCT number_value) AS distinct_values, max(number_value) AS max_value
                      FROM invoices WHERE number IS NOT NULL GROUP BY 1, 2, 3) n
              FULL JOIN invoice_counters c ON (c.series, c.credit_note, c.year) = (n.series, n.credit_note, n.year)
             WHERE n.count IS DISTINCT FROM n.max_value OR n.count IS DISTINCT FROM n.distinct_values
                OR coalesce(n.max_value, 0) <> c.last_value
            """) {
            found.append("invoice numbers of series \(try row.decode(0, as: String?.self) ?? "?") (credit notes: \(try row.decode(1, as: Bool?.self).map(String.init) ?? "?"), year \(try row.decode(2, as: Int?.self).map(String.init) ?? "?")): \(try row.decode(3, as: Int64?.self) ?? 0) invoices, \(try row.decode(4, as: Int64?.self) ?? 0) distinct values, the highest \(try row.decode(5, as: Int64?.self) ?? 0), the counter at \(try row.decode(6, as: Int64.self))")
        }
        for row in try db.query("""
            SELECT time_entry_id, count(*) FROM credit_ledger WHERE reason = 'usage' GROUP BY time_entry_id HAVING count(*) > 1 LIMIT 20
            """) {
            found.append("time entry \(try row.decode(0, as: Int64.self)) debited \(try row.decode(1, as: Int64.self)) times as usage")
        }
        for row in try db.query("""
            SELECT cc.time_entry_id, sum(cc.minutes), te.minutes
              FROM contract_charges cc JOIN time_entries te ON te.id = cc.time_entry_id
             GROUP BY cc.time_entry_id, te.minutes HAVING sum(cc.minutes) > te.minutes LIMIT 20
            """) {
            found.append("time entry \(try row.decode(0, as: Int64.self)) charged \(try row.decode(1, as: Int64.self)) min to contracts, it has \(try row.decode(2, as: Int64.self))")
        }
        for row in try db.query("""
            SELECT g.id, g.quantity, count(u.id) FROM incident_grants g
              JOIN incident_uses u ON u.customer_id = g.customer_id AND u.grant_id = g.id AND u.returned_at IS NULL
             GROUP BY g.id, g.quantity HAVING count(u.id) > g.quantity LIMIT 20
            """) {
            found.append("incident grant \(try row.decode(0, as: Int64.self)) of \(try row.decode(1, as: Int64.self)) has \(try row.decode(2, as: Int64.self)) active uses")
        }
        return found
    }
}
