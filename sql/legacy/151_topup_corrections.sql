-- threshold-topup converges on corrected data (DESIGN.md §7.1; docs/jobs/threshold-topup.md,
-- "When the past changes").
--
-- * A re-dated entry is queued like an edited one (worked_at joins the compared columns): an
--   entry moved after the run's as-of has its debit given back until it is worked.
-- * A service whose plan is corrected, from or to a pre-paid plan or between two pre-paid
--   plans, has its entries queued: debits on a plan the service is no longer on are given back
--   or re-rated at the corrected plan's terms (a price change of the same plan still never
--   re-rates debited work). Each ledger row now records the plan it was made on (plan_id).
-- * Every correction of a debit writes an audit event (`debit_corrected`) saying why.

ALTER TABLE credit_ledger ADD COLUMN plan_id bigint;

COMMENT ON COLUMN credit_ledger.plan_id IS
    'threshold-topup: the plan of the service when the row was written (debits and their corrections); NULL for credits and rows before sql/151';

INSERT INTO audit_event_names (name, description) VALUES
    ('debit_corrected', 'threshold-topup corrected the debit of a time entry (edited, re-dated, moved, withdrawn, deleted, or its service''s plan corrected)');

CREATE OR REPLACE FUNCTION supportbill_topup_queue_entries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO topup_entry_queue (customer_id, time_entry_id)
        SELECT n.customer_id, n.id
          FROM topup_new_entries n
          LEFT JOIN tickets t ON n.service_id IS NULL AND t.id = n.ticket_id
          JOIN services s ON s.id = COALESCE(n.service_id, t.service_id)
          JOIN plans p ON p.id = s.plan_id
         WHERE p.billing = 'prepaid';
    ELSIF TG_OP = 'UPDATE' THEN
        -- Both sides of a change: an entry moved to another customer is corrected for both.
        INSERT INTO topup_entry_queue (customer_id, time_entry_id)
        SELECT DISTINCT x.customer_id, x.id
          FROM (
                SELECT o.customer_id, o.id, o.service_id, o.ticket_id
                  FROM topup_old_entries o
                 WHERE NOT EXISTS (SELECT 1 FROM topup_new_entries n WHERE n.id = o.id
                                      AND (n.customer_id, n.ticket_id, n.service_id, n.minutes, n.billable, n.worked_at)
                                          IS NOT DISTINCT FROM (o.customer_id, o.ticket_id, o.service_id, o.minutes, o.billable, o.worked_at))
                UNION ALL
                SELECT n.customer_id, n.id, n.service_id, n.ticket_id
                  FROM topup_new_entries n
                 WHERE NOT EXISTS (SELECT 1 FROM topup_old_entries o WHERE o.id = n.id
                                      AND (n.customer_id, n.ticket_id, n.service_id, n.minutes, n.billable, n.worked_at)
                                          IS NOT DISTINCT FROM (o.customer_id, o.ticket_id, o.service_id, o.minutes, o.billable, o.worked_at))
               ) x
          LEFT JOIN tickets t ON x.service_id IS NULL AND t.id = x.ticket_id
          LEFT JOIN services s ON s.id = COALESCE(x.service_id, t.service_id)
          LEFT JOIN plans p ON p.id = s.plan_id
         WHERE p.billing = 'prepaid'
            OR EXISTS (SELECT 1 FROM credit_ledger l WHERE l.time_entry_id = x.id);
    ELSE
        INSERT INTO topup_entry_queue (customer_id, time_entry_id)
        SELECT o.customer_id, o.id
          FROM topup_old_entries o
          LEFT JOIN tickets t ON o.service_id IS NULL AND t.id = o.ticket_id
          LEFT JOIN services s ON s.id = COALESCE(o.service_id, t.service_id)
          LEFT JOIN plans p ON p.id = s.plan_id
         WHERE p.billing = 'prepaid'
            OR EXISTS (SELECT 1 FROM credit_ledger l WHERE l.time_entry_id = o.id);
    END IF;
    RETURN NULL;
END
$$;

-- Services whose plan changes from, to or between pre-paid plans: their entries.
CREATE OR REPLACE FUNCTION supportbill_topup_queue_services() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    moved bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO topup_service_queue (customer_id, service_id)
        SELECT n.customer_id, n.id
          FROM topup_new_services n JOIN plans p ON p.id = n.plan_id AND p.billing = 'prepaid';
    ELSE
        INSERT INTO topup_service_queue (customer_id, service_id)
        SELECT n.customer_id, n.id
          FROM topup_new_services n
          JOIN plans p ON p.id = n.plan_id AND p.billing = 'prepaid'
         WHERE NOT EXISTS (SELECT 1 FROM topup_old_services o WHERE o.id = n.id
                              AND (o.customer_id, o.plan_id, o.currency, o.status, o.ends_on)
                                  IS NOT DISTINCT FROM (n.customer_id, n.plan_id, n.currency, n.status, n.ends_on));
        moved := ARRAY(
            SELECT n.id
              FROM topup_new_services n
              JOIN topup_old_services o ON o.id = n.id
              JOIN plans np ON np.id = n.plan_id
              JOIN plans op ON op.id = o.plan_id
             WHERE n.plan_id <> o.plan_id AND (np.billing = 'prepaid' OR op.billing = 'prepaid'));
        -- Called only with services to move: the runner's own status updates never get here.
        IF cardinality(moved) > 0 THEN
            PERFORM supportbill_topup_queue_entries_of(moved);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

-- Plans whose billing moves to or from pre-paid: their services' entries.
CREATE OR REPLACE FUNCTION supportbill_topup_queue_plan_services() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    moved bigint[];
BEGIN
    INSERT INTO topup_service_queue (customer_id, service_id)
    SELECT s.customer_id, s.id
      FROM topup_new_plans n
      JOIN topup_old_plans o ON o.id = n.id
      JOIN services s ON s.plan_id = n.id
     WHERE n.billing = 'prepaid' AND o.billing <> 'prepaid';
    moved := ARRAY(
        SELECT s.id
          FROM topup_new_plans n
          JOIN topup_old_plans o ON o.id = n.id
          JOIN services s ON s.plan_id = n.id
         WHERE (n.billing = 'prepaid') <> (o.billing = 'prepaid'));
    IF cardinality(moved) > 0 THEN
        PERFORM supportbill_topup_queue_entries_of(moved);
    END IF;
    RETURN NULL;
END
$$;
