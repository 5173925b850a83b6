-- Issued invoices stay immutable under concurrency, and the runner's DELETE and UPDATE rights
-- are as narrow as README "Security" says (issue 10). See 001 for the rules these complete.

-- True for a session acting as supportbill_runner (a member of it that is not a superuser:
-- PostgreSQL counts a superuser as a member of every role). The schema's owner and staff roles
-- that are not members keep their own rights.
CREATE FUNCTION supportbill_acting_as_runner() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT NOT r.rolsuper AND pg_has_role(current_user, 'supportbill_runner', 'MEMBER')
      FROM pg_roles r WHERE r.rolname = current_user
$$;

-- Invoices:
--  * issuing a draft (draft -> issued or paid) requires its total to equal the sum of its items
--    as they are when it is issued: no invoice is ever issued that does not add up;
--  * void is final: a voided invoice never changes again;
--  * everything 001 refused stays refused.
CREATE OR REPLACE FUNCTION supportbill_guard_invoice() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    items_total bigint;
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
           NEW.customer_id IS DISTINCT FROM OLD.customer_id OR NEW.currency IS DISTINCT FROM OLD.currency
        OR NEW.kind IS DISTINCT FROM OLD.kind OR NEW.period_start IS DISTINCT FROM OLD.period_start
        OR NEW.period_end IS DISTINCT FROM OLD.period_end OR NEW.issued_at IS DISTINCT FROM OLD.issued_at
        OR NEW.due_on IS DISTINCT FROM OLD.due_on OR NEW.total IS DISTINCT FROM OLD.total
        OR NEW.source_key IS DISTINCT FROM OLD.source_key OR NEW.run_id IS DISTINCT FROM OLD.run_id
        OR NEW.id IS DISTINCT FROM OLD.id OR NEW.status = 'draft') THEN
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
        IF items_total <> NEW.total THEN
            RAISE EXCEPTION 'invoice % would be issued with total % but its items sum to %', NEW.id, NEW.total, items_total
                USING ERRCODE = 'integrity_constraint_violation',
                      HINT = 'Correct the draft''s total or its items before issuing it.';
        END IF;
    END IF;
    RETURN NEW;
END
$$;

-- Items:
--  * the invoice an item is on, or moves to or from, is locked (FOR SHARE) while its status is
--    checked, so it cannot be issued by another transaction between the check and the commit;
--  * as the runner, an item on no invoice (another job's per-incident item waiting for the
--    rollup) can only be attached to an invoice, never changed otherwise or deleted.
CREATE OR REPLACE FUNCTION supportbill_guard_invoice_item() RETURNS trigger LANGUAGE plpgsql AS $$
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

-- monthly-rollup aggregates a run's usage into temporary tables of its session: an operator who
-- revoked TEMPORARY from PUBLIC still gets a working runner (without the owner's rights to grant
-- it, the defaults stand).
DO $$
BEGIN
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO supportbill_runner', current_database());
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'could not grant TEMPORARY on database %: grant it to supportbill_runner if PUBLIC lacks it', current_database();
END
$$;

GRANT EXECUTE ON FUNCTION supportbill_acting_as_runner() TO supportbill_runner;
