-- supportbill 0.1.0 baseline, 7 of 7: supportbill_runner, the least privilege the jobs need
-- (docs/security.md).
--
-- A NOLOGIN group role. The operator creates a login role for the timers and makes it a member:
--     CREATE ROLE supportbill_jobs LOGIN PASSWORD '...' IN ROLE supportbill_runner;
-- `supportbill migrate` runs as the schema's owner (it needs DDL); `supportbill run` and the
-- read-only commands (runs, report, incidents, contracts, check, simulate) run as a member of
-- supportbill_runner, which can:
--   * read every input and output table (and the views and functions staff use);
--   * insert into the outputs;
--   * update exactly the columns the jobs move: invoice status and the columns of a draft the
--     rollup corrects, item columns of drafts, services' status/suspension columns, contracts'
--     status, job_runs' end-of-run columns, incident_grants.revoked_at, incident_uses.returned_at,
--     the supersession of a credit application, the invoice counters;
--   * delete only where a job must: the rollup's zero-total drafts, their items and tax rows
--     (the guards of sql/185 refuse it for anything but a draft), managed group memberships
--     (suspension-sweep), and the queue rows and notes it has handled.
-- It cannot create, alter or drop anything, and it cannot delete from the ledgers
-- (credit_ledger, audit_events, job_runs, job_run_rows, contract_charges, incident_grants,
-- incident_uses, credit_applications) or change an issued invoice (sql/185). A migration that
-- adds a table grants the role what its job needs; a test lists every table and fails on one the
-- role cannot read, and another compares the grants with the list it expects.

-- Roles belong to the cluster, not the database: several databases of one cluster may be
-- migrated at once (tests do), so creating it tolerates another migrator creating it first.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'supportbill_runner') THEN
        BEGIN
            CREATE ROLE supportbill_runner NOLOGIN;
            COMMENT ON ROLE supportbill_runner IS
                'supportbill jobs: read inputs, write outputs, no DDL (sql/188_runner_role.sql)';
        EXCEPTION
            WHEN duplicate_object OR unique_violation THEN
                NULL; -- created meanwhile by a migration of another database of the cluster
            WHEN insufficient_privilege THEN
                RAISE EXCEPTION 'role supportbill_runner does not exist and % may not create roles', current_user
                    USING HINT = 'As a superuser or a role with CREATEROLE run: CREATE ROLE supportbill_runner NOLOGIN; then run supportbill migrate again.';
        END;
    END IF;
END
$$;

-- The database and the schema: PUBLIC has both by default, but an operator who revoked them
-- from PUBLIC still gets a working runner. monthly-rollup aggregates a run's usage into
-- temporary tables of its session, hence TEMPORARY. Granting needs the owner's rights; without
-- them the defaults stand and the migration goes on.
DO $$
BEGIN
    BEGIN
        EXECUTE format('GRANT CONNECT ON DATABASE %I TO supportbill_runner', current_database());
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE NOTICE 'could not grant CONNECT on database %: grant it to supportbill_runner if PUBLIC lacks it', current_database();
    END;
    BEGIN
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO supportbill_runner', current_schema());
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE NOTICE 'could not grant USAGE on schema %: grant it to supportbill_runner if PUBLIC lacks it', current_schema();
    END;
    BEGIN
        EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO supportbill_runner', current_database());
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE NOTICE 'could not grant TEMPORARY on database %: grant it to supportbill_runner if PUBLIC lacks it', current_database();
    END;
END
$$;

-- Reference data and inputs: read only, but for the three moves the jobs make.
GRANT SELECT ON currencies, tax_rates, invoice_series, audit_event_names, org_units, customers, customer_groups,
                items, plans, plan_prices, tickets, time_entries, payments, schema_migrations
    TO supportbill_runner;
