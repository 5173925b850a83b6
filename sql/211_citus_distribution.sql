-- On Citus, distribute the schema by customer (issue 19, docs/design.md §7.4, docs/scale-out.md).
--
-- supportbill_distribute() does nothing on plain PostgreSQL, nor on a database with the citus
-- extension but no active worker (a coordinator alone). Where Citus has workers, it makes:
--   * reference tables (a whole copy on every node) of the small shared tables, of what has no
--     customer (job_runs, schema_migrations, contract events), and of items and contracts (an
--     item or org-unit contract serves many customers; its customer_id may be NULL);
--   * distributed tables of customers (by id) and of every table that carries customer_id (by
--     customer_id, co-located with customers: each customer's rows are on one worker).
-- It is idempotent: what pg_dist_partition lists as distributed is left alone, so the Migrator
-- calls it after every migrate (Migrator.distribute), and a database migrated on one server and
-- moved to Citus later is distributed by its next migrate. Running it again changes nothing.
--
-- Citus-only changes, made here and only where Citus distributes (each says why in its place):
-- the global UNIQUE invoice numbers become per customer (a distributed table cannot enforce a
-- key without its distribution column: the counters of sql/180 remain what guarantees that a
-- number is never given twice), the foreign keys from items and contracts to customers go (a
-- reference table cannot reference a distributed one), and the statement triggers with
-- transition tables become row triggers (Citus cannot run a transition table's joins with
-- distributed tables from a shard).

CREATE FUNCTION supportbill_distribute() RETURNS text[] LANGUAGE plpgsql AS $fn$
DECLARE
    done text[] := '{}';
    t    text;
    -- In dependency order: a table's foreign keys point at tables before it.
    reference_tables constant text[] := ARRAY[
        'currencies', 'org_units', 'customer_groups', 'plans', 'plan_prices', 'audit_event_names', 'tax_rates',
        'invoice_series', 'invoice_counters', 'job_runs', 'job_run_rows', 'schema_migrations', 'items', 'contracts',
        'contract_events'];
    customer_tables constant text[] := ARRAY[
        'customer_group_members', 'services', 'tickets', 'time_entries', 'payments', 'invoices', 'billable_items',
        'credit_ledger', 'credit_applications', 'invoice_taxes', 'incident_grants', 'incident_uses', 'contract_charges',
        'audit_events', 'topup_entry_queue', 'topup_invoice_queue', 'topup_service_queue', 'topup_balances',
        'rollup_netted_items', 'rollup_entry_changes'];
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus') THEN
        RETURN done;
    END IF;
    EXECUTE $q$SELECT EXISTS (SELECT 1 FROM pg_dist_node WHERE groupid <> 0 AND isactive AND noderole = 'primary')$q$ INTO STRICT t;
    IF t::boolean IS NOT TRUE THEN
        RETURN done;
    END IF;
    -- Without it, a reference table makes every local table that references it a "Citus local
    -- table", which create_distributed_table then refuses (identity columns).
    PERFORM set_config('citus.enable_local_reference_table_foreign_keys', 'off', true);
    -- Triggers on distributed and reference tables: Citus propagates them to the shards.
    PERFORM set_config('citus.enable_unsafe_triggers', 'on', true);
    -- Row triggers reached by a pushed-down INSERT ... SELECT or a multi-shard UPDATE run inside a
    -- query on a shard; their customer-scoped lookups are then nested distributed execution, which
    -- Citus refuses unless allowed. Set here, on Citus only: on plain PostgreSQL a function setting
    -- of an unknown (placeholder) parameter needs superuser since PostgreSQL 15, and the schema
    -- owner need not be one. Setting it again changes nothing.
    FOREACH t IN ARRAY ARRAY[
            'supportbill_citus_topup_entry_relevant(bigint, bigint, bigint, bigint)',
            'supportbill_citus_topup_entry_row()',
            'supportbill_citus_rollup_entry_metered(bigint, bigint, bigint)',
            'supportbill_citus_rollup_entry_row()',
            'supportbill_citus_topup_ticket_row()',
            'supportbill_citus_topup_payment_row()',
            'supportbill_citus_topup_service_row()',
            'supportbill_citus_topup_balance_row()',
            'supportbill_guard_invoice()',
            'supportbill_guard_invoice_item()',
            'supportbill_topup_queue_voided_invoice()',
            'supportbill_number_invoice()',
            'supportbill_guard_invoice_tax()'] LOOP
        EXECUTE format('ALTER FUNCTION %s SET citus.allow_nested_distributed_execution = on', t);
    END LOOP;

    FOREACH t IN ARRAY reference_tables LOOP
        CONTINUE WHEN to_regclass(t) IS NULL;
        CONTINUE WHEN EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = t::regclass);
        IF t IN ('items', 'contracts') THEN
            EXECUTE format('ALTER TABLE %I DROP CONSTRAINT IF EXISTS %I', t, t || '_customer_id_fkey');
        END IF;
        IF t = 'plans' THEN
            -- Statement triggers on a reference table would run on every placement, and their
            -- multi-shard INSERT ... SELECT FROM services is refused there.
            DROP TRIGGER IF EXISTS plans_topup_update ON plans;
        ELSIF t = 'plan_prices' THEN
            DROP TRIGGER IF EXISTS plan_prices_topup_insert ON plan_prices;
            DROP TRIGGER IF EXISTS plan_prices_topup_update ON plan_prices;
            DROP TRIGGER IF EXISTS plan_prices_topup_delete ON plan_prices;
        ELSIF t = 'job_runs' THEN
            -- The guard compares pg_backend_pid() with the run's session: on a reference table it
            -- would run in Citus's own sessions on every node (docs/scale-out.md, limits).
            DROP TRIGGER IF EXISTS job_runs_guard ON job_runs;
        ELSIF t = 'job_run_rows' THEN
            DROP TRIGGER IF EXISTS job_run_rows_guard ON job_run_rows;
        END IF;
        PERFORM create_reference_table(t::regclass);
        done := done || t;
    END LOOP;

    IF NOT EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = 'customers'::regclass) THEN
        PERFORM create_distributed_table('customers', 'id');
        done := done || 'customers'::text;
    END IF;

    FOREACH t IN ARRAY customer_tables LOOP
        CONTINUE WHEN to_regclass(t) IS NULL;
        CONTINUE WHEN EXISTS (SELECT 1 FROM pg_dist_partition WHERE logicalrelid = t::regclass);
        IF t = 'invoices' THEN
            ALTER TABLE invoices DROP CONSTRAINT IF EXISTS invoices_number_key;
            ALTER TABLE invoices DROP CONSTRAINT IF EXISTS invoices_number_value_key;
            ALTER TABLE invoices ADD CONSTRAINT invoices_number_key UNIQUE (customer_id, number) DEFERRABLE INITIALLY DEFERRED;
            ALTER TABLE invoices ADD CONSTRAINT invoices_number_value_key
                UNIQUE (customer_id, number_series, number_credit_note, number_year, number_value) DEFERRABLE INITIALLY DEFERRED;
        ELSIF t = 'time_entries' THEN
            DROP TRIGGER IF EXISTS time_entries_topup_insert ON time_entries;
            DROP TRIGGER IF EXISTS time_entries_topup_update ON time_entries;
            DROP TRIGGER IF EXISTS time_entries_topup_delete ON time_entries;
            DROP TRIGGER IF EXISTS time_entries_rollup_insert ON time_entries;
            DROP TRIGGER IF EXISTS time_entries_rollup_update ON time_entries;
            DROP TRIGGER IF EXISTS time_entries_rollup_delete ON time_entries;
            CREATE TRIGGER time_entries_topup_row AFTER INSERT OR UPDATE OR DELETE ON time_entries
                FOR EACH ROW EXECUTE FUNCTION supportbill_citus_topup_entry_row();
            CREATE TRIGGER time_entries_rollup_row AFTER INSERT OR UPDATE OR DELETE ON time_entries
                FOR EACH ROW EXECUTE FUNCTION supportbill_citus_rollup_entry_row();
        ELSIF t = 'billable_items' THEN
            -- sql/230's guard of inserted items runs once per statement on a transition table,
            -- which Citus cannot run; on Citus the row trigger guards inserts again (the same
            -- function, the same refusal), one lock query per item as before sql/230.
            IF EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'billable_items'::regclass
                          AND tgname = 'billable_items_inserted_onto_drafts') THEN
                DROP TRIGGER billable_items_inserted_onto_drafts ON billable_items;
                DROP TRIGGER billable_items_immutable_when_issued ON billable_items;
                CREATE TRIGGER billable_items_immutable_when_issued
                    BEFORE INSERT OR UPDATE OR DELETE ON billable_items
                    FOR EACH ROW EXECUTE FUNCTION supportbill_guard_invoice_item();
            END IF;
        ELSIF t = 'tickets' THEN
            DROP TRIGGER IF EXISTS tickets_topup_update ON tickets;
            CREATE TRIGGER tickets_topup_row AFTER UPDATE ON tickets
                FOR EACH ROW EXECUTE FUNCTION supportbill_citus_topup_ticket_row();
        ELSIF t = 'payments' THEN
            DROP TRIGGER IF EXISTS payments_topup_insert ON payments;
            DROP TRIGGER IF EXISTS payments_topup_update ON payments;
            DROP TRIGGER IF EXISTS payments_topup_delete ON payments;
            CREATE TRIGGER payments_topup_row AFTER INSERT OR UPDATE OR DELETE ON payments
                FOR EACH ROW EXECUTE FUNCTION supportbill_citus_topup_payment_row();
        ELSIF t = 'services' THEN
            DROP TRIGGER IF EXISTS services_topup_insert ON services;
            DROP TRIGGER IF EXISTS services_topup_update ON services;
            CREATE TRIGGER services_topup_row AFTER INSERT OR UPDATE ON services
                FOR EACH ROW EXECUTE FUNCTION supportbill_citus_topup_service_row();
        ELSIF t = 'credit_ledger' THEN
            DROP TRIGGER IF EXISTS credit_ledger_topup_balances ON credit_ledger;
            CREATE TRIGGER credit_ledger_topup_balance_row AFTER INSERT ON credit_ledger
                FOR EACH ROW EXECUTE FUNCTION supportbill_citus_topup_balance_row();
        END IF;
        PERFORM create_distributed_table(t::regclass, 'customer_id', colocate_with => 'customers');
        done := done || t;
    END LOOP;
    RETURN done;
