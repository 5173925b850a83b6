-- monthly-rollup: the increment a usage line was billed with. Re-rating an issued month keeps
-- the terms it was issued with: each entry of it stays rounded up to the increment the plan had
-- when the month was first issued, whatever the plan's increment_minutes says later (as for its
-- hourly rate and included minutes). NULL on lines billed before this column existed: those
-- months follow the plan's current increment.
ALTER TABLE billable_items ADD COLUMN increment_minutes integer CHECK (increment_minutes >= 1);

COMMENT ON COLUMN billable_items.increment_minutes IS
    'monthly-rollup usage lines: the plan''s increment_minutes each entry of the month was rounded up to; NULL otherwise';

-- The rollup corrects drafts' items in place (sql/090 lists the other columns).
GRANT UPDATE (increment_minutes) ON billable_items TO supportbill_runner;
