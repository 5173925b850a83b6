-- contract-expiry-rollover converges on today's data (DESIGN.md §7.1; docs/jobs/contract-expiry-rollover.md,
-- "When the past changes").
--
-- contract_charges stays append-only for the runner. The job recomputes what every entry should
-- be charged from today's entries and contracts and writes the difference:
--   * more minutes for (entry, contract, outcome): a charge row, minutes > 0, as before
--     (source_key ce:charge:<entry>:<n>);
--   * fewer: a correction row, minutes < 0 and correction = true, naming the same contract and
--     outcome as the minutes it gives back (source_key ce:return:<entry>:<n>).
-- <n> numbers the rows of one entry 1, 2, ... across both kinds, so each key is decided by what
-- is stored. The sum of an (entry, contract, outcome)'s rows is what it holds now: every sum
-- over contract_charges (the views below, minutes used per contract) stays right without
-- knowing about corrections. A row never has 0 minutes.
ALTER TABLE contract_charges DROP CONSTRAINT contract_charges_minutes_check;
ALTER TABLE contract_charges ADD COLUMN correction boolean NOT NULL DEFAULT false;
ALTER TABLE contract_charges
    ADD CONSTRAINT contract_charges_minutes_check CHECK (minutes <> 0 AND correction = (minutes < 0));
COMMENT ON COLUMN contract_charges.correction IS
    'true: minutes (negative) given back by contract-expiry-rollover after the entry was edited, re-dated, withdrawn, deleted or moved; sums net out';

INSERT INTO audit_event_names (name, description) VALUES
    ('contract_reactivated', 'contract-expiry-rollover made a contract it had expired active again (minutes returned, or its terms corrected)'),
    ('per_incident_withdrawn', 'contract-expiry-rollover offset a per-incident charge whose ticket no longer needs one'),
    ('contract_minutes_returned', 'contract-expiry-rollover gave back minutes of a time entry that was edited, re-dated, withdrawn, deleted or moved');

-- Every limit a contract sets counts, whatever its kind (DESIGN.md §4 as amended): the view
-- shows the contract's own ends_on and minutes_total. "entries" counts the entries it still
-- holds minutes of (net of corrections).
CREATE OR REPLACE VIEW contract_usage AS
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

-- What the next run will correct: entries charged beyond their minutes now, no longer billable,
-- or deleted, that still hold minutes (a run gives them back; after it the view is empty for them).
CREATE OR REPLACE VIEW contract_charge_drift AS
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

-- The uses of a contract show corrections as what they are (negative minutes, correction true).
CREATE OR REPLACE VIEW contract_usage_entries AS
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