END
$fn$;

-- The row triggers Citus runs on the shards. Every lookup filters on the row's customer_id, so
-- it stays on the co-located shards of the same worker; that is what makes
-- citus.allow_nested_distributed_execution (set on each function below) safe here.

-- Is this entry (or would it be) on a pre-paid service, or was it debited before?
CREATE FUNCTION supportbill_citus_topup_entry_relevant(c bigint, entry bigint, svc bigint, ticket bigint) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    sid bigint;
BEGIN
    sid := COALESCE(svc, (SELECT t.service_id FROM tickets t WHERE t.customer_id = c AND t.id = ticket));
    RETURN EXISTS (SELECT 1 FROM services s JOIN plans p ON p.id = s.plan_id
                    WHERE s.customer_id = c AND s.id = sid AND p.billing = 'prepaid')
        OR EXISTS (SELECT 1 FROM credit_ledger l WHERE l.customer_id = c AND l.time_entry_id = entry);
END
$$;

-- sql/151's supportbill_topup_queue_entries, one row at a time (a row's customer_id cannot
-- change on Citus, so both sides of an update are the same queue row).
CREATE FUNCTION supportbill_citus_topup_entry_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (NEW.customer_id, NEW.ticket_id, NEW.service_id, NEW.minutes, NEW.billable, NEW.worked_at)
                            IS NOT DISTINCT FROM (OLD.customer_id, OLD.ticket_id, OLD.service_id, OLD.minutes, OLD.billable, OLD.worked_at) THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF EXISTS (SELECT 1 FROM services s JOIN plans p ON p.id = s.plan_id
                    WHERE s.customer_id = NEW.customer_id AND p.billing = 'prepaid'
                      AND s.id = COALESCE(NEW.service_id, (SELECT t.service_id FROM tickets t
                                                            WHERE t.customer_id = NEW.customer_id AND t.id = NEW.ticket_id))) THEN
            INSERT INTO topup_entry_queue (customer_id, time_entry_id) VALUES (NEW.customer_id, NEW.id);
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        IF supportbill_citus_topup_entry_relevant(OLD.customer_id, OLD.id, OLD.service_id, OLD.ticket_id) THEN
            INSERT INTO topup_entry_queue (customer_id, time_entry_id) VALUES (OLD.customer_id, OLD.id);
        END IF;
    ELSIF supportbill_citus_topup_entry_relevant(OLD.customer_id, OLD.id, OLD.service_id, OLD.ticket_id)
       OR supportbill_citus_topup_entry_relevant(NEW.customer_id, NEW.id, NEW.service_id, NEW.ticket_id) THEN
        INSERT INTO topup_entry_queue (customer_id, time_entry_id) VALUES (NEW.customer_id, NEW.id);
    END IF;
    RETURN NULL;
