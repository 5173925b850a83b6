-- monthly-rollup: work right after the month's end, which belongs to the next month.
--
-- Wingtip (Los Angeles) keeps working on the checkout outage past midnight: 00:10 on the 1st of
-- the next month in Los Angeles is already the next month there (08:10 UTC on the 1st), so these
-- 20 minutes are not on this month's invoice, while the 23:30 entry of the last day is
-- (demo/30_helpdesk.sql).
INSERT INTO time_entries (customer_id, ticket_id, service_id, worked_at, minutes, billable, staff, note) VALUES
    (5, 11, NULL, demo.at_date(demo.month_end() + 1, '00:10', 'America/Los_Angeles'), 20, true, 'heidi', 'Verify the payment gateway fix');
