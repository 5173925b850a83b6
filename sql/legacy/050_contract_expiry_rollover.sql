-- contract-expiry-rollover: indexes for its access paths (docs/jobs/contract-expiry-rollover.md).

-- Minutes used per contract are summed through contract_charges_contract_idx (001): a covering
-- index would make every one of the job's inserts (one row per charged entry) dearer, and the
-- sums only read the charges of the batch's contracts that count minutes.

-- "Was this expired contract expired by the job?" (a contract staff set to expired takes no
-- time; one the job expired keeps covering late entries dated within its period).
CREATE INDEX audit_events_contract_idx ON audit_events (entity_id) WHERE entity = 'contract';

-- Tickets and items by configuration item and owner: which contracts serve a customer.
CREATE INDEX tickets_item_idx ON tickets (item_id) WHERE item_id IS NOT NULL;
CREATE INDEX items_customer_idx ON items (customer_id) WHERE customer_id IS NOT NULL;
CREATE INDEX items_org_unit_idx ON items (org_unit_id) WHERE org_unit_id IS NOT NULL;
CREATE INDEX org_units_parent_idx ON org_units (parent_id) WHERE parent_id IS NOT NULL;