END
$$;

-- sql/150's supportbill_rollup_note_entries, one row at a time.
-- plpgsql, not sql: Citus cannot plan a parameterized SQL function's statement on a shard.
CREATE FUNCTION supportbill_citus_rollup_entry_metered(c bigint, svc bigint, ticket bigint) RETURNS boolean LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN EXISTS (SELECT 1 FROM services s JOIN plans p ON p.id = s.plan_id
                    WHERE s.customer_id = c AND p.billing = 'metered'
                      AND s.id = COALESCE(svc, (SELECT t.service_id FROM tickets t WHERE t.customer_id = c AND t.id = ticket)));
END
$$;

CREATE FUNCTION supportbill_citus_rollup_entry_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bound timestamptz := (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '14 hours') AT TIME ZONE 'UTC';
BEGIN
    IF TG_OP = 'UPDATE' AND (NEW.customer_id, NEW.ticket_id, NEW.service_id, NEW.minutes, NEW.billable, NEW.worked_at)
                            IS NOT DISTINCT FROM (OLD.customer_id, OLD.ticket_id, OLD.service_id, OLD.minutes, OLD.billable, OLD.worked_at) THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.worked_at < bound AND (TG_OP = 'UPDATE' OR OLD.billable)
       AND supportbill_citus_rollup_entry_metered(OLD.customer_id, OLD.service_id, OLD.ticket_id) THEN
        INSERT INTO rollup_entry_changes (customer_id, time_entry_id, worked_at) VALUES (OLD.customer_id, OLD.id, OLD.worked_at);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.worked_at < bound AND (TG_OP = 'UPDATE' OR NEW.billable)
       AND NOT (TG_OP = 'UPDATE' AND OLD.worked_at = NEW.worked_at AND OLD.worked_at < bound
                AND supportbill_citus_rollup_entry_metered(OLD.customer_id, OLD.service_id, OLD.ticket_id))
       AND supportbill_citus_rollup_entry_metered(NEW.customer_id, NEW.service_id, NEW.ticket_id) THEN
        INSERT INTO rollup_entry_changes (customer_id, time_entry_id, worked_at) VALUES (NEW.customer_id, NEW.id, NEW.worked_at);
    END IF;
    RETURN NULL;
