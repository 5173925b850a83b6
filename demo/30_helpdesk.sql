-- The helpdesk's month: tickets and the time staff recorded on them.

INSERT INTO tickets (id, customer_id, service_id, item_id, subject, requires_incident, opened_at, closed_at) VALUES
    (1,  1, 1, NULL, 'Migrate WordPress multisite to the new cluster', false, demo.at(2, '09:10', 'America/New_York'), demo.at(4, '17:00', 'America/New_York')),
    (2,  1, 1, NULL, 'Set a new reverse DNS record',                  false, demo.at(5, '11:00', 'America/New_York'), demo.at(5, '12:00', 'America/New_York')),
    (3,  1, 1, NULL, 'Mail delivery delays to Outlook.com',           false, demo.at(18, '08:30', 'America/New_York'), NULL),
    (4,  2, 2, NULL, 'Harden SSH and enable fail2ban',                false, demo.at(6, '10:00', 'Europe/Berlin'), demo.at(6, '15:00', 'Europe/Berlin')),
    (5,  2, 2, NULL, 'Restore a deleted mailbox from backup',         false, demo.at(20, '09:00', 'Europe/Berlin'), demo.at(21, '10:00', 'Europe/Berlin')),
    (6,  3, 3, NULL, 'Tune MySQL for a growing shop',                 false, demo.at(3, '13:00'), demo.at(9, '12:00')),
    (7,  3, 3, NULL, 'Nightly backup job fails',                      false, demo.at(14, '07:00'), demo.at(16, '12:00')),
    (8,  4, 4, NULL, 'Website returns 502 after PHP upgrade',         true,  demo.at(12, '10:00', 'Europe/London'), demo.at(12, '15:00', 'Europe/London')),
    (9,  4, 4, NULL, 'Renew and install TLS certificate',             true,  demo.at(19, '09:00', 'Europe/London'), demo.at(19, '11:00', 'Europe/London')),
    (10, 4, 4, NULL, 'Question about DNS propagation',                true,  demo.at(25, '14:00', 'Europe/London'), NULL),
    (11, 5, 5, NULL, 'Emergency: checkout page down',                 false, demo.at_date(demo.month_end(), '22:50', 'America/Los_Angeles'), demo.at(1, '01:00', 'America/Los_Angeles') + interval '1 month'),
    (12, 6, 6, NULL, 'Kubernetes node pool upgrade',                  false, demo.at(8, '10:00', 'Asia/Tokyo'), demo.at(10, '18:00', 'Asia/Tokyo')),
    (13, 7, NULL, 1, 'Mail cluster: quota alerts',                    false, demo.at(4, '09:00', 'Europe/Warsaw'), demo.at(4, '16:00', 'Europe/Warsaw')),
    (14, 7, NULL, 1, 'Mail cluster: migrate to new storage',          false, demo.at(15, '09:00', 'Europe/Warsaw'), demo.at(22, '18:00', 'Europe/Warsaw')),
    (15, 8, 9, NULL, 'Domain transfer stuck',                         true,  demo.at(9, '10:00', 'Pacific/Kiritimati'), demo.at(9, '12:00', 'Pacific/Kiritimati'));

INSERT INTO time_entries (customer_id, ticket_id, service_id, worked_at, minutes, billable, staff, note) VALUES
    -- Northwind: 60 + 45 + 90 + 50 (rounded up to 60) = 255 min = 4.25 h; 2 h included.
    (1, 1, NULL, demo.at(2, '10:00', 'America/New_York'),  60, true, 'alice', 'Database export and import'),
    (1, 1, NULL, demo.at(3, '14:00', 'America/New_York'),  45, true, 'alice', 'DNS cut-over'),
    (1, 2, NULL, demo.at(5, '11:15', 'America/New_York'),  90, true, 'bob',   'Reverse DNS for 12 addresses'),
    (1, 3, NULL, demo.at(18, '09:00', 'America/New_York'), 50, true, 'carol', 'SPF, DKIM and Microsoft SNDS'),
    (1, 3, NULL, demo.at(18, '10:00', 'America/New_York'), 20, false, 'carol', 'Internal hand-over (not billable)'),
    -- Contoso: 30 + 20 (-> 30) + 65 (-> 75) = 135 min = 2.25 h at 1.00/h.
    (2, 4, NULL, demo.at(6, '10:30', 'Europe/Berlin'), 30, true, 'dave', 'sshd_config review'),
    (2, 4, NULL, demo.at(6, '11:30', 'Europe/Berlin'), 20, true, 'dave', 'fail2ban jails'),
    (2, 5, NULL, demo.at(20, '09:30', 'Europe/Berlin'), 65, true, 'erin', 'Restore from snapshot'),
    -- Fabrikam (pre-paid, 1 h = 1.00): 90 + 120 + 60 + 150 + 90 + 90 = 600 min = ten hours.
    (3, 6, NULL, demo.at(3, '13:30'),  90, true, 'bob',   'Slow query log analysis'),
    (3, 6, NULL, demo.at(4, '09:00'), 120, true, 'bob',   'Index changes'),
    (3, 6, NULL, demo.at(8, '15:00'),  60, true, 'bob',   'Buffer pool sizing'),
    (3, 7, NULL, demo.at(14, '07:30'), 150, true, 'frank', 'Backup job rewrite'),
    (3, 7, NULL, demo.at(15, '08:00'),  90, true, 'frank', 'Restore test'),
    (3, 7, NULL, demo.at(16, '10:00'),  90, true, 'frank', 'Monitoring for the job'),
    -- Tailspin: time is recorded, but incidents are what they pay for.
    (4, 8,  NULL, demo.at(12, '10:15', 'Europe/London'), 75, true, 'grace', 'PHP-FPM pool fix'),
    (4, 9,  NULL, demo.at(19, '09:15', 'Europe/London'), 30, true, 'grace', 'Certificate renewal'),
    -- Wingtip: 23:30 on the last day in Los Angeles is already the next day in UTC, but it is
    -- this month's work for a customer in Los Angeles. 45 min, within the 2 h included.
    (5, 11, NULL, demo.at_date(demo.month_end(), '23:30', 'America/Los_Angeles'), 45, true, 'heidi', 'Payment gateway timeout'),
    -- Sakura: 195 min = 3.25 h; 1.25 h overtime at 9000 JPY/h = 11250 JPY.
    (6, 12, NULL, demo.at(8, '10:30', 'Asia/Tokyo'),  120, true, 'ivan', 'Drain and upgrade node pool 1'),
    (6, 12, NULL, demo.at(10, '14:00', 'Asia/Tokyo'),  75, true, 'ivan', 'Node pool 2'),
    -- Litware: contract work on the mail cluster (item 1).
    (7, 13, NULL, demo.at(4, '09:30', 'Europe/Warsaw'), 120, true, 'judy', 'Quota policy'),
    (7, 14, NULL, demo.at(15, '09:30', 'Europe/Warsaw'), 240, true, 'judy', 'Storage migration, part 1'),
    (7, 14, NULL, demo.at(22, '09:30', 'Europe/Warsaw'), 300, true, 'judy', 'Storage migration, part 2'),
    -- Adventure Works: incident support.
    (8, 15, NULL, demo.at(9, '10:30', 'Pacific/Kiritimati'), 40, true, 'kim', 'Transfer auth code');

SELECT setval(pg_get_serial_sequence('tickets', 'id'), 1000);
SELECT setval(pg_get_serial_sequence('time_entries', 'id'), 100000);
