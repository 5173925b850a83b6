-- supportbill 0.1.0 baseline, 4 of 7: the guards (docs/design.md §4, docs/security.md). What
-- must hold whoever writes (the runner, staff, an import), enforced by triggers, since a grant
-- alone cannot say "only while a draft" or "only its own run".

-- True for a session acting as supportbill_runner (a member of it that is not a superuser:
-- PostgreSQL counts a superuser as a member of every role). The schema's owner and staff roles
-- that are not members keep their own rights.
CREATE FUNCTION supportbill_acting_as_runner() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT NOT r.rolsuper AND pg_has_role(current_user, 'supportbill_runner', 'MEMBER')
      FROM pg_roles r WHERE r.rolname = current_user
$$;

-- ---------------------------------------------------------------------------------------------
-- Issued invoices are immutable: corrections are new rows (adjustment items, credit notes).
-- A draft may be corrected in place; once issued, only its status may move (issued <-> paid when
-- payments arrive or are reversed, issued -> void), and its items and tax rows may neither
-- change nor move. Invoices are therefore built as drafts, filled, then issued.
-- ---------------------------------------------------------------------------------------------

-- Invoices:
--  * an issued invoice cannot be deleted; once issued its number, net, tax, the invoice it
--    corrects and every other column but status never change, and it never becomes a draft;
--  * void is final: a voided invoice never changes again;
--  * issuing a draft (draft -> issued or paid) requires its subtotal to equal the sum of its
--    items, its tax_total the sum of its tax rows, and every rate's base the sum of that rate's
--    items, as they are when it is issued: no invoice is ever issued that does not add up.
CREATE FUNCTION supportbill_guard_invoice() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    items_total bigint;
    taxes_total bigint;
    mismatched text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
            RAISE EXCEPTION 'invoice % is %: issued invoices cannot be deleted', OLD.id, OLD.status
                USING ERRCODE = 'integrity_constraint_violation',
                      HINT = 'Correct it with an adjustment invoice or a credit note.';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status = 'void' AND NEW IS DISTINCT FROM OLD THEN
        RAISE EXCEPTION 'invoice % is void: it cannot change', OLD.id
            USING ERRCODE = 'integrity_constraint_violation',
                  HINT = 'Issue a new invoice instead.';
    END IF;
    IF OLD.status <> 'draft' AND (
           ROW(NEW.id, NEW.customer_id, NEW.currency, NEW.kind, NEW.period_start, NEW.period_end, NEW.issued_at,
               NEW.due_on, NEW.total, NEW.tax_total, NEW.tax_note, NEW.source_key, NEW.run_id,
               NEW.number, NEW.number_series, NEW.number_credit_note, NEW.number_year, NEW.number_value,
               NEW.corrects_invoice_id)
           IS DISTINCT FROM
           ROW(OLD.id, OLD.customer_id, OLD.currency, OLD.kind, OLD.period_start, OLD.period_end, OLD.issued_at,
               OLD.due_on, OLD.total, OLD.tax_total, OLD.tax_note, OLD.source_key, OLD.run_id,
               OLD.number, OLD.number_series, OLD.number_credit_note, OLD.number_year, OLD.number_value,
               OLD.corrects_invoice_id)
        OR NEW.status = 'draft') THEN
        RAISE EXCEPTION 'invoice % is %: only its status may change', OLD.id, OLD.status
            USING ERRCODE = 'integrity_constraint_violation',
                  HINT = 'Correct it with an adjustment invoice or a credit note.';
    END IF;
    IF OLD.status = 'draft' AND NEW.status IN ('issued', 'paid') THEN
        -- The items' trigger locks this row (FOR SHARE) before it adds, changes or removes an
        -- item of the draft, and this UPDATE holds the row: a transaction adding an item and
        -- one issuing the draft run one after the other, and this sum sees the other's items.
        SELECT COALESCE(sum(b.amount), 0) INTO items_total
          FROM billable_items b WHERE b.customer_id = NEW.customer_id AND b.invoice_id = NEW.id;
        -- NEW.subtotal is generated after BEFORE triggers run: compute it.
        IF items_total <> NEW.total - NEW.tax_total THEN
            RAISE EXCEPTION 'invoice % would be issued with subtotal % but its items sum to %', NEW.id, NEW.total - NEW.tax_total, items_total
                USING ERRCODE = 'integrity_constraint_violation',
                      HINT = 'Correct the draft''s total or its items before issuing it.';
        END IF;
        SELECT COALESCE(sum(t.tax), 0) INTO taxes_total
          FROM invoice_taxes t WHERE t.customer_id = NEW.customer_id AND t.invoice_id = NEW.id;
        IF taxes_total <> NEW.tax_total THEN
            RAISE EXCEPTION 'invoice % would be issued with tax_total % but its tax rows sum to %', NEW.id, NEW.tax_total, taxes_total
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        -- Every rate's base is the sum of its items, and every taxed item has its rate's row.
        SELECT format('rate %s %s%%: base %s, items %s', COALESCE(t.tax_rate, b.tax_rate), COALESCE(t.tax_percent, b.tax_percent),
                      COALESCE(t.base, 0), COALESCE(b.base, 0))
          INTO mismatched
          FROM (SELECT tax_rate, tax_percent, base FROM invoice_taxes WHERE customer_id = NEW.customer_id AND invoice_id = NEW.id) t
          FULL JOIN (SELECT tax_rate, tax_percent, sum(amount) AS base FROM billable_items
                      WHERE customer_id = NEW.customer_id AND invoice_id = NEW.id AND tax_rate IS NOT NULL
                      GROUP BY tax_rate, tax_percent) b
            ON b.tax_rate = t.tax_rate AND b.tax_percent = t.tax_percent
         WHERE t.base IS DISTINCT FROM b.base
         LIMIT 1;
        IF mismatched IS NOT NULL THEN
            RAISE EXCEPTION 'invoice % would be issued with tax rows that do not match its items: %', NEW.id, mismatched
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER invoices_immutable_when_issued
    BEFORE UPDATE OR DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION supportbill_guard_invoice();

