import BillingCore

/// contract-expiry-rollover's floor:
/// 1. status: every pending or active contract without a defect, with the earliest and latest
///    local as-of date of the customers it serves (its customer; an item's customer and the
///    customers of the item's org unit and its descendants; an org unit's customers and its
///    descendants'): expired when its end has passed for all of them, else active when its
///    start has come for one of them; the contracts updated and one audit event each;
/// 2. the job's time: billable entries worked by as-of that no service bills and that are not
///    charged yet, with the customer's local date;
/// 3. each request's contract, looked up at its first entry in LiveTime's order (item, customer,
///    org unit and its parents nearest first; valid before pending; within a scope the valid one
///    ending first, the pending one starting first);
/// 4. the minutes each entry's contract still covers, as a running sum per contract over the
///    entries in the job's order (customers by id, entries by time): a `covered` piece and a
///    piece for the rest; requests with no contract get a `per_incident` piece per entry and one
///    `per_incident` item per request at the configured price. One `contract_charges` row per
///    piece, as the job writes.
///
/// The lookup in step 3 does not know what earlier requests of the run used up, and the rest of
/// an entry is not rolled over to the next contract (that is sequential: each piece changes
/// what the next request finds). So the floor checks what is conserved, whatever the order:
/// the minutes of every outcome plus the minutes waiting = the job's time; and `activated`.
enum ContractExpiryRolloverFloor {
    static func definition(_ c: Floors.Context) -> Floors.Definition {
        let noDefect = """
            NOT (k.kind = 'support_hours' AND k.minutes_total IS NULL)
            AND NOT (k.kind = 'time_limited' AND (k.minutes_total IS NULL OR k.ends_on IS NULL))
            AND NOT (k.ends_on IS NOT NULL AND k.ends_on <= k.starts_on)
            """
        return Floors.Definition(steps: [
            Floors.Step("""
                CREATE TEMP TABLE f_transitions ON COMMIT DROP AS
                WITH RECURSIVE subtree (root, id) AS (
                    SELECT id, id FROM org_units
                    UNION
                    SELECT s.root, o.id FROM subtree s JOIN org_units o ON o.parent_id = s.id
                ),
                candidates AS MATERIALIZED (
                    SELECT k.* FROM contracts k WHERE k.status IN ('pending', 'active') AND \(noDefect)
                ),
                served (contract_id, customer_id) AS (
                    SELECT k.id, k.customer_id FROM candidates k WHERE k.customer_id IS NOT NULL
                    UNION
                    SELECT k.id, i.customer_id FROM candidates k JOIN items i ON i.id = k.item_id WHERE i.customer_id IS NOT NULL
                    UNION
                    SELECT k.id, cu.id FROM candidates k JOIN items i ON i.id = k.item_id
                      JOIN subtree s ON s.root = i.org_unit_id JOIN customers cu ON cu.org_unit_id = s.id
                    UNION
                    SELECT k.id, cu.id FROM candidates k JOIN subtree s ON s.root = k.org_unit_id JOIN customers cu ON cu.org_unit_id = s.id
                ),
                dates AS (
                    SELECT s.contract_id, min(($1::timestamptz AT TIME ZONE cu.timezone)::date) AS earliest,
                           max(($1::timestamptz AT TIME ZONE cu.timezone)::date) AS latest
                      FROM served s JOIN customers cu ON cu.id = s.customer_id
                     GROUP BY s.contract_id
                )
                SELECT k.id, k.customer_id, k.status AS from_status, k.starts_on, k.ends_on,
                       CASE WHEN k.ends_on <= COALESCE(d.earliest, ($1::timestamptz AT TIME ZONE 'UTC')::date)
                            THEN 'expired'
                            WHEN k.status = 'pending' AND k.starts_on <= COALESCE(d.latest, ($1::timestamptz AT TIME ZONE 'UTC')::date)
                            THEN 'active' END AS to_status
                  FROM candidates k LEFT JOIN dates d ON d.contract_id = k.id
                """, [c.asOf]),
            Floors.Step("DELETE FROM f_transitions WHERE to_status IS NULL"),
            Floors.Step("""
                UPDATE contracts k SET status = t.to_status FROM f_transitions t WHERE k.id = t.id AND k.status = t.from_status
                """),
            // Events of contracts without a customer are in contract_events (sql/210).
            Floors.Step("""
                INSERT INTO audit_events (run_id, at, customer_id, entity, entity_id, event, detail, source_key)
                SELECT $1, $2, t.customer_id, 'contract', t.id,
                       CASE WHEN t.to_status = 'active' THEN 'contract_activated' ELSE 'contract_expired' END,
                       jsonb_build_object('from', t.from_status, 'to', t.to_status, 'starts_on', t.starts_on, 'ends_on', t.ends_on),
                       CASE WHEN t.to_status = 'active' THEN 'ce:activated:' || t.id || ':' || t.starts_on
                            ELSE 'ce:expired:' || t.id || ':ends:' || t.ends_on END
                  FROM f_transitions t WHERE t.customer_id IS NOT NULL
                """, [c.runID, c.asOf]),
            Floors.Step("""
                INSERT INTO contract_events (run_id, at, customer_id, entity, entity_id, event, detail, source_key)
                SELECT $1, $2, NULL::bigint, 'contract', t.id,
                       CASE WHEN t.to_status = 'active' THEN 'contract_activated' ELSE 'contract_expired' END,
                       jsonb_build_object('from', t.from_status, 'to', t.to_status, 'starts_on', t.starts_on, 'ends_on', t.ends_on),
                       CASE WHEN t.to_status = 'active' THEN 'ce:activated:' || t.id || ':' || t.starts_on
                            ELSE 'ce:expired:' || t.id || ':ends:' || t.ends_on END
                  FROM f_transitions t WHERE t.customer_id IS NULL
                """, [c.runID, c.asOf]),
            Floors.Step("""
                CREATE TEMP TABLE f_entries ON COMMIT DROP AS
                SELECT te.id, te.customer_id, te.ticket_id, te.worked_at, te.minutes,
                       (te.worked_at AT TIME ZONE cu.timezone)::date AS local_date
                  FROM time_entries te
                  JOIN tickets t ON t.id = te.ticket_id
                  JOIN customers cu ON cu.id = te.customer_id
                 WHERE te.billable AND te.worked_at <= $1 AND te.service_id IS NULL AND t.service_id IS NULL
                   AND NOT EXISTS (SELECT 1 FROM contract_charges cc WHERE cc.customer_id = te.customer_id AND cc.time_entry_id = te.id)
                """, [c.asOf]),
            Floors.Step("""
                CREATE TEMP TABLE f_chain ON COMMIT DROP AS
                WITH RECURSIVE up (start, id, depth) AS (
                    SELECT o.id, o.id, 0 FROM org_units o
                    UNION ALL
                    SELECT up.start, o.parent_id, up.depth + 1 FROM up JOIN org_units o ON o.id = up.id
                     WHERE o.parent_id IS NOT NULL AND up.depth < 64
                )
                SELECT start, id, min(depth) AS depth FROM up GROUP BY start, id
                """),
            Floors.Step("""
                CREATE TEMP TABLE f_requests ON COMMIT DROP AS
                SELECT r.ticket_id, r.customer_id, r.currency, r.opened_on, k.id AS contract_id, k.available
                  FROM (
                      SELECT DISTINCT ON (e.ticket_id) e.ticket_id, e.customer_id, e.local_date, t.item_id, cu.org_unit_id, cu.currency,
                             (t.opened_at AT TIME ZONE cu.timezone)::date AS opened_on
                        FROM f_entries e
                        JOIN tickets t ON t.id = e.ticket_id
                        JOIN customers cu ON cu.id = e.customer_id
                       ORDER BY e.ticket_id, e.worked_at, e.id
                  ) r
                  LEFT JOIN LATERAL (
                      SELECT k.id,
                             CASE WHEN k.minutes_total IS NULL THEN NULL
                                  ELSE k.minutes_total - COALESCE((SELECT sum(cc.minutes) FROM contract_charges cc
                                                                    WHERE cc.contract_id = k.id AND cc.outcome IN ('covered', 'rolled_over')), 0)
                             END AS available
                        FROM (SELECT k.*, 0 AS scope FROM contracts k WHERE k.item_id = r.item_id
                              UNION ALL
                              SELECT k.*, 1 FROM contracts k WHERE k.customer_id = r.customer_id
                              UNION ALL
                              SELECT k.*, 2 + ch.depth FROM f_chain ch JOIN contracts k ON k.org_unit_id = ch.id WHERE ch.start = r.org_unit_id) k
                       WHERE \(noDefect)
                         AND (k.status <> 'expired' OR EXISTS (SELECT 1 FROM (SELECT entity, entity_id, event, source_key FROM audit_events UNION ALL SELECT entity, entity_id, event, source_key FROM contract_events) a WHERE a.entity = 'contract' AND a.entity_id = k.id
                                                                  AND a.event = 'contract_expired' AND a.source_key LIKE 'ce:%'))
                         AND (r.local_date < k.starts_on OR k.ends_on IS NULL OR r.local_date < k.ends_on)
                       ORDER BY k.starts_on <= r.local_date DESC, k.scope,
                                CASE WHEN k.starts_on <= r.local_date
                                     THEN COALESCE(k.ends_on, 'infinity'::date)
                                     ELSE k.starts_on END,
                                k.starts_on, k.id
                       LIMIT 1
                  ) k ON true
                """),
            Floors.Step("""
                CREATE TEMP TABLE f_charges ON COMMIT DROP AS
                SELECT e.id AS entry_id, e.customer_id, r.contract_id, e.minutes,
                       CASE WHEN r.contract_id IS NULL THEN 0
                            WHEN r.available IS NULL THEN e.minutes
                            ELSE greatest(0, least(e.minutes, r.available - (sum(e.minutes) OVER w - e.minutes))) END AS covered
                  FROM f_entries e
                  JOIN f_requests r ON r.ticket_id = e.ticket_id
                WINDOW w AS (PARTITION BY r.contract_id ORDER BY e.customer_id, e.worked_at, e.id ROWS UNBOUNDED PRECEDING)
                """),
            Floors.Step("""
                INSERT INTO contract_charges (customer_id, time_entry_id, contract_id, minutes, outcome, source_key, run_id)
                SELECT customer_id, entry_id, contract_id, covered, 'covered', 'ce:charge:' || entry_id || ':1', $1::bigint
                  FROM f_charges WHERE contract_id IS NOT NULL AND covered > 0
                UNION ALL
                SELECT customer_id, entry_id, contract_id, minutes - covered, 'ignored',
                       'ce:charge:' || entry_id || CASE WHEN covered > 0 THEN ':2' ELSE ':1' END, $1
                  FROM f_charges WHERE contract_id IS NOT NULL AND minutes > covered
                UNION ALL
                SELECT customer_id, entry_id, NULL, minutes, 'per_incident', 'ce:charge:' || entry_id || ':1', $1
                  FROM f_charges WHERE contract_id IS NULL
                """, [c.runID]),
            Floors.Step("""
                INSERT INTO billable_items (customer_id, service_id, invoice_id, kind, description, minutes, quantity, unit_price, amount,
                                            currency, period_start, period_end, source_key, run_id)
                SELECT r.customer_id, NULL, NULL, 'per_incident', 'Per-incident support: ticket #' || r.ticket_id, NULL, 1,
                       p.price, p.price, r.currency, date_trunc('month', r.opened_on)::date,
                       (date_trunc('month', r.opened_on) + interval '1 month')::date, 'ce:incident:' || r.ticket_id, $1
                  FROM f_requests r
                  JOIN unnest($2::text[], $3::bigint[]) AS p (currency, price) ON p.currency = r.currency
                 WHERE r.contract_id IS NULL
                """, [c.runID, c.configuration.perIncidentPrices.map(\.currency), c.configuration.perIncidentPrices.map(\.price)]),
        ], figures: Floors.Step("""
            SELECT 'sum:counts.minutes_covered,counts.minutes_rolled_over,counts.minutes_ignored,counts.minutes_per_incident,counts.minutes_waiting',
                   COALESCE(sum(minutes), 0)::bigint FROM f_entries
            UNION ALL SELECT 'counts.activated', count(*)::bigint FROM f_transitions WHERE to_status = 'active'
            UNION ALL SELECT 'uncompared:counts.items', count(*)::bigint FROM f_requests WHERE contract_id IS NULL
            UNION ALL SELECT 'uncompared:counts.minutes_covered', COALESCE(sum(covered), 0)::bigint FROM f_charges
            """))
    }
}
