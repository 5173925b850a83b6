import Foundation
import Postgres

/// Everything the jobs write, as comparable text rows, for "the final tables equal those of one
/// clean run": outputs are identified by `source_key` (ids come from sequences, which a killed
/// run advances, so two databases may number the same rows differently), references between
/// outputs by the referenced row's `source_key`, inputs the jobs change (service and contract
/// status, group members) by their own ids. Run ids, row ids and wall-clock columns are left out.
public struct BillingSnapshot: Equatable, Sendable {
    /// Section name -> sorted rows. Rows of a customer start with `c<id>|`.
    public var sections: [String: [String]]

    static let queries: [(String, String)] = [
        ("invoices", """
            SELECT 'c' || customer_id || '|' || source_key || '|' || currency || '|' || kind || '|' || coalesce(period_start::text, '-')
                   || '|' || status || '|' || coalesce(issued_at::text, '-') || '|' || coalesce(due_on::text, '-') || '|' || total
              FROM invoices
            """),
        ("billable_items", """
            SELECT 'c' || b.customer_id || '|' || b.source_key || '|' || coalesce(b.service_id::text, '-') || '|' || coalesce(i.source_key, '-')
                   || '|' || b.kind || '|' || coalesce(b.minutes::text, '-') || '|' || b.quantity || '|' || b.unit_price || '|' || b.amount
                   || '|' || b.currency || '|' || coalesce(b.period_start::text, '-') || '|' || coalesce(b.rollup_line, '-')
                   || '|' || b.description
              FROM billable_items b LEFT JOIN invoices i ON i.id = b.invoice_id
            """),
        ("credit_ledger", """
            SELECT 'c' || l.customer_id || '|' || l.source_key || '|' || l.service_id || '|' || l.amount || '|' || l.currency || '|' || l.reason
                   || '|' || coalesce(l.time_entry_id::text, '-') || '|' || coalesce(i.source_key, '-') || '|' || coalesce(l.minutes::text, '-')
                   || '|' || coalesce(l.hourly_rate::text, '-')
              FROM credit_ledger l LEFT JOIN invoices i ON i.id = l.invoice_id
            """),
        ("incident_grants", """
            SELECT 'c' || customer_id || '|' || source_key || '|' || coalesce(service_id::text, '-') || '|' || quantity || '|' || lifetime
                   || '|' || valid_from || '|' || coalesce(valid_until::text, '-') || '|' || source || '|' || coalesce(revoked_at::text, '-')
              FROM incident_grants
            """),
        ("incident_uses", """
            SELECT 'c' || u.customer_id || '|' || u.source_key || '|' || g.source_key || '|' || u.ticket_id || '|' || u.used_at
                   || '|' || coalesce(u.returned_at::text, '-')
              FROM incident_uses u JOIN incident_grants g ON g.id = u.grant_id
            """),
        ("contract_charges", """
            SELECT 'c' || customer_id || '|' || source_key || '|' || time_entry_id || '|' || coalesce(contract_id::text, '-') || '|' || minutes
                   || '|' || outcome
              FROM contract_charges
            """),
        ("audit_events", """
            SELECT 'c' || coalesce(e.customer_id::text, '-') || '|'
                   -- Row ids differ between copies once a killed run has advanced a sequence:
                   -- the entity is named by its source key where it has one.
                   || coalesce(e.source_key, '-') || '|' || e.entity || '|'
                   || CASE e.entity WHEN 'invoice' THEN coalesce(i.source_key, e.entity_id::text)
                      WHEN 'incident_grant' THEN coalesce((SELECT g.source_key FROM incident_grants g WHERE g.id = e.entity_id), e.entity_id::text)
                      WHEN 'incident_use' THEN coalesce((SELECT u.source_key FROM incident_uses u WHERE u.id = e.entity_id), e.entity_id::text)
                      ELSE e.entity_id::text END
                   || '|' || e.event || '|' || e.at
              FROM audit_events e LEFT JOIN invoices i ON e.entity = 'invoice' AND i.id = e.entity_id
            """),
        ("services", """
            SELECT 'c' || customer_id || '|' || id || '|' || status || '|' || coalesce(suspend_reason, '-') || '|' || coalesce(suspended_at::text, '-')
              FROM services
            """),
        ("contracts", "SELECT 'contract|' || id || '|' || status FROM contracts"),
        ("customer_group_members", "SELECT 'c' || customer_id || '|' || group_id || '|' || managed FROM customer_group_members"),
        ("topup_queues", """
            SELECT 'c' || customer_id || '|entry|' || time_entry_id FROM topup_entry_queue
            UNION ALL SELECT 'c' || customer_id || '|invoice|' || invoice_id FROM topup_invoice_queue
            UNION ALL SELECT 'c' || customer_id || '|service|' || service_id FROM topup_service_queue
            """),
    ]