-- An invoice's number as its series prints it: the prefix with {YYYY} replaced, then the value
-- left-padded with zeros to `padding` digits, never cut (lpad alone would cut a longer value).
CREATE FUNCTION supportbill_format_invoice_number(prefix text, padding integer, year integer, value bigint)
RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT replace(prefix, '{YYYY}', year::text)
           || CASE WHEN length(value::text) >= padding THEN value::text ELSE lpad(value::text, padding, '0') END
$$;

-- Numbers an invoice as it is issued (a draft becoming issued, or a row inserted issued): the
-- next value of its counter (series of the customer, credit note when the total is negative,
-- year when the series resets yearly). Every path that issues an invoice goes through here, the
-- jobs' set-based issuing statements and an invoice issued by hand alike, so no issued invoice
-- is ever without a number.
--
-- The counter row stays locked until the issuing transaction ends: a batch that rolls back gives
-- its numbers back, and two transactions issuing at once take turns (docs/invoices.md).
-- Within a counter the numbers increase with issued_at: an invoice issued as of an instant
-- before the counter's last issue (finance re-running an old period) is issued at that last
-- issue's instant, never backdated before a number already given out.
--
-- A dry run sets supportbill.preview_numbers: its numbers come from a copy of the counters
-- private to its transaction, so a preview shows the numbers a real run would give without
-- locking the counters a timer's real run needs (and the UNIQUE checks are deferred to a commit
-- that a dry run never makes).
CREATE FUNCTION supportbill_number_invoice() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_series       invoice_series;
    v_zone         text;
    v_local_year   integer;
    v_counter_year integer;
    v_credit_note  boolean := NEW.total < 0;
    v_next_value   bigint;
    v_last_issue   timestamptz;
