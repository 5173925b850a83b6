-- suspension-sweep (docs/jobs/suspension-sweep.md).

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
