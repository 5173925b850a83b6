-- What a hosting company sells as paid support (the seed products: HostBill Priority Support,
-- the WHMCS "Support by time" module, BILLmanager per-incident support, LiveTime contracts).

INSERT INTO customer_groups (id, name) VALUES (1, 'Priority Support');

INSERT INTO plans (id, code, name, billing, period_months, bill_in_advance, included_minutes, increment_minutes, incidents_per_period, group_id, grace_days) VALUES
    -- A bundle of 2 hours a month, overtime at 60.00/h, 15-minute steps; joins the priority group.
    (1, 'bundle-2h',      'Priority Support Bundle (2 h included)', 'metered',   1, false, 120, 15,  0, 1,    7),
    -- Post-paid hourly support: 1.00/h, a 30.00 one-time fee (HostBill's post-paid example).
    (2, 'hourly-postpaid','Post-paid Support (hourly)',             'metered',   1, false,   0, 15,  0, NULL, 7),
    -- Pre-paid credit: 1 h = 1.00, packs of 10.00, top up when the credit reaches 0.
    (3, 'prepaid-credit', 'Pre-paid Support Credit',                'prepaid',   1, false,   0, 15,  0, NULL, 7),
    -- Ten incidents a month (BILLmanager's example: ordered for 3 months on the 11th).
    (4, 'incidents-10',   'Incident Pack (10 per month)',           'incidents', 1, false,   0, 15, 10, NULL, 7),
    -- Five lifetime incidents.
    (5, 'incidents-life', 'Incident Pack (5, lifetime)',            'incidents', 0, false,   0, 15,  5, NULL, 7),
    -- Flat monthly priority support, billed in advance; joins the priority group.
    (6, 'priority-flat',  'Priority Support (flat, monthly)',       'recurring', 1, true,    0, 15,  0, 1,    5),
    -- A quarterly retainer.
    (7, 'retainer-q',     'Quarterly Support Retainer',             'recurring', 3, false,   0, 15,  0, NULL, 7);

INSERT INTO plan_prices (plan_id, currency, recurring_fee, setup_fee, hourly_rate, topup_amount, threshold) VALUES
    (1, 'USD', 20000,     0,  6000,    0, 0),
    (1, 'EUR', 18500,     0,  5500,    0, 0),
    (1, 'JPY', 30000,     0,  9000,    0, 0),
    (2, 'USD',     0,  3000,   100,    0, 0),
    (3, 'USD',     0,     0,   100, 1000, 0),
    (4, 'USD',  9900,     0,     0,    0, 0),
    (5, 'USD', 19900,     0,     0,    0, 0),
    (6, 'USD',  4900,     0,     0,    0, 0),
    (6, 'EUR',  4500,     0,     0,    0, 0),
    (7, 'USD', 45000,     0,     0,    0, 0);

SELECT setval(pg_get_serial_sequence('plans', 'id'), 100);
SELECT setval(pg_get_serial_sequence('customer_groups', 'id'), 100);
