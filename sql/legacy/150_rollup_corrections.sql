-- monthly-rollup converges on corrected data (DESIGN.md §7.1; docs/jobs/monthly-rollup.md,
-- "When the past changes").
--
-- * Netted items. Other jobs' uninvoiced items of one month that net to 0 (a per-incident
--   charge and the offset that withdrew it, both still uninvoiced) go on no invoice: DESIGN §4
--   makes no invoice of total 0. The rollup records them here instead, so that they are
--   settled once, and never considered or reported as pending again. The items themselves stay
--   as other jobs wrote them (the runner may only attach such an item to an invoice).
-- * Time entry changes. Every insert, edit and delete of a time entry on a metered service in a
--   month that may have closed is noted with the instant it was worked at (both sides of an
--   edit, so a re-dated entry marks its old and its new month). The rollup deletes the notes of the months it re-rated; what is
--   left in months older than its window is a late entry that no timer run bills: the run's
--   notices name the command that bills it, and `supportbill check` lists it
--   (`late_entry_before_window`, docs/data-defects.md). The notes are a small queue (the
--   changes since the months were last re-rated), so finding them never reads the history.

CREATE TABLE rollup_netted_items (
    customer_id bigint NOT NULL,
    item_id     bigint NOT NULL,
    month       date   NOT NULL,
    run_id      bigint NOT NULL,
    PRIMARY KEY (customer_id, item_id)
);

COMMENT ON TABLE rollup_netted_items IS
    'monthly-rollup: uninvoiced items of other jobs whose month netted to 0, settled without an invoice';

CREATE TABLE rollup_entry_changes (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id   bigint      NOT NULL,
    time_entry_id bigint      NOT NULL,
    worked_at     timestamptz NOT NULL,
    changed_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rollup_entry_changes_customer_idx ON rollup_entry_changes (customer_id, worked_at);

COMMENT ON TABLE rollup_entry_changes IS
    'monthly-rollup: time entries of metered services changed since their month was last re-rated';

-- The entries of a statement that touch a metered service (the entry's, else its ticket's) and
-- may lie in a month that has closed somewhere: worked before the 1st of the current UTC month
-- plus 14 hours (UTC+14 is the earliest zone, UTC-12 the latest; an entry after that bound is in
-- a month still open in every zone, which the first run after the month re-rates anyway). The
-- bound only decides what is worth noting for the report, never what is billed, so the clock
-- of the writing session may draw it: noting too much is harmless, and the time worked now in
-- the open month (nearly all inserts) costs no note.
CREATE FUNCTION supportbill_rollup_note_entries() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bound timestamptz := (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '14 hours') AT TIME ZONE 'UTC';
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO rollup_entry_changes (customer_id, time_entry_id, worked_at)
        SELECT n.customer_id, n.id, n.worked_at
          FROM rollup_new_entries n
          LEFT JOIN tickets t ON n.service_id IS NULL AND t.id = n.ticket_id
          JOIN services s ON s.id = COALESCE(n.service_id, t.service_id)
          JOIN plans p ON p.id = s.plan_id
         WHERE p.billing = 'metered' AND n.billable AND n.worked_at < bound;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO rollup_entry_changes (customer_id, time_entry_id, worked_at)
        SELECT DISTINCT x.customer_id, x.id, x.worked_at
          FROM (
                SELECT o.customer_id, o.id, o.service_id, o.ticket_id, o.worked_at
                  FROM rollup_old_entries o
                 WHERE NOT EXISTS (SELECT 1 FROM rollup_new_entries n WHERE n.id = o.id
                                      AND (n.customer_id, n.ticket_id, n.service_id, n.minutes, n.billable, n.worked_at)
                                          IS NOT DISTINCT FROM (o.customer_id, o.ticket_id, o.service_id, o.minutes, o.billable, o.worked_at))
                UNION ALL
                SELECT n.customer_id, n.id, n.service_id, n.ticket_id, n.worked_at
                  FROM rollup_new_entries n
                 WHERE NOT EXISTS (SELECT 1 FROM rollup_old_entries o WHERE o.id = n.id
                                      AND (n.customer_id, n.ticket_id, n.service_id, n.minutes, n.billable, n.worked_at)
                                          IS NOT DISTINCT FROM (o.customer_id, o.ticket_id, o.service_id, o.minutes, o.billable, o.worked_at))
               ) x
          LEFT JOIN tickets t ON x.service_id IS NULL AND t.id = x.ticket_id
          JOIN services s ON s.id = COALESCE(x.service_id, t.service_id)
          JOIN plans p ON p.id = s.plan_id
         WHERE p.billing = 'metered' AND x.worked_at < bound;
    ELSE
        INSERT INTO rollup_entry_changes (customer_id, time_entry_id, worked_at)
        SELECT o.customer_id, o.id, o.worked_at
          FROM rollup_old_entries o
          LEFT JOIN tickets t ON o.service_id IS NULL AND t.id = o.ticket_id
          JOIN services s ON s.id = COALESCE(o.service_id, t.service_id)
          JOIN plans p ON p.id = s.plan_id
         WHERE p.billing = 'metered' AND o.billable AND o.worked_at < bound;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER time_entries_rollup_insert AFTER INSERT ON time_entries
    REFERENCING NEW TABLE AS rollup_new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION supportbill_rollup_note_entries();
CREATE TRIGGER time_entries_rollup_update AFTER UPDATE ON time_entries
    REFERENCING OLD TABLE AS rollup_old_entries NEW TABLE AS rollup_new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION supportbill_rollup_note_entries();
CREATE TRIGGER time_entries_rollup_delete AFTER DELETE ON time_entries
    REFERENCING OLD TABLE AS rollup_old_entries
    FOR EACH STATEMENT EXECUTE FUNCTION supportbill_rollup_note_entries();

-- The rollup records netted items and consumes the notes of the months it re-rated.
GRANT SELECT, INSERT ON rollup_netted_items TO supportbill_runner;
GRANT SELECT, DELETE ON rollup_entry_changes TO supportbill_runner;
