import Postgres

/// What must hold after every step of every run, whatever was killed or crashed: the
/// committed state is checked (nothing else is visible).
public enum BillingInvariants {
    /// Violations, empty when all hold:
    /// - every invoice's total is the sum of its items, and every invoice past draft has items;
    /// - no time entry is debited twice as usage, or charged to contracts beyond its minutes;
    /// - no incident grant has more active uses than it holds.
    public static func violations(_ db: PostgresConnection) throws -> [String] {
        var found: [String] = []
        for row in try db.query("""
            SELECT i.id, i.source_key, i.status, i.total, coalesce(sum(b.amount), 0)::bigint, count(b.id)
              FROM invoices i LEFT JOIN billable_items b ON b.customer_id = i.customer_id AND b.invoice_id = i.id
             GROUP BY i.id
            HAVING i.total <> coalesce(sum(b.amount), 0) OR (i.status <> 'draft' AND count(b.id) = 0)
             ORDER BY i.id LIMIT 20
            """) {
            found.append("invoice \(try row.decode(0, as: Int64.self)) \(try row.decode(1, as: String.self)) (\(try row.decode(2, as: String.self))): total \(try row.decode(3, as: Int64.self)), items sum to \(try row.decode(4, as: Int64.self)) in \(try row.decode(5, as: Int64.self)) items")
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
