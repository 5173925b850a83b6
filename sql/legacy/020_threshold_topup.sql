-- threshold-topup (issue 4): what the hourly pre-paid credit job needs to follow the new work
-- since its last run instead of the size of the history. See docs/jobs/threshold-topup.md.
--
-- * Change tracking. Triggers on time_entries, tickets, payments, invoices, services, plans and
--   plan_prices append what the job may have to look at to three queues. The job reads a batch's
--   queue rows, writes the ledger rows, invoices and status changes they lead to, and deletes
--   exactly the queue rows it read, all in the batch's transaction: a crash loses nothing and a
--   rerun doubles nothing (a change committed while the batch runs adds a new queue row, which
--   the next run sees). Choosing the customers of a run is a scan of the three small queues.
-- * Balances. B (the ledger sum of a service) is kept per service by a trigger on credit_ledger,
--   so neither the job nor its choice of customers ever sums the ledger's history. The ledger
--   is append-only (enforced below), so the running sum can never drift from the rows.
-- * Ledger facts. Each entry row records the rounded minutes it accounts for and the hourly rate
--   it used, so a later correction reverses exactly what was debited, even after a price change.

-- ---------------------------------------------------------------------------------------------
-- Ledger facts and access paths
-- ---------------------------------------------------------------------------------------------

-- Rounded minutes this row accounts for (+ debited, - given back) and the hourly rate used.
-- NULL on credits of top-up invoices.
ALTER TABLE credit_ledger ADD COLUMN minutes integer;
ALTER TABLE credit_ledger ADD COLUMN hourly_rate bigint;

-- Credits and reversals of one top-up invoice.
CREATE INDEX credit_ledger_invoice_idx ON credit_ledger (invoice_id) WHERE invoice_id IS NOT NULL;
-- Top-up invoices issued recently (max_topups_per_day), and the unpaid ones (P).
CREATE INDEX invoices_topup_issued_idx ON invoices (customer_id, issued_at) WHERE kind = 'topup';
CREATE INDEX invoices_topup_open_idx ON invoices (customer_id) WHERE kind = 'topup' AND status = 'issued';

-- ---------------------------------------------------------------------------------------------
-- Queues
-- ---------------------------------------------------------------------------------------------

-- Time entries whose debit may have to change: inserted, edited (minutes, billable, service,
-- ticket, customer), deleted, or moved by a change of their ticket. Only entries that touch a
-- pre-paid service (or were debited before) are queued, so other plans cost the job nothing.
CREATE TABLE topup_entry_queue (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id   bigint NOT NULL,
    time_entry_id bigint NOT NULL,
    queued_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX topup_entry_queue_customer_idx ON topup_entry_queue (customer_id);

-- Top-up invoices to reconcile with their payments: a payment arrived, was reversed, edited or
-- deleted, or the invoice was voided.
CREATE TABLE topup_invoice_queue (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id bigint NOT NULL,
    invoice_id  bigint NOT NULL,
    queued_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX topup_invoice_queue_customer_idx ON topup_invoice_queue (customer_id);

-- Pre-paid services that may need a pack although no entry or payment of theirs changed: a new
-- service, a change of status, plan, currency or term, a changed pack price or threshold; and
-- services the job could not invoice today (max_topups_per_day), queued again by the job.
CREATE TABLE topup_service_queue (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id bigint NOT NULL,
    service_id  bigint NOT NULL,
    queued_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX topup_service_queue_customer_idx ON topup_service_queue (customer_id);

-- B per service: the sum of the service's credit_ledger rows.
CREATE TABLE topup_balances (
    customer_id bigint NOT NULL,
    service_id  bigint NOT NULL,
    balance     bigint NOT NULL,
    PRIMARY KEY (customer_id, service_id)
);

-- ---------------------------------------------------------------------------------------------
-- Triggers
-- ---------------------------------------------------------------------------------------------

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
                                      AND (n.customer_id, n.ticket_id, n.service_id, n.minutes, n.billable)
                                          IS NOT DISTINCT FROM (o.customer_id, o.ticket_id, o.service_id, o.minutes, o.billable))
                UNION ALL
                SELECT n.customer_id, n.id, n.service_id, n.ticket_id
                  FROM topup_new_entries n
                 WHERE NOT EXISTS (SELECT 1 FROM topup_old_entries o WHERE o.id = n.id
                                      AND (n.customer_id, n.ticket_id, n.service_id, n.minutes, n.billable)
                                          IS NOT DISTINCT FROM (o.customer_id, o.ticket_id, o.service_id, o.minutes, o.billable))
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

-- Services that may now need a pack.
CREATE FUNCTION supportbill_topup_queue_services() RETURNS trigger LANGUAGE plpgsql AS $$
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

-- A plan that becomes pre-paid: its services.
CREATE FUNCTION supportbill_topup_queue_plan_services() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO topup_service_queue (customer_id, service_id)
    SELECT s.customer_id, s.id
      FROM topup_new_plans n
      JOIN topup_old_plans o ON o.id = n.id
      JOIN services s ON s.plan_id = n.id
     WHERE n.billing = 'prepaid' AND o.billing <> 'prepaid';
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

-- The credit ledger is append-only: corrections are new rows, never edits.
CREATE FUNCTION supportbill_guard_credit_ledger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'credit_ledger row % cannot be changed or deleted: the ledger is append-only', OLD.id
        USING ERRCODE = 'integrity_constraint_violation',
              HINT = 'Correct it with a new adjustment row.';
END
$$;

CREATE TRIGGER credit_ledger_append_only
    BEFORE UPDATE OR DELETE ON credit_ledger
    FOR EACH ROW EXECUTE FUNCTION supportbill_guard_credit_ledger();

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
-- Backfill: what existed before the triggers. CREATE TRIGGER holds a lock on each table until
-- this migration commits, so no row can slip in between the triggers and the backfill.
-- (time_entries, payments and services are all locked by their triggers above.)
-- ---------------------------------------------------------------------------------------------

INSERT INTO topup_balances (customer_id, service_id, balance)
SELECT customer_id, service_id, sum(amount) FROM credit_ledger GROUP BY customer_id, service_id;

-- Every entry of a pre-paid service: the first run debits those not debited yet (an entry
-- already debited compares equal to its ledger rows and changes nothing).
INSERT INTO topup_entry_queue (customer_id, time_entry_id)
SELECT e.customer_id, e.id
  FROM time_entries e
  LEFT JOIN tickets t ON e.service_id IS NULL AND t.id = e.ticket_id
  JOIN services s ON s.id = COALESCE(e.service_id, t.service_id)
  JOIN plans p ON p.id = s.plan_id
 WHERE p.billing = 'prepaid';

INSERT INTO topup_invoice_queue (customer_id, invoice_id)
SELECT DISTINCT i.customer_id, i.id
  FROM payments pay JOIN invoices i ON i.id = pay.invoice_id AND i.kind = 'topup';

-- Every pre-paid service: the first run issues the packs that are due.
INSERT INTO topup_service_queue (customer_id, service_id)
SELECT s.customer_id, s.id FROM services s JOIN plans p ON p.id = s.plan_id AND p.billing = 'prepaid';
