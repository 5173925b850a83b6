-- contract-expiry-rollover: LiveTime-style support contracts for Litware Operations (customer 7,
-- Europe/Warsaw), whose mail cluster (item 1) takes 660 minutes of work this month
-- (demo/30_helpdesk.sql: ticket 13 120 min on the 4th; ticket 14 240 min on the 15th and 300 min
-- on the 22nd).
--
-- Contract 1: 10 support hours on the mail cluster, bought two months ago, still active.
-- Contract 2: its renewal on the same item, time-limited (20 hours or three months, whichever
--             first), starting on the 20th; pending until the job activates it.
--
-- Ticket 14's second entry uses up contract 1 (240 of its 300 minutes fit), contract 1 expires
-- during the request, and the remaining 60 minutes roll over to contract 2.
-- Ticket 4501 is about nothing any contract covers: it is billed once per incident.

INSERT INTO contracts (id, item_id, customer_id, org_unit_id, kind, starts_on, ends_on, minutes_total, status) VALUES
    (1, 1, NULL, NULL, 'support_hours', demo.day(-60), NULL, 600, 'active'),
    (2, 1, NULL, NULL, 'time_limited', demo.day(20), (demo.day(20) + interval '3 months')::date, 1200, 'pending');

INSERT INTO tickets (id, customer_id, service_id, item_id, subject, requires_incident, opened_at, closed_at) VALUES
    (4501, 7, NULL, NULL, 'DNS: add an SPF record for a new sending domain', false,
     demo.at(27, '11:00', 'Europe/Warsaw'), demo.at(27, '12:00', 'Europe/Warsaw'));

INSERT INTO time_entries (id, customer_id, ticket_id, service_id, worked_at, minutes, billable, staff, note) VALUES
    (450001, 7, 4501, NULL, demo.at(27, '11:15', 'Europe/Warsaw'), 45, true, 'judy', 'SPF record and check');

SELECT setval(pg_get_serial_sequence('contracts', 'id'), 100);
