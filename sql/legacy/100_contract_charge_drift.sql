-- contract-expiry-rollover charges the part of an entry its contract can take and lets the rest
-- wait for a contract to roll over to; an entry whose minutes grew after it was charged has the
-- growth charged by the next run. Neither is drift: both are charged as the job goes. What is
-- left for staff to review is what the job cannot correct (charges are never negative):
-- entries charged beyond their minutes now, no longer billable, or deleted.
CREATE OR REPLACE VIEW contract_charge_drift AS
SELECT cc.customer_id,
       cc.time_entry_id,
       sum(cc.minutes)::bigint AS minutes_charged,
       te.minutes AS minutes_now,
       te.billable AS billable_now
  FROM contract_charges cc
  LEFT JOIN time_entries te ON te.id = cc.time_entry_id
 GROUP BY cc.customer_id, cc.time_entry_id, te.minutes, te.billable
HAVING te.minutes IS NULL OR sum(cc.minutes) > te.minutes OR NOT coalesce(te.billable, false);
