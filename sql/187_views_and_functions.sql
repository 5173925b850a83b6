-- supportbill 0.1.0 baseline, 6 of 7: what staff and the client area read
-- (`supportbill contracts` and `supportbill incidents` read these), docs/design.md §4.

-- One row per contract: its terms as the job counts them and its usage. Every limit a contract
-- sets counts, whatever its kind: the view shows the contract's own ends_on and minutes_total.
--   minutes_limit    the contract's minutes_total (NULL: unlimited)
--   minutes_used     covered + rolled_over; minutes_left = minutes_limit - minutes_used (NULL: unlimited)
--   minutes_ignored  time recorded on it after it expired during a request, deducted nowhere
--   entries          the entries it still holds minutes of (net of corrections)
CREATE VIEW contract_usage AS
SELECT k.id AS contract_id,
       k.kind,
       k.status,
       CASE WHEN k.item_id IS NOT NULL THEN 'item'
            WHEN k.customer_id IS NOT NULL THEN 'customer'
            ELSE 'org_unit' END AS scope,
       k.item_id,
       k.customer_id,
       k.org_unit_id,
       k.starts_on,
       k.ends_on,
       k.minutes_total AS minutes_limit,
       u.minutes_covered,
       u.minutes_rolled_over,
       u.minutes_covered + u.minutes_rolled_over AS minutes_used,
       CASE WHEN k.minutes_total IS NULL THEN NULL
            ELSE greatest(k.minutes_total - u.minutes_covered - u.minutes_rolled_over, 0) END AS minutes_left,
       u.minutes_ignored,
       u.entries,
       u.customers
  FROM contracts k
  CROSS JOIN LATERAL (
      SELECT coalesce(sum(e.covered), 0)::bigint AS minutes_covered,
             coalesce(sum(e.rolled_over), 0)::bigint AS minutes_rolled_over,
             coalesce(sum(e.ignored), 0)::bigint AS minutes_ignored,
             count(*) FILTER (WHERE e.covered <> 0 OR e.rolled_over <> 0 OR e.ignored <> 0) AS entries,
             count(DISTINCT e.customer_id) FILTER (WHERE e.covered <> 0 OR e.rolled_over <> 0 OR e.ignored <> 0) AS customers
        FROM (SELECT cc.customer_id, cc.time_entry_id,
                     sum(cc.minutes) FILTER (WHERE cc.outcome = 'covered') AS covered,
                     sum(cc.minutes) FILTER (WHERE cc.outcome = 'rolled_over') AS rolled_over,
                     sum(cc.minutes) FILTER (WHERE cc.outcome = 'ignored') AS ignored
                FROM contract_charges cc
               WHERE cc.contract_id = k.id
               GROUP BY cc.customer_id, cc.time_entry_id) e
  ) u;

-- One row per charge: what used a contract (the client area filters by customer_id, so a
-- customer sees its own time on a contract it shares with others). Per-incident charges have
-- no contract; corrections show as what they are (negative minutes, correction true).
CREATE VIEW contract_usage_entries AS
SELECT cc.id AS charge_id,
       cc.contract_id,
       cc.customer_id,
       cu.name AS customer_name,
       te.ticket_id,
       t.subject,
       t.item_id,
       cc.time_entry_id,
       te.worked_at,
       te.staff,
       te.note,
       cc.minutes,
       cc.outcome,
       cc.source_key,
       cc.run_id,
       cc.correction
  FROM contract_charges cc
  JOIN customers cu ON cu.id = cc.customer_id
  LEFT JOIN time_entries te ON te.id = cc.time_entry_id
  LEFT JOIN tickets t ON t.id = te.ticket_id;

-- Which contracts can serve a customer, in the job's scopes: its own, those of items it owns,
-- works on (tickets) or its org units own, and those of its org unit and the org unit's
-- parents (depth 0 = its own org unit).
CREATE VIEW customer_contracts AS
WITH RECURSIVE chain (customer_id, org_unit_id, depth) AS (
    SELECT c.id, c.org_unit_id, 0 FROM customers c WHERE c.org_unit_id IS NOT NULL
    UNION
    SELECT ch.customer_id, o.parent_id, ch.depth + 1
      FROM chain ch JOIN org_units o ON o.id = ch.org_unit_id
     WHERE o.parent_id IS NOT NULL AND ch.depth < 64
)
SELECT k.customer_id, k.id AS contract_id, 'customer'::text AS scope, NULL::integer AS depth
  FROM contracts k WHERE k.customer_id IS NOT NULL