    public static func take(_ db: PostgresConnection) throws -> BillingSnapshot {
        var sections: [String: [String]] = [:]
        for (name, sql) in queries {
            // Sorted in Swift: byte order, whatever the database's collation.
            sections[name] = try db.query(sql).map { try $0.decode(0, as: String.self) }.sorted()
        }
        return BillingSnapshot(sections: sections)
    }

    public var rowCount: Int { sections.values.reduce(0) { $0 + $1.count } }

    /// The rows of one customer, per section.
    public func customer(_ id: Int64) -> [String: [String]] {
        byCustomer()[id] ?? [:]
    }

    /// Every customer id that has a row.
    public var customerIDs: Set<Int64> { Set(byCustomer().keys) }

    /// Rows grouped by customer (rows of no customer left out), per section.
    public func byCustomer() -> [Int64: [String: [String]]] {
        var groups: [Int64: [String: [String]]] = [:]
        for (name, rows) in sections {
            for row in rows where row.hasPrefix("c") {
                guard let id = Int64(row.dropFirst().prefix { $0 != "|" }) else { continue }
                groups[id, default: [:]][name, default: []].append(row)
            }
        }
        return groups
    }

    /// A readable difference (at most `limit` rows per side), empty when equal.
    public func difference(from expected: BillingSnapshot, limit: Int = 8) -> String {
        var lines: [String] = []
        for name in Set(sections.keys).union(expected.sections.keys).sorted() {
            let mine = sections[name] ?? []
            let theirs = expected.sections[name] ?? []
            guard mine != theirs else { continue }
            let extra = BillingSnapshot.subtract(mine, theirs)
            let missing = BillingSnapshot.subtract(theirs, mine)
            lines.append("\(name): \(mine.count) rows, expected \(theirs.count); \(extra.count) unexpected, \(missing.count) missing")
            lines += extra.prefix(limit).map { "  + \($0)" }
            lines += missing.prefix(limit).map { "  - \($0)" }
        }
        return lines.joined(separator: "\n")
    }

    /// Multiset difference of two sorted arrays.
    public static func subtract(_ a: [String], _ b: [String]) -> [String] {
        var counts: [String: Int] = [:]
        for row in b { counts[row, default: 0] += 1 }
        var result: [String] = []
        for row in a {
            if let count = counts[row], count > 0 { counts[row] = count - 1 } else { result.append(row) }
        }
        return result
    }

    /// "Whole customers only": every customer's rows are either as they were before the run or
    /// as one clean run leaves them. Returns the customers in neither state (with their
    /// differences from the clean result), and the customers already done.
    public func wholeCustomers(before: BillingSnapshot, after: BillingSnapshot) -> (partial: [String], done: Set<Int64>) {
        var partial: [String] = []
        var done = Set<Int64>()
        let (mineAll, oldAll, newAll) = (byCustomer(), before.byCustomer(), after.byCustomer())
        for id in Set(mineAll.keys).union(oldAll.keys).union(newAll.keys).sorted() {
            let mine = mineAll[id] ?? [:]
            let old = oldAll[id] ?? [:]
            let new = newAll[id] ?? [:]
            if mine == new {
                if old != new { done.insert(id) }
            } else if mine != old {
                let changes = Set(mine.keys).union(new.keys).sorted().compactMap { name -> String? in
                    let rows = mine[name] ?? []
                    guard rows != new[name] ?? [] else { return nil }
                    return "\(name) +\(BillingSnapshot.subtract(rows, new[name] ?? []).prefix(3)) -\(BillingSnapshot.subtract(new[name] ?? [], rows).prefix(3))"
                }
                partial.append("customer \(id): \(changes.joined(separator: "; "))")
            }
        }
        return (partial, done)
    }
}