BEGIN
    IF NEW.issued_at IS NULL THEN
        RAISE EXCEPTION 'invoice % is issued without issued_at', NEW.id USING ERRCODE = 'not_null_violation';
    END IF;
    SELECT s.code, s.prefix, s.padding, s.reset_yearly, s.credit_note_prefix, c.timezone
      INTO v_series.code, v_series.prefix, v_series.padding, v_series.reset_yearly, v_series.credit_note_prefix, v_zone
      FROM customers c JOIN invoice_series s ON s.code = COALESCE(c.invoice_series, 'default')
     WHERE c.id = NEW.customer_id;
    -- The local year only where the series uses it, and UTC's for a zone PostgreSQL does not
    -- know (such a customer is skipped by every job; an invoice issued by hand still gets its
    -- number).
    IF v_series.reset_yearly OR v_series.prefix LIKE '%{YYYY}%' OR v_series.credit_note_prefix LIKE '%{YYYY}%' THEN
        BEGIN
            v_local_year := extract(year FROM (NEW.issued_at AT TIME ZONE v_zone))::integer;
        EXCEPTION WHEN invalid_parameter_value THEN
            v_local_year := extract(year FROM (NEW.issued_at AT TIME ZONE 'UTC'))::integer;
        END;
    ELSE
        v_local_year := extract(year FROM (NEW.issued_at AT TIME ZONE 'UTC'))::integer;
    END IF;
    v_counter_year := CASE WHEN v_series.reset_yearly THEN v_local_year ELSE 0 END;

    IF current_setting('supportbill.preview_numbers', true) = 'on' THEN
        CREATE TEMPORARY TABLE IF NOT EXISTS supportbill_counter_preview (LIKE invoice_counters INCLUDING ALL) ON COMMIT DROP;
        INSERT INTO supportbill_counter_preview
        SELECT c.* FROM invoice_counters c
         WHERE (c.series, c.credit_note, c.year) = (v_series.code, v_credit_note, v_counter_year)
        ON CONFLICT DO NOTHING;
        INSERT INTO supportbill_counter_preview (series, credit_note, year, last_value, last_issued_at)
        VALUES (v_series.code, v_credit_note, v_counter_year, 0, '-infinity')
        ON CONFLICT DO NOTHING;
        UPDATE supportbill_counter_preview c
           SET last_value = c.last_value + 1, last_issued_at = greatest(c.last_issued_at, NEW.issued_at)
         WHERE (c.series, c.credit_note, c.year) = (v_series.code, v_credit_note, v_counter_year)
        RETURNING c.last_value, c.last_issued_at INTO v_next_value, v_last_issue;
    ELSE
        INSERT INTO invoice_counters (series, credit_note, year, last_value, last_issued_at)
        VALUES (v_series.code, v_credit_note, v_counter_year, 0, '-infinity')
        ON CONFLICT DO NOTHING;
        UPDATE invoice_counters c
           SET last_value = c.last_value + 1, last_issued_at = greatest(c.last_issued_at, NEW.issued_at)
         WHERE (c.series, c.credit_note, c.year) = (v_series.code, v_credit_note, v_counter_year)
        RETURNING c.last_value, c.last_issued_at INTO v_next_value, v_last_issue;
    END IF;

    NEW.issued_at := v_last_issue;
    NEW.number := supportbill_format_invoice_number(
        CASE WHEN v_credit_note THEN v_series.credit_note_prefix ELSE v_series.prefix END, v_series.padding, v_local_year, v_next_value);
    NEW.number_series := v_series.code;
    NEW.number_credit_note := v_credit_note;
    NEW.number_year := v_counter_year;
    NEW.number_value := v_next_value;
    RETURN NEW;
END
$$;

-- Fires after the guard (triggers fire in name order: "immutable" < "number"), which has checked
-- that the draft adds up before it is numbered.
CREATE TRIGGER invoices_number_when_issued
    BEFORE INSERT OR UPDATE OF status ON invoices
    FOR EACH ROW WHEN (NEW.status <> 'draft' AND NEW.number IS NULL)
    EXECUTE FUNCTION supportbill_number_invoice();

-- Items:
--  * an item on an issued invoice cannot change, move or be deleted, and items are added only to
--    drafts;
--  * the invoice an item is on, or moves to or from, is locked (FOR SHARE) while its status is
--    checked, so it cannot be issued by another transaction between the check and the commit;
--  * as the runner, an item on no invoice (another job's per-incident item waiting for the
--    rollup) can only be attached to an invoice, never changed otherwise or deleted.
CREATE FUNCTION supportbill_guard_invoice_item() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    locked_status text;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.invoice_id IS NOT NULL THEN
        SELECT status INTO locked_status FROM invoices WHERE id = OLD.invoice_id FOR SHARE;
        IF locked_status IS DISTINCT FROM 'draft' THEN
            RAISE EXCEPTION 'billable item % is on invoice %, which is %: it cannot change', OLD.id, OLD.invoice_id, locked_status
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.invoice_id IS NULL AND supportbill_acting_as_runner() THEN
        IF TG_OP = 'DELETE' OR (ROW(NEW.id, NEW.customer_id, NEW.service_id, NEW.kind, NEW.description, NEW.minutes,
                                    NEW.quantity, NEW.unit_price, NEW.amount, NEW.currency, NEW.period_start,
                                    NEW.period_end, NEW.source_key, NEW.run_id, NEW.rollup_line, NEW.included_minutes)
                                IS DISTINCT FROM
                                ROW(OLD.id, OLD.customer_id, OLD.service_id, OLD.kind, OLD.description, OLD.minutes,
                                    OLD.quantity, OLD.unit_price, OLD.amount, OLD.currency, OLD.period_start,
                                    OLD.period_end, OLD.source_key, OLD.run_id, OLD.rollup_line, OLD.included_minutes)) THEN
            RAISE EXCEPTION 'billable item % is on no invoice yet: supportbill_runner may only attach it to an invoice', OLD.id
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.invoice_id IS NOT NULL
       AND (TG_OP = 'INSERT' OR NEW.invoice_id IS DISTINCT FROM OLD.invoice_id) THEN
        SELECT status INTO locked_status FROM invoices WHERE id = NEW.invoice_id FOR SHARE;
        IF locked_status IS DISTINCT FROM 'draft' THEN
            RAISE EXCEPTION 'invoice % is %: items can only be added to drafts', NEW.invoice_id, locked_status
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER billable_items_immutable_when_issued
    BEFORE INSERT OR UPDATE OR DELETE ON billable_items
    FOR EACH ROW EXECUTE FUNCTION supportbill_guard_invoice_item();

