-- "How much is left on this contract, and what used it?" for staff and the client area
-- (`supportbill contracts` reads these views).

-- One row per contract: its terms as the job counts them and its usage.
--   minutes_limit  the minutes the kind counts (NULL: unlimited, a subscription)
--   minutes_used   covered + rolled_over; minutes_left = minutes_limit - minutes_used (NULL: unlimited)
--   minutes_ignored  time recorded on it after it expired during a request, deducted nowhere
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
       CASE WHEN k.kind = 'support_hours' THEN NULL ELSE k.ends_on END AS ends_on,
       CASE WHEN k.kind = 'subscription' THEN NULL ELSE k.minutes_total END AS minutes_limit,
       u.minutes_covered,
       u.minutes_rolled_over,
       u.minutes_covered + u.minutes_rolled_over AS minutes_used,
       CASE WHEN k.kind = 'subscription' OR k.minutes_total IS NULL THEN NULL
            ELSE greatest(k.minutes_total - u.minutes_covered - u.minutes_rolled_over, 0) END AS minutes_left,
       u.minutes_ignored,
       u.entries,
       u.customers
  FROM contracts k
  CROSS JOIN LATERAL (
      SELECT coalesce(sum(cc.minutes) FILTER (WHERE cc.outcome = 'covered'), 0)::bigint AS minutes_covered,
             coalesce(sum(cc.minutes) FILTER (WHERE cc.outcome = 'rolled_over'), 0)::bigint AS minutes_rolled_over,
             coalesce(sum(cc.minutes) FILTER (WHERE cc.outcome = 'ignored'), 0)::bigint AS minutes_ignored,
             count(DISTINCT cc.time_entry_id) AS entries,
             count(DISTINCT cc.customer_id) AS customers
        FROM contract_charges cc
       WHERE cc.contract_id = k.id
  ) u;

-- One row per charge: what used a contract (the client area filters by customer_id, so a
-- customer sees its own time on a contract it shares with others). Per-incident charges have
-- no contract.
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
       cc.run_id
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

-- Charged entries that changed since (minutes edited, no longer billable, or deleted): the job
-- charges an entry once and does not re-charge edits (a documented limitation); this view
-- lists them for staff to review.
CREATE VIEW contract_charge_drift AS
SELECT cc.customer_id,
       cc.time_entry_id,
       sum(cc.minutes)::bigint AS minutes_charged,
       te.minutes AS minutes_now,
       te.billable AS billable_now
  FROM contract_charges cc
  LEFT JOIN time_entries te ON te.id = cc.time_entry_id
 GROUP BY cc.customer_id, cc.time_entry_id, te.minutes, te.billable
HAVING te.minutes IS DISTINCT FROM sum(cc.minutes) OR NOT coalesce(te.billable, false);
