-- Customers of a hosting company, across time zones and currencies, with their support services.

INSERT INTO org_units (id, name, parent_id) VALUES
    (1, 'Litware Group', NULL),
    (2, 'Litware Group / Operations', 1);

INSERT INTO customers (id, name, org_unit_id, currency, timezone, registered_at) VALUES
    (1, 'Northwind Hosting',   NULL, 'USD', 'America/New_York',    demo.at(-60, '09:00', 'America/New_York')),
    (2, 'Contoso Web',         NULL, 'USD', 'Europe/Berlin',       demo.at(3, '14:20', 'Europe/Berlin')),
    (3, 'Fabrikam Servers',    NULL, 'USD', 'UTC',                 demo.at(-30, '11:00')),
    (4, 'Tailspin Apps',       NULL, 'USD', 'Europe/London',       demo.at(-45, '16:00', 'Europe/London')),
    (5, 'Wingtip Toys',        NULL, 'USD', 'America/Los_Angeles', demo.at(-90, '10:00', 'America/Los_Angeles')),
    (6, 'Sakura Cloud KK',     NULL, 'JPY', 'Asia/Tokyo',          demo.at(-120, '10:00', 'Asia/Tokyo')),
    (7, 'Litware Operations',  2,    'USD', 'Europe/Warsaw',       demo.at(-200, '08:00', 'Europe/Warsaw')),
    (8, 'Adventure Works',     NULL, 'USD', 'Pacific/Kiritimati',  demo.at(-75, '12:00', 'Pacific/Kiritimati')),
    (9, 'Blue Yonder Retail',  NULL, 'EUR', 'Europe/Paris',        demo.at(-150, '09:30', 'Europe/Paris'));

INSERT INTO services (id, customer_id, plan_id, currency, status, starts_on, ends_on) VALUES
    (1, 1, 1, 'USD', 'active',  demo.day(-60), NULL),           -- Northwind: 2 h bundle
    (2, 2, 2, 'USD', 'active',  demo.day(3),   NULL),           -- Contoso: post-paid hourly, new this month
    (3, 3, 3, 'USD', 'active',  demo.day(-30), NULL),           -- Fabrikam: pre-paid credit
    (4, 4, 4, 'USD', 'active',  demo.day(11),  demo.day(11) + interval '3 months'), -- Tailspin: 10 incidents a month for 3 months
    (5, 5, 1, 'USD', 'active',  demo.day(-90), NULL),           -- Wingtip: 2 h bundle
    (6, 6, 1, 'JPY', 'active',  demo.day(-120), NULL),          -- Sakura: 2 h bundle in yen
    (7, 8, 6, 'USD', 'active',  demo.day(-75), NULL),           -- Adventure Works: flat priority support
    (8, 9, 7, 'EUR', 'active',  demo.day(-150), NULL),          -- Blue Yonder: quarterly retainer (no EUR price: skipped)
    (9, 8, 5, 'USD', 'active',  demo.day(-75), NULL);           -- Adventure Works: lifetime incidents

INSERT INTO items (id, customer_id, org_unit_id, name) VALUES
    (1, 7, NULL, 'Litware mail cluster'),
    (2, NULL, 2, 'Litware shared hosting platform');

SELECT setval(pg_get_serial_sequence('org_units', 'id'), 100);
SELECT setval(pg_get_serial_sequence('customers', 'id'), 100);
SELECT setval(pg_get_serial_sequence('services', 'id'), 100);
SELECT setval(pg_get_serial_sequence('items', 'id'), 100);

-- Taxes (docs/invoices.md, "Taxes"): Contoso Web in Berlin pays German VAT at 19 %; Tailspin
-- Apps in London accounts for the VAT itself (reverse charge: 0 %, and a note on its invoices);
-- everyone else is untaxed.
INSERT INTO tax_rates (code, name, rate) VALUES
    ('DE-19', 'Germany, standard VAT', 19.0000),
    ('RC-0',  'Reverse charge',         0.0000);
UPDATE customers SET tax_rate = 'DE-19' WHERE id = 2;
UPDATE customers SET tax_rate = 'RC-0',
       tax_note = 'Reverse charge: the customer accounts for the VAT (VAT Act 1994, s. 8)'
 WHERE id = 4;
