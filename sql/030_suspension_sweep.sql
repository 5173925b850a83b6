-- suspension-sweep (docs/jobs/suspension-sweep.md).

-- A paid invoice whose payment is reversed is unpaid again (DESIGN.md §3: paid means the
-- completed payments reach the total), and the sweep returns it to 'issued'. Every change is
-- an audit event, so this one needs a name: 'invoice_unpaid'. The CHECK is rebuilt from the
-- names it already allows (whatever other migrations added before this one) plus the new name,
-- so the migrations of different jobs that extend the list compose in any order.
DO $$
DECLARE
    allowed text[];
    existing record;
BEGIN
    SELECT coalesce(array_agg(DISTINCT m[1]), '{}') INTO allowed
      FROM pg_constraint c
     CROSS JOIN LATERAL regexp_matches(pg_get_constraintdef(c.oid), '''([^'']+)''', 'g') AS m
     WHERE c.conrelid = 'audit_events'::regclass AND c.contype = 'c'
       AND pg_get_constraintdef(c.oid) ~ '\mevent\M';
    FOR existing IN
        SELECT conname FROM pg_constraint
         WHERE conrelid = 'audit_events'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) ~ '\mevent\M'
    LOOP
        EXECUTE format('ALTER TABLE audit_events DROP CONSTRAINT %I', existing.conname);
    END LOOP;
    allowed := ARRAY(SELECT DISTINCT name FROM unnest(allowed || ARRAY['invoice_unpaid']) AS name ORDER BY name);
    EXECUTE format('ALTER TABLE audit_events ADD CONSTRAINT audit_events_event_check CHECK (event = ANY (%L::text[]))', allowed);
END
$$;

-- The sweep's candidates and restorations: services it suspended itself.
CREATE INDEX services_overdue_idx ON services (customer_id) WHERE status = 'suspended' AND suspend_reason = 'overdue';

-- Group reconciliation finds the memberships the sweep manages.
CREATE INDEX customer_group_members_managed_idx ON customer_group_members (group_id, customer_id) WHERE managed;

-- Settled and reopened invoices: completed payments per invoice (the existing index is on
-- invoice_id alone; this one answers the sums without visiting the table).
CREATE INDEX payments_invoice_status_idx ON payments (invoice_id, status, currency) INCLUDE (amount, customer_id) WHERE invoice_id IS NOT NULL;

-- A reversed payment is what reopens a paid invoice: the sweep looks at paid invoices only
-- through their reversed payments.
CREATE INDEX payments_reversed_idx ON payments (customer_id, invoice_id) WHERE status = 'reversed' AND invoice_id IS NOT NULL;
