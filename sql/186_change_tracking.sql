-- supportbill 0.1.0 baseline, 5 of 7: change tracking (docs/design.md §4). Triggers on the
-- inputs note what threshold-topup and monthly-rollup may have to look at in the small tables of
-- sql/184, so that neither job reads the history to find what changed.

-- ---------------------------------------------------------------------------------------------
-- threshold-topup (docs/jobs/threshold-topup.md)
-- ---------------------------------------------------------------------------------------------

-- Time entries: inserted on a pre-paid service, or edited (minutes, billable, service, ticket,
-- customer, worked_at: a re-dated entry is queued like an edited one, so an entry moved after the
-- run's as-of has its debit given back until it is worked) or deleted while on a pre-paid
-- service or debited before.
CREATE FUNCTION supportbill_topup_queue_entries() RETURNS trigger LANGUAGE plpgsql AS $$
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

-- Transition tables allow one event per trigger, hence three triggers on one function.
CREATE TRIGGER time_entries_topup_insert AFTER INSERT ON time_entries
    REFERENCING NEW TABLE AS topup_new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION supportbill_topup_queue_entries();
CREATE TRIGGER time_entries_topup_update AFTER UPDATE ON time_entries
    REFERENCING OLD TABLE AS topup_old_entries NEW TABLE AS topup_new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION supportbill_topup_queue_entries();
CREATE TRIGGER time_entries_topup_delete AFTER DELETE ON time_entries
    REFERENCING OLD TABLE AS topup_old_entries
    FOR EACH STATEMENT EXECUTE FUNCTION supportbill_topup_queue_entries();

-- A ticket that changes service or customer moves the entries that fall back to its service
-- (and, on a change of customer, re-checks all its entries).
CREATE FUNCTION supportbill_topup_queue_ticket_entries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO topup_entry_queue (customer_id, time_entry_id)
    SELECT DISTINCT e.customer_id, e.id
      FROM topup_old_tickets o
      JOIN topup_new_tickets n ON n.id = o.id
      JOIN time_entries e ON e.ticket_id = n.id
                         AND (e.service_id IS NULL OR o.customer_id IS DISTINCT FROM n.customer_id)
      LEFT JOIN services so ON so.id = COALESCE(e.service_id, o.service_id)
      LEFT JOIN plans po ON po.id = so.plan_id
      LEFT JOIN services sn ON sn.id = COALESCE(e.service_id, n.service_id)
      LEFT JOIN plans pn ON pn.id = sn.plan_id
     WHERE (o.service_id, o.customer_id) IS DISTINCT FROM (n.service_id, n.customer_id)
       AND (po.billing = 'prepaid' OR pn.billing = 'prepaid'
            OR EXISTS (SELECT 1 FROM credit_ledger l WHERE l.time_entry_id = e.id));
    RETURN NULL;
END
$$;

CREATE TRIGGER tickets_topup_update AFTER UPDATE ON tickets
    REFERENCING OLD TABLE AS topup_old_tickets NEW TABLE AS topup_new_tickets
    FOR EACH STATEMENT EXECUTE FUNCTION supportbill_topup_queue_ticket_entries();

-- Payments of top-up invoices: any change may pay or unpay the invoice.
CREATE FUNCTION supportbill_topup_queue_payments() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO topup_invoice_queue (customer_id, invoice_id)
        SELECT DISTINCT i.customer_id, i.id
          FROM topup_new_payments n JOIN invoices i ON i.id = n.invoice_id AND i.kind = 'topup';
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO topup_invoice_queue (customer_id, invoice_id)
        SELECT DISTINCT i.customer_id, i.id
          FROM (
                SELECT o.invoice_id FROM topup_old_payments o
                 WHERE NOT EXISTS (SELECT 1 FROM topup_new_payments n WHERE n.id = o.id
                                      AND (n.invoice_id, n.amount, n.currency, n.status)
                                          IS NOT DISTINCT FROM (o.invoice_id, o.amount, o.currency, o.status))
                UNION ALL
                SELECT n.invoice_id FROM topup_new_payments n
                 WHERE NOT EXISTS (SELECT 1 FROM topup_old_payments o WHERE o.id = n.id
                                      AND (n.invoice_id, n.amount, n.currency, n.status)
                                          IS NOT DISTINCT FROM (o.invoice_id, o.amount, o.currency, o.status))
               ) x
          JOIN invoices i ON i.id = x.invoice_id AND i.kind = 'topup';
    ELSE
        INSERT INTO topup_invoice_queue (customer_id, invoice_id)
        SELECT DISTINCT i.customer_id, i.id
          FROM topup_old_payments o JOIN invoices i ON i.id = o.invoice_id AND i.kind = 'topup';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER payments_topup_insert AFTER INSERT ON payments
    REFERENCING NEW TABLE AS topup_new_payments
    FOR EACH STATEMENT EXECUTE FUNCTION supportbill_topup_queue_payments();
CREATE TRIGGER payments_topup_update AFTER UPDATE ON payments
    REFERENCING OLD TABLE AS topup_old_payments NEW TABLE AS topup_new_payments
    FOR EACH STATEMENT EXECUTE FUNCTION supportbill_topup_queue_payments();
CREATE TRIGGER payments_topup_delete AFTER DELETE ON payments
    REFERENCING OLD TABLE AS topup_old_payments
    FOR EACH STATEMENT EXECUTE FUNCTION supportbill_topup_queue_payments();

-- A voided top-up invoice no longer counts as pending (and a credited one is taken back). The
-- job's own status moves (issued <-> paid) come with a payment change, queued above. Row-level
-- with WHEN, so other invoices' updates (monthly-rollup, suspension-sweep) cost nothing.
CREATE FUNCTION supportbill_topup_queue_voided_invoice() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO topup_invoice_queue (customer_id, invoice_id) VALUES (NEW.customer_id, NEW.id);
    RETURN NULL;
END
$$;

CREATE TRIGGER invoices_topup_voided AFTER UPDATE OF status ON invoices
    FOR EACH ROW WHEN (NEW.kind = 'topup' AND NEW.status = 'void' AND OLD.status <> 'void')
    EXECUTE FUNCTION supportbill_topup_queue_voided_invoice();

-- The time entries of services whose plan moves them to, from or between pre-paid plans: the
-- entry triggers queue an entry only while its service is pre-paid, so time worked before a move
-- to pre-paid would otherwise be billed by nobody, and debits on a plan the service is no longer
-- on are given back or re-rated at the corrected plan's terms (a price change of the same plan
-- still never re-rates debited work). Time that monthly-rollup already billed for the service
-- makes the customer a data defect (service_billing_changed, docs/data-defects.md).
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

