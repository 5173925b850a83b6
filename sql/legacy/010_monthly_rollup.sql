-- monthly-rollup: which line of the rollup a billable item bills or corrects.
--
-- A line is something billed exactly once: `setup:<service>`, `fee:<service>:<period start>` or
-- `usage:<service>:<YYYY-MM>`. The original item and every later correction (adjustment items)
-- carry the same line, so what was billed for a line is the sum of its items, and re-rating
-- compares that sum with the line's target. NULL for items of the other jobs.
ALTER TABLE billable_items ADD COLUMN rollup_line text;

COMMENT ON COLUMN billable_items.rollup_line IS
    'monthly-rollup line this item bills or corrects (setup:<service>, fee:<service>:<period start>, usage:<service>:<YYYY-MM>); NULL for other jobs'' items';

-- Finds where a line was billed (a setup fee billed in another month than today's starts_on).
CREATE INDEX billable_items_rollup_line_idx ON billable_items (customer_id, rollup_line)
    WHERE rollup_line IS NOT NULL;

-- The included minutes a usage line (or its correction) was billed with. Re-rating an issued
-- month keeps the terms it was issued with: a later change of the plan's included_minutes
-- applies to months billed after it, never to months already issued.
ALTER TABLE billable_items ADD COLUMN included_minutes integer;

COMMENT ON COLUMN billable_items.included_minutes IS
    'monthly-rollup usage lines: the plan''s included_minutes applied to the month; NULL otherwise';
