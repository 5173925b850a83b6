import BillingCore
import Postgres

/// Set-based reads and writes for contract status transitions: which pending or active
/// contracts exist with the local as-of dates of the customers they serve, and the bulk update
/// of their status with one audit event per transition.
public enum ContractLifecycleStore {
    /// A pending or active contract and the local as-of dates of the customers it serves.
    public struct Candidate: Sendable {
        public let contract: SupportContract
        /// The earliest local date of as_of among the customers it serves (expiry compares with it).
        public let earliest: LocalDate
        /// The latest (activation compares with it).
        public let latest: LocalDate
        /// The customers it serves whose time zone is unknown (CustomerDirectory skips them),
        /// when it serves no other customer: its local dates are then unknown, and it must
        /// neither be activated nor expired (nor on the UTC date) until the zone is corrected.
        public let onlyUnknownTimeZones: [Int64]
        /// How many times this job reactivated it before.
        public var generation: Int = 0
    }

    /// Every pending or active contract (with `customerFilter`: those that can serve these
    /// customers), in one statement. The customers a contract serves: its customer; an item's
    /// customer and the customers of the item's org unit and its descendants; an org unit's
    /// customers and those of its descendants. Customers with an unknown time zone (not listed by
    /// PostgreSQL, or refused by BillingCore, as CustomerDirectory decides) do not count; a
    /// contract serving nobody uses the UTC date, one serving only such customers is flagged
    /// (`onlyUnknownTimeZones`).
    ///
    /// Contracts this job expired are candidates too while their end is not long past: minutes
    /// returned or corrected terms make them active again. `contracts` limits the answer to
    /// those ids (a batch re-checks the contracts whose usage it changed).
    public static func candidates(_ db: PostgresConnection, asOf: Instant, customerFilter: [Int64]?, contracts: [Int64]? = nil) throws -> [Candidate] {
        // The distinct zones are few; the statement leaves out customers in the refused ones. It
        // still joins pg_timezone_names: a customer added since with a name PostgreSQL does not
        // know must not reach AT TIME ZONE (each statement has its own snapshot).
        let unknownZones = try DataDefectScanner.unknownTimeZoneNames(db, customers: nil)
        let rows = try db.query("""
            WITH RECURSIVE
            zones AS MATERIALIZED (SELECT name FROM pg_timezone_names),
            ancestors (id) AS (
                SELECT c.org_unit_id FROM customers c WHERE c.id = ANY($2::bigint[]) AND c.org_unit_id IS NOT NULL
                UNION
                SELECT o.parent_id FROM ancestors a JOIN org_units o ON o.id = a.id WHERE o.parent_id IS NOT NULL
            ),
            candidates AS MATERIALIZED (
                SELECT k.* FROM contracts k
                 WHERE (k.status IN ('pending', 'active')
                        OR (k.status = 'expired' AND (k.ends_on IS NULL OR k.ends_on >= ($1::timestamptz AT TIME ZONE 'UTC')::date - 1)
                            AND \(ContractRows.expiredByJob)))
                   AND ($4::bigint[] IS NULL OR k.id = ANY($4::bigint[]))
                   AND ($2::bigint[] IS NULL
                        OR k.customer_id = ANY($2::bigint[])
                        OR k.org_unit_id IN (SELECT id FROM ancestors)
                        OR k.item_id IN (SELECT i.id FROM items i
                                          WHERE i.customer_id = ANY($2::bigint[]) OR i.org_unit_id IN (SELECT id FROM ancestors)
                                         UNION
                                         SELECT t.item_id FROM tickets t
                                          WHERE t.customer_id = ANY($2::bigint[]) AND t.item_id IS NOT NULL))
            ),
            roots (id) AS (
                SELECT k.org_unit_id FROM candidates k WHERE k.org_unit_id IS NOT NULL
                UNION
                SELECT i.org_unit_id FROM candidates k JOIN items i ON i.id = k.item_id WHERE i.org_unit_id IS NOT NULL
            ),
            subtree (root, id) AS (
                SELECT id, id FROM roots
                UNION
                SELECT s.root, o.id FROM subtree s JOIN org_units o ON o.parent_id = s.id
            ),
            served (contract_id, customer_id) AS (
                SELECT k.id, k.customer_id FROM candidates k WHERE k.customer_id IS NOT NULL
                UNION
                SELECT k.id, i.customer_id FROM candidates k JOIN items i ON i.id = k.item_id WHERE i.customer_id IS NOT NULL
                UNION
                SELECT k.id, c.id FROM candidates k JOIN items i ON i.id = k.item_id
                  JOIN subtree s ON s.root = i.org_unit_id JOIN customers c ON c.org_unit_id = s.id
                UNION
                SELECT k.id, c.id FROM candidates k JOIN subtree s ON s.root = k.org_unit_id JOIN customers c ON c.org_unit_id = s.id
            ),
            local_dates AS (
                SELECT s.contract_id,
                       min(CASE WHEN z.name IS NOT NULL THEN ($1::timestamptz AT TIME ZONE c.timezone)::date END) AS earliest,
                       max(CASE WHEN z.name IS NOT NULL THEN ($1::timestamptz AT TIME ZONE c.timezone)::date END) AS latest,
                       array_agg(c.id ORDER BY c.id) FILTER (WHERE z.name IS NULL) AS unknown_zone
                  FROM served s JOIN customers c ON c.id = s.customer_id
                  LEFT JOIN zones z ON z.name = c.timezone AND c.timezone <> ALL($3::text[])
                 GROUP BY s.contract_id
            ),
            usage AS (
                SELECT cc.contract_id, sum(cc.minutes)::bigint AS used
                  FROM contract_charges cc
                 WHERE cc.contract_id IN (SELECT id FROM candidates) AND cc.outcome IN ('covered', 'rolled_over')
                 GROUP BY cc.contract_id
            )
            SELECT \(ContractRows.columns),
                   coalesce(u.used, 0),
                   coalesce(d.earliest, ($1::timestamptz AT TIME ZONE 'UTC')::date),
                   coalesce(d.latest, ($1::timestamptz AT TIME ZONE 'UTC')::date),
                   CASE WHEN d.earliest IS NULL THEN d.unknown_zone END,
                   (SELECT count(*) FROM \(ContractRows.contractEvents) a
                     WHERE a.entity = 'contract' AND a.entity_id = k.id AND a.event = 'contract_reactivated' AND a.source_key LIKE 'ce:%')::int
              FROM candidates k
              LEFT JOIN local_dates d ON d.contract_id = k.id
              LEFT JOIN usage u ON u.contract_id = k.id
             ORDER BY k.id
            """, [asOf, customerFilter, unknownZones, contracts])
        return try rows.map { row in
            Candidate(
                contract: try ContractRows.decode(row, minutesUsed: try row.decode(9, as: Int64.self), chargeable: true),
                earliest: try row.decode(10, as: LocalDate.self),
                latest: try row.decode(11, as: LocalDate.self),
                onlyUnknownTimeZones: try row.decode(12, as: [Int64]?.self) ?? [],
                generation: try row.decode(13, as: Int.self)
            )
        }
    }