END
$$;

-- sql/020's supportbill_topup_queue_ticket_entries, one ticket at a time.
CREATE FUNCTION supportbill_citus_topup_ticket_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.service_id IS DISTINCT FROM NEW.service_id THEN
        INSERT INTO topup_entry_queue (customer_id, time_entry_id)
        SELECT e.customer_id, e.id FROM time_entries e
         WHERE e.customer_id = NEW.customer_id AND e.ticket_id = NEW.id AND e.service_id IS NULL
           AND (supportbill_citus_topup_entry_relevant(e.customer_id, e.id, OLD.service_id, NULL)
                OR supportbill_citus_topup_entry_relevant(e.customer_id, e.id, NEW.service_id, NULL));
    END IF;
    RETURN NULL;
END
$$;

-- sql/020's supportbill_topup_queue_payments, one payment at a time.
CREATE FUNCTION supportbill_citus_topup_payment_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (NEW.invoice_id, NEW.amount, NEW.currency, NEW.status)
                            IS NOT DISTINCT FROM (OLD.invoice_id, OLD.amount, OLD.currency, OLD.status) THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO topup_invoice_queue (customer_id, invoice_id)
        SELECT i.customer_id, i.id FROM invoices i WHERE i.customer_id = OLD.customer_id AND i.id = OLD.invoice_id AND i.kind = 'topup';
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.invoice_id IS DISTINCT FROM OLD.invoice_id) THEN
        INSERT INTO topup_invoice_queue (customer_id, invoice_id)
        SELECT i.customer_id, i.id FROM invoices i WHERE i.customer_id = NEW.customer_id AND i.id = NEW.invoice_id AND i.kind = 'topup';
    END IF;
    RETURN NULL;
