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

    /// Inserts the charges in plan order, so ids follow the order time was charged in (a
    /// ticket's last charge tells where its next entry goes).
    public static func insertCharges(_ db: PostgresConnection, _ charges: [ContractBatchPlan.Charge], runID: Int64) throws -> [ChargeRow] {
        guard !charges.isEmpty else { return [] }
        return try db.query("""
            INSERT INTO contract_charges (customer_id, time_entry_id, contract_id, minutes, outcome, source_key, run_id)
            SELECT u.customer_id, u.time_entry_id, u.contract_id, u.minutes, u.outcome, u.source_key, $7
              FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::int[], $5::text[], $6::text[]) WITH ORDINALITY
                   AS u (customer_id, time_entry_id, contract_id, minutes, outcome, source_key, ord)
             ORDER BY u.ord
            ON CONFLICT (source_key) DO NOTHING
            RETURNING id, customer_id, time_entry_id, contract_id, minutes, outcome, source_key
            """, [charges.map(\.customerID), charges.map(\.entryID), charges.map(\.contractID), charges.map(\.minutes),
                  charges.map(\.outcome.rawValue), charges.map(\.sourceKey), runID]).map { row in
            ChargeRow(
                id: try row.decode(0), customerID: try row.decode(1), timeEntryID: try row.decode(2),
                contractID: try row.decode(3, as: Int64?.self), minutes: try row.decode(4), outcome: try row.decode(5),
                sourceKey: try row.decode(6)
            )
        }
    }

    /// Inserts one `per_incident` item per incident, uninvoiced, dated in the customer's local
    /// month the ticket was opened (period_start = its first day, period_end = the next
    /// month's): monthly-rollup puts it on that month's invoice.
    public static func insertIncidents(_ db: PostgresConnection, _ incidents: [ContractBatchPlan.Incident], runID: Int64) throws -> [ItemRow] {
        guard !incidents.isEmpty else { return [] }
        return try db.query("""
            INSERT INTO billable_items (customer_id, service_id, invoice_id, kind, description, minutes, quantity,
                                        unit_price, amount, currency, period_start, period_end, source_key, run_id)
            SELECT u.customer_id, NULL, NULL, 'per_incident', u.description, NULL, 1,
                   u.price, u.price, u.currency, u.period_start, u.period_end, u.source_key, $8
              FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[], $5::date[], $6::date[], $7::text[]) WITH ORDINALITY
                   AS u (customer_id, description, price, currency, period_start, period_end, source_key, ord)
             ORDER BY u.ord
            ON CONFLICT (source_key) DO NOTHING
            RETURNING id, customer_id, description, unit_price, amount, currency, period_start, period_end, source_key
            """, [incidents.map(\.customerID), incidents.map(\.description), incidents.map(\.price),
                  incidents.map(\.currency.rawValue), incidents.map(\.month.dateRange.start), incidents.map(\.month.dateRange.end),
                  incidents.map(\.sourceKey), runID]).map { row in
            ItemRow(
                id: try row.decode(0), customerID: try row.decode(1), description: try row.decode(2),
                unitPrice: try row.decode(3), amount: try row.decode(4), currency: try row.decode(5),
                periodStart: try row.decode(6), periodEnd: try row.decode(7), sourceKey: try row.decode(8)
            )
        }
    }
}
