-- Audit event names as a table instead of a CHECK list (round 2, DESIGN.md §7.1).
--
-- Corrections add event names to several jobs at once (invoice_unpaid, contract_reactivated,
-- a withdrawn charge, ...). With a CHECK, every migration that adds a name must restate the
-- whole list, and two such migrations written side by side silently drop each other's names.
-- A small table that each migration appends to keeps every name added exactly once, and still
-- refuses an unknown name at the door (a foreign key instead of a CHECK).
CREATE TABLE audit_event_names (
    name        text PRIMARY KEY,
    description text NOT NULL
);

INSERT INTO audit_event_names (name, description) VALUES
    ('suspended',          'suspension-sweep suspended a service for an overdue invoice'),
    ('unsuspended',        'suspension-sweep restored a service it had suspended'),
    ('group_added',        'suspension-sweep added a managed group membership'),
    ('group_removed',      'suspension-sweep removed a managed group membership'),
    ('invoice_paid',       'an issued invoice became paid'),
    ('invoice_unpaid',     'a paid invoice is unpaid again (a payment was reversed, deleted, reduced or moved)'),
    ('contract_activated', 'contract-expiry-rollover activated a pending contract'),
    ('contract_expired',   'contract-expiry-rollover expired a contract'),
    ('grant_revoked',      'incident-grants revoked the unused incidents of a grant'),
    ('incident_returned',  'incident-grants returned an incident to its grant');

ALTER TABLE audit_events DROP CONSTRAINT audit_events_event_check;
ALTER TABLE audit_events
    ADD CONSTRAINT audit_events_event_fkey FOREIGN KEY (event) REFERENCES audit_event_names (name);

GRANT SELECT ON audit_event_names TO supportbill_runner;