-- Tax rows are added, changed or removed only while their invoice is a draft (locked FOR SHARE,
-- like an item's); a deleted draft takes its rows with it (ON DELETE CASCADE: the invoice is
-- already gone when they are deleted, which is allowed).
CREATE FUNCTION supportbill_guard_invoice_tax() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    locked_status text;
BEGIN
    SELECT status INTO locked_status FROM invoices
     WHERE id = COALESCE(NEW.invoice_id, OLD.invoice_id) FOR SHARE;
    IF locked_status IS DISTINCT FROM 'draft' AND (TG_OP <> 'DELETE' OR locked_status IS NOT NULL) THEN
        RAISE EXCEPTION 'invoice % is %: its tax rows cannot change', COALESCE(NEW.invoice_id, OLD.invoice_id), locked_status
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER invoice_taxes_immutable_when_issued
    BEFORE INSERT OR UPDATE OR DELETE ON invoice_taxes
    FOR EACH ROW EXECUTE FUNCTION supportbill_guard_invoice_tax();

-- ---------------------------------------------------------------------------------------------
-- Ledgers and history
-- ---------------------------------------------------------------------------------------------

-- The credit ledger is append-only: corrections are new rows, never edits (and topup_balances,
-- kept from its inserts, can never drift from it).
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

-- A credit application is history: it can be superseded once, and nothing else about it
-- changes; it is never deleted. Whoever asks (the runner's column grant already allows no more).
CREATE FUNCTION supportbill_guard_credit_application() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'credit application % cannot be deleted: it is history', OLD.id
            USING ERRCODE = 'integrity_constraint_violation',
                  HINT = 'suspension-sweep supersedes an application that no longer holds.';
    END IF;
    IF OLD.superseded_at IS NOT NULL
       OR ROW(NEW.id, NEW.customer_id, NEW.credit_note_id, NEW.invoice_id, NEW.amount, NEW.currency, NEW.rule,
              NEW.source_key, NEW.run_id, NEW.applied_at)
          IS DISTINCT FROM ROW(OLD.id, OLD.customer_id, OLD.credit_note_id, OLD.invoice_id, OLD.amount, OLD.currency,
                               OLD.rule, OLD.source_key, OLD.run_id, OLD.applied_at) THEN
        RAISE EXCEPTION 'credit application % can only be superseded, once', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER credit_applications_history BEFORE UPDATE OR DELETE ON credit_applications
    FOR EACH ROW EXECUTE FUNCTION supportbill_guard_credit_application();

-- Group memberships: the runner adds and removes managed memberships only (suspension-sweep's
-- desired state); the members staff added (managed = false) are theirs.
CREATE FUNCTION supportbill_guard_group_member() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF supportbill_acting_as_runner() THEN
        IF (TG_OP = 'INSERT' AND NOT NEW.managed) OR (TG_OP IN ('UPDATE', 'DELETE') AND NOT OLD.managed)
           OR (TG_OP = 'UPDATE' AND NOT NEW.managed) THEN
            RAISE EXCEPTION 'customer % in group % was added by staff (managed = false): supportbill_runner only adds and removes managed memberships',
                COALESCE(OLD.customer_id, NEW.customer_id), COALESCE(OLD.group_id, NEW.group_id)
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER customer_group_members_runner_managed_only
    BEFORE INSERT OR UPDATE OR DELETE ON customer_group_members
    FOR EACH ROW EXECUTE FUNCTION supportbill_guard_group_member();

-- ---------------------------------------------------------------------------------------------
-- job_runs: a run record is evidence of what billed whom; the runner role must not be able to
-- forge one (insert a run as succeeded), rewrite one (mark a partial run succeeded) or finish
-- another session's run.
--
--   * The session that inserts a run is recorded (backend_pid, backend_start: a pid alone is
--     reused). A role that does not own job_runs (the runner) inserts runs as `running` only.
--   * A running run is finished once, by its own session, to succeeded, partial or failed; the
--     columns that say what was run never change.
--   * The one exception: a run whose session died is marked failed by the next run of the job
--     (JobRunStore.failStaleRuns), which holds that job's advisory lock - proof that no session
--     of the job is alive. The guard checks that lock in pg_locks.
--   * A finished run never changes, whoever asks (the owner included: disable the trigger to
--     repair by hand, and say so in the run's error).
--   * job_run_rows are added only for a running run, by its session (or the owner).
-- The owner of job_runs (the role that migrates; tests and imports insert history) may insert
-- runs of any status and finish a running run.
-- ---------------------------------------------------------------------------------------------

-- Whether the current role has the owner's rights on job_runs.
CREATE FUNCTION supportbill_owns_job_runs() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = 'job_runs'::regclass), 'MEMBER')
$$;