UNION
SELECT i.customer_id, k.id, 'item', NULL FROM contracts k JOIN items i ON i.id = k.item_id WHERE i.customer_id IS NOT NULL
UNION
SELECT t.customer_id, k.id, 'item', NULL FROM contracts k JOIN tickets t ON t.item_id = k.item_id
UNION
SELECT ch.customer_id, k.id, 'item', NULL FROM contracts k JOIN items i ON i.id = k.item_id JOIN chain ch ON ch.org_unit_id = i.org_unit_id
UNION
SELECT ch.customer_id, k.id, 'org_unit', min(ch.depth) FROM contracts k JOIN chain ch ON ch.org_unit_id = k.org_unit_id
 GROUP BY ch.customer_id, k.id;

-- What the next contract-expiry-rollover run will correct: entries charged beyond their minutes
-- now, no longer billable, or deleted, that still hold minutes (a run gives them back; after it
-- the view is empty for them).
CREATE VIEW contract_charge_drift AS
SELECT cc.customer_id,
       cc.time_entry_id,
       sum(cc.minutes)::bigint AS minutes_charged,
       te.minutes AS minutes_now,
       te.billable AS billable_now
  FROM contract_charges cc
  LEFT JOIN time_entries te ON te.id = cc.time_entry_id
 GROUP BY cc.customer_id, cc.time_entry_id, te.minutes, te.billable
HAVING sum(cc.minutes) <> 0
   AND (te.minutes IS NULL OR sum(cc.minutes) > te.minutes OR NOT coalesce(te.billable, false));

-- The grants of a customer that can serve a ticket opened on `on_date` (the customer's local
-- date), with what is left of each, in the order the job consumes them: time-limited first
-- (earliest valid_until, then oldest), then lifetime (oldest first). Revoked, expired, not yet
-- valid and used-up grants are left out. `on_date` NULL means the customer's local date now.
CREATE FUNCTION incident_availability(p_customer_id bigint, p_on_date date DEFAULT NULL)
RETURNS TABLE (grant_id bigint, source text, service_id bigint, lifetime boolean, valid_from date,
               valid_until date, quantity integer, used integer, available integer)
LANGUAGE sql STABLE AS $$
    WITH day AS (
        SELECT coalesce(p_on_date, (now() AT TIME ZONE c.timezone)::date) AS d
        FROM customers c WHERE c.id = p_customer_id
    )
    SELECT g.id, g.source, g.service_id, g.lifetime, g.valid_from, g.valid_until, g.quantity,
           coalesce(u.used, 0)::integer, (g.quantity - coalesce(u.used, 0))::integer
    FROM incident_grants g
    CROSS JOIN day
    LEFT JOIN LATERAL (
        SELECT count(*) AS used FROM incident_uses u
        WHERE u.customer_id = g.customer_id AND u.grant_id = g.id AND u.returned_at IS NULL
    ) u ON true
    WHERE g.customer_id = p_customer_id
      AND g.revoked_at IS NULL
      AND g.valid_from <= day.d
      AND (g.valid_until IS NULL OR day.d < g.valid_until)
      AND g.quantity > coalesce(u.used, 0)
    ORDER BY g.lifetime, g.valid_until NULLS LAST, g.valid_from, g.id
$$;

-- A customer's available incidents on `on_date` (NULL: the customer's local date now):
-- time-limited, lifetime and their sum.
CREATE FUNCTION incident_balance(p_customer_id bigint, p_on_date date DEFAULT NULL)
RETURNS TABLE (time_limited bigint, lifetime bigint, total bigint)
LANGUAGE sql STABLE AS $$
    SELECT coalesce(sum(a.available) FILTER (WHERE NOT a.lifetime), 0)::bigint,
           coalesce(sum(a.available) FILTER (WHERE a.lifetime), 0)::bigint,
           coalesce(sum(a.available), 0)::bigint
    FROM incident_availability(p_customer_id, p_on_date) a
$$;