-- Services that may now need a pack (new, or a change of customer, plan, currency, status or
-- term), and the entries of services whose plan changes from, to or between pre-paid plans.
-- The entries are queued only for services that moved: the jobs' own updates of services
-- (suspension-sweep's status moves) run as supportbill_runner, which may not insert into
-- topup_entry_queue.
CREATE FUNCTION supportbill_topup_queue_services() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE TRIGGER services_topup_insert AFTER INSERT ON services
    REFERENCING NEW TABLE AS topup_new_services
    FOR EACH STATEMENT EXECUTE FUNCTION supportbill_topup_queue_services();
CREATE TRIGGER services_topup_update AFTER UPDATE ON services
    REFERENCING OLD TABLE AS topup_old_services NEW TABLE AS topup_new_services
    FOR EACH STATEMENT EXECUTE FUNCTION supportbill_topup_queue_services();

-- A plan that becomes pre-paid: its services; a plan whose billing moves to or from pre-paid:
-- its services' entries.
CREATE FUNCTION supportbill_topup_queue_plan_services() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE TRIGGER plans_topup_update AFTER UPDATE ON plans
    REFERENCING OLD TABLE AS topup_old_plans NEW TABLE AS topup_new_plans
    FOR EACH STATEMENT EXECUTE FUNCTION supportbill_topup_queue_plan_services();

-- A pack price or threshold added, changed or removed: the pending and active services on it.
CREATE FUNCTION supportbill_topup_queue_price_services() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO topup_service_queue (customer_id, service_id)
        SELECT s.customer_id, s.id
          FROM topup_new_prices n
          JOIN plans p ON p.id = n.plan_id AND p.billing = 'prepaid'
          JOIN services s ON s.plan_id = n.plan_id AND s.currency = n.currency AND s.status IN ('pending', 'active');
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO topup_service_queue (customer_id, service_id)
        SELECT s.customer_id, s.id
          FROM (
                SELECT n.plan_id, n.currency FROM topup_new_prices n
                 WHERE NOT EXISTS (SELECT 1 FROM topup_old_prices o WHERE o.plan_id = n.plan_id AND o.currency = n.currency
                                      AND (o.topup_amount, o.threshold) = (n.topup_amount, n.threshold))
                UNION
                SELECT o.plan_id, o.currency FROM topup_old_prices o
                 WHERE NOT EXISTS (SELECT 1 FROM topup_new_prices n WHERE n.plan_id = o.plan_id AND n.currency = o.currency)
               ) c
          JOIN plans p ON p.id = c.plan_id AND p.billing = 'prepaid'
          JOIN services s ON s.plan_id = c.plan_id AND s.currency = c.currency AND s.status IN ('pending', 'active');
    ELSE
        INSERT INTO topup_service_queue (customer_id, service_id)
        SELECT s.customer_id, s.id
          FROM topup_old_prices o
          JOIN plans p ON p.id = o.plan_id AND p.billing = 'prepaid'
          JOIN services s ON s.plan_id = o.plan_id AND s.currency = o.currency AND s.status IN ('pending', 'active');
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER plan_prices_topup_insert AFTER INSERT ON plan_prices
    REFERENCING NEW TABLE AS topup_new_prices
    FOR EACH STATEMENT EXECUTE FUNCTION supportbill_topup_queue_price_services();
CREATE TRIGGER plan_prices_topup_update AFTER UPDATE ON plan_prices
    REFERENCING OLD TABLE AS topup_old_prices NEW TABLE AS topup_new_prices
    FOR EACH STATEMENT EXECUTE FUNCTION supportbill_topup_queue_price_services();
CREATE TRIGGER plan_prices_topup_delete AFTER DELETE ON plan_prices
    REFERENCING OLD TABLE AS topup_old_prices
    FOR EACH STATEMENT EXECUTE FUNCTION supportbill_topup_queue_price_services();

-- B per service, kept from the ledger's inserts (the ledger is append-only: sql/185).
CREATE FUNCTION supportbill_topup_add_balances() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO topup_balances AS b (customer_id, service_id, balance)
    SELECT n.customer_id, n.service_id, sum(n.amount)
      FROM topup_new_ledger n
     GROUP BY n.customer_id, n.service_id
    ON CONFLICT (customer_id, service_id) DO UPDATE SET balance = b.balance + EXCLUDED.balance;
    RETURN NULL;
END
$$;

CREATE TRIGGER credit_ledger_topup_balances AFTER INSERT ON credit_ledger
    REFERENCING NEW TABLE AS topup_new_ledger
    FOR EACH STATEMENT EXECUTE FUNCTION supportbill_topup_add_balances();

-- ---------------------------------------------------------------------------------------------
-- monthly-rollup (docs/jobs/monthly-rollup.md, "When the past changes")
-- ---------------------------------------------------------------------------------------------

-- The entries of a statement that touch a metered service (the entry's, else its ticket's) and
-- may lie in a month that has closed somewhere: worked before the 1st of the current UTC month
-- plus 14 hours (UTC+14 is the earliest zone, UTC-12 the latest; an entry after that bound is in
-- a month still open in every zone, which the first run after the month re-rates anyway). The
-- bound only decides what is worth noting for the report, never what is billed, so the clock
-- of the writing session may draw it: noting too much is harmless, and the time worked now in
-- the open month (nearly all inserts) costs no note.
CREATE FUNCTION supportbill_rollup_note_entries() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bound timestamptz := (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '14 hours') AT TIME ZONE 'UTC';
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO rollup_entry_changes (customer_id, time_entry_id, worked_at)
        SELECT n.customer_id, n.id, n.worked_at
          FROM rollup_new_entries n
          LEFT JOIN tickets t ON n.service_id IS NULL AND t.id = n.ticket_id
          JOIN services s ON s.id = COALESCE(n.service_id, t.service_id)
          JOIN plans p ON p.id = s.plan_id
         WHERE p.billing = 'metered' AND n.billable AND n.worked_at < bound;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO rollup_entry_changes (customer_id, time_entry_id, worked_at)
        SELECT DISTINCT x.customer_id, x.id, x.worked_at
          FROM (
                SELECT o.customer_id, o.id, o.service_id, o.ticket_id, o.worked_at
                  FROM rollup_old_entries o
                 WHERE NOT EXISTS (SELECT 1 FROM rollup_new_entries n WHERE n.id = o.id
                                      AND (n.customer_id, n.ticket_id, n.service_id, n.minutes, n.billable, n.worked_at)
                                          IS NOT DISTINCT FROM (o.customer_id, o.ticket_id, o.service_id, o.minutes, o.billable, o.worked_at))
                UNION ALL
                SELECT n.customer_id, n.id, n.service_id, n.ticket_id, n.worked_at
                  FROM rollup_new_entries n
                 WHERE NOT EXISTS (SELECT 1 FROM rollup_old_entries o WHERE o.id = n.id
                                      AND (n.customer_id, n.ticket_id, n.service_id, n.minutes, n.billable, n.worked_at)
                                          IS NOT DISTINCT FROM (o.customer_id, o.ticket_id, o.service_id, o.minutes, o.billable, o.worked_at))
               ) x
          LEFT JOIN tickets t ON x.service_id IS NULL AND t.id = x.ticket_id
          JOIN services s ON s.id = COALESCE(x.service_id, t.service_id)
          JOIN plans p ON p.id = s.plan_id
         WHERE p.billing = 'metered' AND x.worked_at < bound;
    ELSE
        INSERT INTO rollup_entry_changes (customer_id, time_entry_id, worked_at)
        SELECT o.customer_id, o.id, o.worked_at
          FROM rollup_old_entries o
          LEFT JOIN tickets t ON o.service_id IS NULL AND t.id = o.ticket_id
          JOIN services s ON s.id = COALESCE(o.service_id, t.service_id)
          JOIN plans p ON p.id = s.plan_id
         WHERE p.billing = 'metered' AND o.billable AND o.worked_at < bound;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER time_entries_rollup_insert AFTER INSERT ON time_entries
    REFERENCING NEW TABLE AS rollup_new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION supportbill_rollup_note_entries();
CREATE TRIGGER time_entries_rollup_update AFTER UPDATE ON time_entries
    REFERENCING OLD TABLE AS rollup_old_entries NEW TABLE AS rollup_new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION supportbill_rollup_note_entries();
CREATE TRIGGER time_entries_rollup_delete AFTER DELETE ON time_entries
    REFERENCING OLD TABLE AS rollup_old_entries
    FOR EACH STATEMENT EXECUTE FUNCTION supportbill_rollup_note_entries();
