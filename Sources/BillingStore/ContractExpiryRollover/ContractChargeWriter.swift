import BillingCore
import Postgres

/// Idempotent bulk writes of a contract plan: charges and per-incident items, each inserted
/// only if its `source_key` is absent, returning what was inserted.
public enum ContractChargeWriter {
    /// A `contract_charges` row as inserted.
    public struct ChargeRow: Sendable, Hashable {
        public let id: Int64
        public let customerID: Int64
        public let timeEntryID: Int64
        public let contractID: Int64?
        public let minutes: Int64
        public let outcome: String
        public let sourceKey: String
    }

    /// A `per_incident` billable item as inserted (not on an invoice yet).
    public struct ItemRow: Sendable, Hashable {
        public let id: Int64
        public let customerID: Int64
        public let description: String
        public let unitPrice: Int64
        public let amount: Int64
        public let currency: CurrencyCode
        public let periodStart: LocalDate
        public let periodEnd: LocalDate
        public let sourceKey: String
    }

    /// Inserts the rows in order (charges and corrections, `correction` = minutes < 0).
    public static func insertRows(_ db: PostgresConnection, _ rows: [ContractCorrections.Row], runID: Int64) throws -> [ChargeRow] {
        guard !rows.isEmpty else { return [] }
        return try db.query("""
            INSERT INTO contract_charges (customer_id, time_entry_id, contract_id, minutes, outcome, correction, source_key, run_id)
            SELECT u.customer_id, u.time_entry_id, u.contract_id, u.minutes, u.outcome, u.minutes < 0, u.source_key, $7
              FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::int[], $5::text[], $6::text[]) WITH ORDINALITY
                   AS u (customer_id, time_entry_id, contract_id, minutes, outcome, source_key, ord)
             ORDER BY u.ord
            ON CONFLICT (customer_id, source_key) DO NOTHING
            RETURNING id, customer_id, time_entry_id, contract_id, minutes, outcome, source_key
            """, [rows.map(\.customerID), rows.map(\.entryID), rows.map(\.contractID), rows.map(\.minutes),
                  rows.map(\.outcome.rawValue), rows.map(\.sourceKey), runID]).map { row in
            ChargeRow(
                id: try row.decode(0), customerID: try row.decode(1), timeEntryID: try row.decode(2),
                contractID: try row.decode(3, as: Int64?.self), minutes: try row.decode(4), outcome: try row.decode(5),
                sourceKey: try row.decode(6)
            )
        }
    }

    /// Inserts `per_incident` items, uninvoiced: new charges dated in the customer's local month
    /// the ticket was opened (period_start = its first day, period_end = the next month's), and
    /// offsets carrying the period of the item they withdraw, so monthly-rollup puts each on
    /// that month's invoice (or, once it is issued, on an adjustment invoice for it).
    public static func insertItems(_ db: PostgresConnection, _ items: [ContractCorrections.Item], runID: Int64) throws -> [ItemRow] {
        guard !items.isEmpty else { return [] }
        return try db.query("""
            INSERT INTO billable_items (customer_id, service_id, invoice_id, kind, description, minutes, quantity,
                                        unit_price, amount, currency, period_start, period_end, source_key, run_id)
            SELECT u.customer_id, NULL, NULL, 'per_incident', u.description, NULL, u.quantity,
                   u.price, u.amount, u.currency, u.period_start, u.period_end, u.source_key, $10
              FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[], $7::date[], $8::date[], $9::text[])
                   WITH ORDINALITY AS u (customer_id, description, quantity, price, amount, currency, period_start, period_end, source_key, ord)
             ORDER BY u.ord
            ON CONFLICT (customer_id, source_key) DO NOTHING
            RETURNING id, customer_id, description, unit_price, amount, currency, period_start, period_end, source_key
            """, [items.map(\.customerID), items.map(\.description), items.map(\.quantity), items.map(\.unitPrice), items.map(\.amount),
                  items.map(\.currency.rawValue), items.map(\.periodStart), items.map(\.periodEnd), items.map(\.sourceKey), runID]).map { row in
            ItemRow(
                id: try row.decode(0), customerID: try row.decode(1), description: try row.decode(2),
                unitPrice: try row.decode(3), amount: try row.decode(4), currency: try row.decode(5),
                periodStart: try row.decode(6), periodEnd: try row.decode(7), sourceKey: try row.decode(8)
            )
        }
    }

    /// Records why minutes went back and why per-incident charges were withdrawn: one audit
    /// event per entry and per offset, keyed by the first row it explains.
    public static func insertEvents(_ db: PostgresConnection, _ events: [(customerID: Int64, entity: String, entityID: Int64, event: String, detail: JSONValue, sourceKey: String)],
                                    runID: Int64, at: Instant) throws -> [ContractAuditEvent] {
        guard !events.isEmpty else { return [] }
        var ids: [String: Int64] = [:]
        for row in try db.query("""
            INSERT INTO audit_events (run_id, at, customer_id, entity, entity_id, event, detail, source_key)
            SELECT $1, $2, u.customer_id, u.entity, u.entity_id, u.event, u.detail::jsonb, u.source_key
              FROM unnest($3::bigint[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[]) WITH ORDINALITY
                   AS u (customer_id, entity, entity_id, event, detail, source_key, ord)
             ORDER BY u.ord
            ON CONFLICT (customer_id, source_key) DO NOTHING
            RETURNING id, source_key
            """, [runID, at, events.map(\.customerID), events.map(\.entity), events.map(\.entityID), events.map(\.event),
                  events.map(\.detail.compactText), events.map(\.sourceKey)]) {
            ids[try row.decode(1, as: String.self)] = try row.decode(0, as: Int64.self)
        }
        return events.compactMap { event in
            ids[event.sourceKey].map {
                ContractAuditEvent(id: $0, at: at, customerID: event.customerID, contractID: event.entityID, entity: event.entity,
                                   event: event.event, detail: event.detail, sourceKey: event.sourceKey)
            }
        }
    }
}