-- suspension-sweep: suspends and restores services.
GRANT SELECT, UPDATE (status, suspend_reason, suspended_at) ON services TO supportbill_runner;
-- contract-expiry-rollover: activates and expires contracts (and locks them FOR UPDATE).
GRANT SELECT, UPDATE (status) ON contracts TO supportbill_runner;
-- suspension-sweep: adds and removes managed memberships (never staff's: sql/185 refuses it).
GRANT SELECT, INSERT, DELETE ON customer_group_members TO supportbill_runner;

-- The run record: inserted at the start, finished at the end (or marked stale by the next run);
-- its report's rows, written before it finishes.
GRANT SELECT, INSERT, UPDATE (status, finished_at, stats, error) ON job_runs TO supportbill_runner;
GRANT SELECT, INSERT ON job_run_rows TO supportbill_runner;

-- Invoices, their items and tax rows: built as drafts, corrected while drafts, issued; then only
-- their status moves (paid, unpaid again). monthly-rollup removes a draft whose total became 0,
-- and the items leaving a draft. The number is set by the trigger as an invoice is issued, from
-- the counters. The guards of sql/185 refuse every change of an issued invoice, whoever asks.
GRANT SELECT, INSERT, DELETE,
      UPDATE (status, issued_at, due_on, total, run_id, tax_total, tax_note, corrects_invoice_id)
    ON invoices TO supportbill_runner;
GRANT SELECT, INSERT, DELETE,
      UPDATE (service_id, invoice_id, kind, description, minutes, quantity, unit_price, amount, currency,
              period_start, period_end, included_minutes, increment_minutes, tax_rate, tax_percent, run_id)
    ON billable_items TO supportbill_runner;
GRANT SELECT, INSERT, DELETE ON invoice_taxes TO supportbill_runner;
GRANT SELECT, INSERT, UPDATE (last_value, last_issued_at) ON invoice_counters TO supportbill_runner;

-- Append-only ledgers: insert, never update or delete.
GRANT SELECT, INSERT ON credit_ledger, contract_charges, audit_events TO supportbill_runner;

-- suspension-sweep: supersedes a credit application that no longer holds (history stays).
GRANT SELECT, INSERT, UPDATE (superseded_at, superseded_run_id) ON credit_applications TO supportbill_runner;

-- incident-grants: revokes grants and returns uses (history stays).
GRANT SELECT, INSERT, UPDATE (revoked_at) ON incident_grants TO supportbill_runner;
GRANT SELECT, INSERT, UPDATE (returned_at) ON incident_uses TO supportbill_runner;

-- threshold-topup consumes the queues the input triggers fill, queues services it held back,
-- and the ledger trigger keeps the balances.
GRANT SELECT, DELETE ON topup_entry_queue, topup_invoice_queue TO supportbill_runner;
GRANT SELECT, INSERT, DELETE ON topup_service_queue TO supportbill_runner;
GRANT SELECT, INSERT, UPDATE (balance) ON topup_balances TO supportbill_runner;

-- monthly-rollup records netted items and consumes the notes of the months it re-rated.
GRANT SELECT, INSERT ON rollup_netted_items TO supportbill_runner;
GRANT SELECT, DELETE ON rollup_entry_changes TO supportbill_runner;

-- What staff and the client area read (supportbill contracts, incidents), and the functions the
-- guards and the numbering call.
GRANT SELECT ON contract_usage, contract_usage_entries, customer_contracts, contract_charge_drift TO supportbill_runner;
GRANT EXECUTE ON FUNCTION incident_availability(bigint, date), incident_balance(bigint, date),
                          supportbill_acting_as_runner(),
                          supportbill_format_invoice_number(text, integer, integer, bigint)
    TO supportbill_runner;

-- The identity sequences of the rows the jobs insert (identity columns need no grant to be
-- filled; this keeps nextval available should a statement ever name one).
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['job_runs', 'invoices', 'billable_items', 'credit_ledger', 'incident_grants',
                             'incident_uses', 'contract_charges', 'audit_events', 'topup_service_queue',
                             'credit_applications']
    LOOP
        EXECUTE format('GRANT USAGE ON SEQUENCE %s TO supportbill_runner', pg_get_serial_sequence(t, 'id'));
    END LOOP;
END
$$;