    /// Moves each contract to its new status (only from the status the transition was computed
    /// from) and records one audit event per transition, unless recorded already. Returns the
    /// events recorded now, in the order of `transitions`.
    public static func apply(_ db: PostgresConnection, _ transitions: [ContractLifecycle.Transition], runID: Int64, at: Instant) throws -> [ContractAuditEvent] {
        guard !transitions.isEmpty else { return [] }
        let moved = Set(try db.query("""
            UPDATE contracts k SET status = u.to_status
              FROM unnest($1::bigint[], $2::text[], $3::text[]) AS u (id, from_status, to_status)
             WHERE k.id = u.id AND k.status = u.from_status
            RETURNING k.id
            """, [transitions.map(\.contract.id), transitions.map(\.from.rawValue), transitions.map(\.to.rawValue)])
            .map { try $0.decode(0, as: Int64.self) })
        let recorded = transitions.filter { moved.contains($0.contract.id) }
        guard !recorded.isEmpty else { return [] }
        // A contract's customer owns its events (audit_events, keyed per customer); those of
        // org-unit and item contracts, which serve no single customer, are in contract_events
        // (sql/210). Source keys name the contract, so the two never share one.
        let inserted = try db.query("""
            WITH u AS (
                SELECT * FROM unnest($3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::text[]) WITH ORDINALITY
                       AS u (id, customer_id, event, detail, source_key, ord)
            ),
            owned AS (
                INSERT INTO audit_events (run_id, at, customer_id, entity, entity_id, event, detail, source_key)
                SELECT $1, $2, u.customer_id, 'contract', u.id, u.event, u.detail::jsonb, u.source_key
                  FROM u WHERE u.customer_id IS NOT NULL
                 ORDER BY u.ord
                ON CONFLICT (customer_id, source_key) DO NOTHING
                RETURNING id, source_key
            ),
            shared AS (
                INSERT INTO contract_events (run_id, at, customer_id, entity, entity_id, event, detail, source_key)
                SELECT $1, $2, NULL, 'contract', u.id, u.event, u.detail::jsonb, u.source_key
                  FROM u WHERE u.customer_id IS NULL
                 ORDER BY u.ord
                ON CONFLICT (source_key) DO NOTHING
                RETURNING id, source_key
            )
            SELECT id, source_key FROM owned UNION ALL SELECT id, source_key FROM shared
            """, [runID, at, recorded.map(\.contract.id), recorded.map(\.contract.customerID), recorded.map(\.event),
                  recorded.map(\.detail.compactText), recorded.map(\.sourceKey)])
        var ids: [String: Int64] = [:]
        for row in inserted { ids[try row.decode(1, as: String.self)] = try row.decode(0, as: Int64.self) }
        return recorded.compactMap { transition in
            ids[transition.sourceKey].map { id in
                ContractAuditEvent(id: id, at: at, customerID: transition.contract.customerID, contractID: transition.contract.id,
                                   event: transition.event, detail: transition.detail, sourceKey: transition.sourceKey)
            }
        }
    }
}
