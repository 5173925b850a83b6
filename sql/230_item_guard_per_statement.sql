-- Performance (issue 20; docs/benchmark.md "Where the time goes"): items inserted onto an
-- invoice are checked once per statement, not once per row.
--
-- The row trigger of sql/110 ran, for every inserted item, one query that locked its invoice
-- (FOR SHARE) and checked it was a draft: a job that bills 2,500 items onto 500 drafts in one
-- statement paid 2,500 queries and 2,500 lock requests for 500 invoices. The same guard now runs
-- after each INSERT statement on its transition table: every invoice the new items are on is
-- locked (FOR SHARE, in id order) and any that is not a draft (or does not exist) makes the
-- statement fail with the same message and error code as before. The lock is taken after the
-- rows are written instead of before, still inside the statement: an invoice issued by another
-- transaction in between is seen when the lock is granted (READ COMMITTED rechecks the row), so
-- an item never lands on an issued invoice. Updates and deletes keep the row trigger (they
-- compare each row's old and new values).

CREATE FUNCTION supportbill_guard_invoice_items_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    refused record;
BEGIN
    PERFORM 1
       FROM invoices i
      WHERE i.id IN (SELECT n.invoice_id FROM supportbill_new_items n WHERE n.invoice_id IS NOT NULL)
      ORDER BY i.id
        FOR SHARE OF i;
    SELECT n.invoice_id, i.status INTO refused
      FROM (SELECT DISTINCT invoice_id FROM supportbill_new_items WHERE invoice_id IS NOT NULL) n
      LEFT JOIN invoices i ON i.id = n.invoice_id
     WHERE i.status IS DISTINCT FROM 'draft'
     ORDER BY n.invoice_id
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'invoice % is %: items can only be added to drafts', refused.invoice_id, refused.status
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER billable_items_immutable_when_issued ON billable_items;

CREATE TRIGGER billable_items_immutable_when_issued
    BEFORE UPDATE OR DELETE ON billable_items
    FOR EACH ROW EXECUTE FUNCTION supportbill_guard_invoice_item();

CREATE TRIGGER billable_items_inserted_onto_drafts
    AFTER INSERT ON billable_items
    REFERENCING NEW TABLE AS supportbill_new_items
    FOR EACH STATEMENT EXECUTE FUNCTION supportbill_guard_invoice_items_inserted();