END
$$;

-- sql/151's supportbill_topup_queue_services, one service at a time.
CREATE FUNCTION supportbill_citus_topup_service_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND (OLD.customer_id, OLD.plan_id, OLD.currency, OLD.status, OLD.ends_on)
                            IS NOT DISTINCT FROM (NEW.customer_id, NEW.plan_id, NEW.currency, NEW.status, NEW.ends_on) THEN
        RETURN NULL;
    END IF;
    IF EXISTS (SELECT 1 FROM plans p WHERE p.id = NEW.plan_id AND p.billing = 'prepaid') THEN
        INSERT INTO topup_service_queue (customer_id, service_id) VALUES (NEW.customer_id, NEW.id);
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.plan_id <> OLD.plan_id
       AND EXISTS (SELECT 1 FROM plans p WHERE p.id IN (NEW.plan_id, OLD.plan_id) AND p.billing = 'prepaid') THEN
        INSERT INTO topup_entry_queue (customer_id, time_entry_id)
        SELECT e.customer_id, e.id FROM time_entries e WHERE e.customer_id = NEW.customer_id AND e.service_id = NEW.id
        UNION
        SELECT e.customer_id, e.id FROM tickets t
          JOIN time_entries e ON e.customer_id = t.customer_id AND e.ticket_id = t.id AND e.service_id IS NULL
         WHERE t.customer_id = NEW.customer_id AND t.service_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;

-- sql/020's supportbill_topup_add_balances, one ledger row at a time.
CREATE FUNCTION supportbill_citus_topup_balance_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO topup_balances AS b (customer_id, service_id, balance) VALUES (NEW.customer_id, NEW.service_id, NEW.amount)
    ON CONFLICT (customer_id, service_id) DO UPDATE SET balance = b.balance + EXCLUDED.balance;
    RETURN NULL;
END
$$;

-- The guards of items and tax rows look their invoice up by (customer_id, id), a router query
-- to the one shard on Citus (FOR SHARE is refused on a lookup that could touch every shard),
-- and the same row on plain PostgreSQL (their foreign keys include customer_id). Rewritten in
-- place, so columns other migrations added to the guards stay.
DO $$
DECLARE
    f text;
BEGIN
    f := pg_get_functiondef('supportbill_guard_invoice_item()'::regprocedure);
    f := replace(f, 'FROM invoices WHERE id = OLD.invoice_id FOR SHARE',
                    'FROM invoices WHERE customer_id = OLD.customer_id AND id = OLD.invoice_id FOR SHARE');
    f := replace(f, 'FROM invoices WHERE id = NEW.invoice_id FOR SHARE',
                    'FROM invoices WHERE customer_id = NEW.customer_id AND id = NEW.invoice_id FOR SHARE');
    EXECUTE f;
    f := pg_get_functiondef('supportbill_guard_invoice_tax()'::regprocedure);
    f := replace(f, 'WHERE id = COALESCE(NEW.invoice_id, OLD.invoice_id) FOR SHARE',
                    'WHERE customer_id = COALESCE(NEW.customer_id, OLD.customer_id) AND id = COALESCE(NEW.invoice_id, OLD.invoice_id) FOR SHARE');
    EXECUTE f;
END
$$;

-- Not called here: `supportbill migrate` calls supportbill_distribute() after the last migration
-- (Migrator.distribute), so later migrations change tables before Citus owns them, and a
-- database given Citus later is distributed by its next migrate.