-- Whether the current session is the one recorded for the run.
CREATE FUNCTION supportbill_is_run_session(run_pid integer, run_start timestamptz) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT run_pid = pg_backend_pid()
       AND run_start IS NOT DISTINCT FROM (SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid())
$$;

CREATE FUNCTION supportbill_guard_job_run() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.backend_pid := pg_backend_pid();
        NEW.backend_start := (SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid());
        IF NEW.status <> 'running' AND NOT supportbill_owns_job_runs() THEN
            RAISE EXCEPTION 'a job run is recorded as running when it starts, not as %', NEW.status
                USING ERRCODE = '42501';
        END IF;
        RETURN NEW;
    END IF;

    IF OLD.status <> 'running' THEN
        RAISE EXCEPTION 'job run % is finished (%): a finished run never changes', OLD.id, OLD.status
            USING ERRCODE = '23000';
    END IF;
    IF (NEW.id, NEW.job, NEW.as_of, NEW.period_start, NEW.period_end, NEW.dry_run, NEW.started_at,
        NEW.invoked_by, NEW.host, NEW.pid, NEW.backend_pid, NEW.backend_start)
       IS DISTINCT FROM
       (OLD.id, OLD.job, OLD.as_of, OLD.period_start, OLD.period_end, OLD.dry_run, OLD.started_at,
        OLD.invoked_by, OLD.host, OLD.pid, OLD.backend_pid, OLD.backend_start) THEN
        RAISE EXCEPTION 'job run %: only its end (status, finished_at, stats, error) is recorded later', OLD.id
            USING ERRCODE = '23000';
    END IF;
    IF NEW.status = 'running' THEN
        RAISE EXCEPTION 'job run %: a run is finished once, as succeeded, partial or failed', OLD.id
            USING ERRCODE = '23000';
    END IF;
    IF supportbill_is_run_session(OLD.backend_pid, OLD.backend_start) OR supportbill_owns_job_runs() THEN
        RETURN NEW;
    END IF;
    -- Stale: marked failed by a session that holds the job's advisory lock (JobRunner.lockKey:
    -- class 'SBLL', object = the job's number, a session lock on two int4 keys: objsubid 2).
    IF NEW.status = 'failed' AND EXISTS (
        SELECT 1 FROM pg_locks
         WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted AND objsubid = 2
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND classid = 1396853836::bigint::oid
           AND objid = (CASE OLD.job WHEN 'monthly-rollup' THEN 1 WHEN 'threshold-topup' THEN 2
                                     WHEN 'suspension-sweep' THEN 3 WHEN 'incident-grants' THEN 4
                                     WHEN 'contract-expiry-rollover' THEN 5 END)::bigint::oid) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'job run % is run by another session (backend pid %): only that session finishes it, or the next run of % marks it failed once it is gone',
        OLD.id, OLD.backend_pid, OLD.job
        USING ERRCODE = '42501';
END
$$;

CREATE TRIGGER job_runs_guard BEFORE INSERT OR UPDATE ON job_runs
    FOR EACH ROW EXECUTE FUNCTION supportbill_guard_job_run();

-- job_run_rows: once per statement (a run's report may be millions of rows).
CREATE FUNCTION supportbill_guard_job_run_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    refused bigint;
BEGIN
    IF supportbill_owns_job_runs() THEN
        RETURN NULL;
    END IF;
    SELECT r.id INTO refused
      FROM (SELECT DISTINCT run_id FROM inserted) i
      JOIN job_runs r ON r.id = i.run_id
     WHERE r.status <> 'running' OR NOT supportbill_is_run_session(r.backend_pid, r.backend_start)
     LIMIT 1;
    IF refused IS NOT NULL THEN
        RAISE EXCEPTION 'job run %: its report rows are written by its own session before it finishes', refused
            USING ERRCODE = '42501';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER job_run_rows_guard AFTER INSERT ON job_run_rows
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION supportbill_guard_job_run_rows();
