-- suspension-sweep: the priority-support group as earlier sweeps left it before the demo month.
--
-- Northwind (1), Wingtip Toys (5) and Sakura Cloud (6) hold a 'bundle-2h' service and Adventure
-- Works (8) a 'priority-flat' one: plans of group 1 'Priority Support', so the sweep manages their
-- membership (managed = true). Staff added Tailspin Apps (4) by hand (managed = false): no plan
-- of theirs is in the group, and the sweep never removes a member staff added.
--
-- The story (Sources/supportbill/DemoScenario.swift, docs/jobs/suspension-sweep.md): four
-- customers pay their month's invoices before they fall due; thirty days after the month closed
-- the sweep suspends what is still unpaid (Adventure Works' priority support, grace 5 days, so
-- it also leaves the priority group); Adventure Works pays; two days later the sweep restores
-- the service and the membership.

INSERT INTO customer_group_members (customer_id, group_id, managed, since) VALUES
    (1, 1, true,  demo.at(-59, '06:00')),
    (5, 1, true,  demo.at(-89, '06:00')),
    (6, 1, true,  demo.at(-119, '06:00')),
    (8, 1, true,  demo.at(-74, '06:00')),
    (4, 1, false, demo.at(-40, '11:30', 'Europe/London'));
