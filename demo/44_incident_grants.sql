-- incident-grants demo activity (docs/jobs/incident-grants.md). The incident packs themselves are
-- in 20_customers.sql (Tailspin: 10 a month from the 11th; Adventure Works: 5 lifetime) and the
-- tickets that use them in 30_helpdesk.sql.

INSERT INTO tickets (customer_id, service_id, item_id, subject, requires_incident, opened_at, closed_at) VALUES
    -- Asked on the 5th, before Tailspin's pack started on the 11th: no incident is valid on that
    -- date, so the run lists the ticket for the helpdesk instead of consuming one.
    (4, 4, NULL, 'Pre-sales: which PHP versions do you host?', true,
     demo.at(5, '15:00', 'Europe/London'), demo.at(5, '16:00', 'Europe/London')),
    -- Opened as paid support on the 28th; the helpdesk later finds the fault was the customer's own
    -- network and clears "requires incident" (DemoScenario), so the incident comes back.
    (4, 4, NULL, 'Mail server unreachable (turned out to be our office network)', true,
     demo.at(28, '09:30', 'Europe/London'), demo.at(28, '10:15', 'Europe/London'));
