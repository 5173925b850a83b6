-- A service whose plan moves it to pre-paid credit (a new plan_id, or its plan's billing
-- becoming 'prepaid') has its time entries queued for threshold-topup, which debits those no
-- other job billed: the entry triggers of 020 queue an entry only while its service is pre-paid,
-- so time worked before the move would otherwise be billed by nobody. Time that monthly-rollup
-- already billed for the service makes the customer a data defect (service_billing_changed,
-- docs/data-defects.md) that both jobs skip until staff correct it.

CREATE FUNCTION supportbill_topup_queue_entries_of(service_ids bigint[]) RETURNS void LANGUAGE sql AS $$
    INSERT INTO topup_entry_queue (customer_id, time_entry_id)
    SELECT e.customer_id, e.id
      FROM services s
      JOIN time_entries e ON e.service_id = s.id
     WHERE s.id = ANY(service_ids)
    UNION
    SELECT e.customer_id, e.id
      FROM services s
      JOIN tickets t ON t.customer_id = s.customer_id AND t.service_id = s.id
      JOIN time_entries e ON e.ticket_id = t.id AND e.service_id IS NULL
     WHERE s.id = ANY(service_ids)
$$;

-- Called only with services to queue: the jobs' own updates of services (suspension-sweep's
-- status moves) run as supportbill_runner, which may not insert into topup_entry_queue.
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
             WHERE np.billing = 'prepaid' AND op.billing <> 'prepaid');
        IF cardinality(moved) > 0 THEN
            PERFORM supportbill_topup_queue_entries_of(moved);
        END IF;
    END IF;
    RETURN NULL;
END
$$;

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
         WHERE n.billing = 'prepaid' AND o.billing <> 'prepaid');
    IF cardinality(moved) > 0 THEN
        PERFORM supportbill_topup_queue_entries_of(moved);
    END IF;
    RETURN NULL;
END
$$;
