import BillingCore
import Postgres

/// A synthetic hosting provider generated with set-based SQL: deterministic (no random()), so
/// two runs of the benchmark bill exactly the same data.
///
/// Shape, for C customers, S services and E time entries in one month M:
/// - customers spread over twelve time zones from UTC-10 to UTC+14; 90% USD, 8% EUR, 2% JPY;
///   one in ten in an org unit;
/// - services cycle through every plan kind: metered bundle (2 h included, overtime), post-paid
///   hourly with a setup fee, pre-paid credit, incidents monthly, incidents lifetime, flat
///   recurring billed in advance, quarterly retainer; 92% active, 3% suspended, 3% cancelled,
///   2% pending; started over the twelve months before M;
/// - one ticket per 40 entries, each on a service of its customer (incident plans' tickets
///   require an incident), one in twenty on a configuration item;
/// - E time entries spread over M, 1 to 180 minutes, 3% not billable;
/// - contracts for one customer in ten (hours, time-limited, subscriptions) and per org unit;
/// - paid and unpaid history: last month's issued invoices for a share of customers, payments.
struct SyntheticProvider {
    let customers: Int
    let services: Int
    let entries: Int
    let month: YearMonth

    static let zones = [
        "Pacific/Honolulu", "America/Los_Angeles", "America/Denver", "America/Chicago", "America/New_York",
        "America/Sao_Paulo", "UTC", "Europe/Berlin", "Europe/Moscow", "Asia/Kolkata", "Asia/Tokyo", "Pacific/Kiritimati",
    ]

    func generate(_ db: PostgresConnection, log: (String) -> Void) throws {
        let monthStart = month.firstDay
        try db.execute("SET synchronous_commit = off")
        log("plans and prices")
        try db.executeScript("""
            INSERT INTO customer_groups (id, name) VALUES (1, 'Priority Support') ON CONFLICT DO NOTHING;
            INSERT INTO plans (id, code, name, billing, period_months, bill_in_advance, included_minutes, increment_minutes, incidents_per_period, group_id, grace_days) VALUES
                (1, 'bundle-2h', 'Support Bundle 2 h', 'metered', 1, false, 120, 15, 0, 1, 7),
                (2, 'hourly', 'Post-paid hourly', 'metered', 1, false, 0, 15, 0, NULL, 7),
                (3, 'prepaid', 'Pre-paid credit', 'prepaid', 1, false, 0, 15, 0, NULL, 7),
                (4, 'incidents-10', 'Incidents 10/month', 'incidents', 1, false, 0, 15, 10, NULL, 7),
                (5, 'incidents-life', 'Incidents 5 lifetime', 'incidents', 0, false, 0, 15, 5, NULL, 7),
                (6, 'priority-flat', 'Priority flat', 'recurring', 1, true, 0, 15, 0, 1, 5),
                (7, 'retainer-q', 'Quarterly retainer', 'recurring', 3, false, 0, 6, 0, NULL, 10);
            INSERT INTO plan_prices (plan_id, currency, recurring_fee, setup_fee, hourly_rate, topup_amount, threshold)
            SELECT p.id, c.code,
                   (ARRAY[20000, 0, 0, 9900, 19900, 4900, 45000])[p.id] * c.factor,
                   (ARRAY[0, 3000, 0, 0, 0, 0, 0])[p.id] * c.factor,
                   (ARRAY[6000, 100, 100, 0, 0, 0, 0])[p.id] * c.factor,
                   (ARRAY[0, 0, 1000, 0, 0, 0, 0])[p.id] * c.factor,
                   0
              FROM plans p CROSS JOIN (VALUES ('USD', 1), ('EUR', 1), ('JPY', 1)) AS c(code, factor);
            """)
        log("\(customers) customers")
        try db.execute("""
            INSERT INTO org_units (id, name) SELECT g, 'Org unit ' || g FROM generate_series(1, greatest(1, $1::int / 20)) g
            """, [customers])
        try db.execute("""
            INSERT INTO customers (id, name, org_unit_id, currency, timezone, registered_at)
            SELECT g, 'Customer ' || g,
                   CASE WHEN g % 10 = 0 THEN 1 + (g / 10) % greatest(1, $1::int / 20) END,
                   CASE WHEN g % 50 = 7 THEN 'JPY' WHEN g % 12 = 5 THEN 'EUR' ELSE 'USD' END,
                   ($3::text[])[1 + g % 12],
                   $2::date - (g % 400) * interval '1 day' - interval '30 days'
              FROM generate_series(1, $1::int) g
            """, [customers, monthStart, SyntheticProvider.zones])
        log("\(services) services")
        try db.execute("""
            INSERT INTO services (id, customer_id, plan_id, currency, status, starts_on, ends_on)
            SELECT s, c, 1 + s % 7, cu.currency,
                   CASE WHEN s % 50 = 1 THEN 'pending' WHEN s % 33 = 2 THEN 'suspended' WHEN s % 33 = 3 THEN 'cancelled' ELSE 'active' END,
                   $2::date - ((s * 7) % 365) * interval '1 day',
                   CASE WHEN s % 33 = 3 THEN $2::date + ((s * 3) % 28) * interval '1 day' END
              FROM generate_series(1, $1::int) s
              CROSS JOIN LATERAL (SELECT 1 + (s - 1) % $3::int AS c) pick
              JOIN customers cu ON cu.id = pick.c
            """, [services, monthStart, customers])
        try db.execute("UPDATE services SET suspended_at = starts_on + interval '40 days', suspend_reason = CASE WHEN id % 2 = 0 THEN 'overdue' ELSE 'abuse' END WHERE status = 'suspended'")
        log("items and contracts")
        try db.execute("""
            INSERT INTO items (id, customer_id, org_unit_id, name)
            SELECT g, CASE WHEN g % 4 <> 0 THEN g * 20 ELSE NULL END, CASE WHEN g % 4 = 0 THEN 1 + g % greatest(1, $1::int / 20) END, 'Server ' || g
              FROM generate_series(1, $1::int / 20) g
            """, [customers])
        try db.execute("""
            INSERT INTO contracts (item_id, customer_id, org_unit_id, kind, starts_on, ends_on, minutes_total, status)
            SELECT CASE WHEN g % 3 = 0 THEN 1 + g % greatest(1, $1::int / 20) END,
                   CASE WHEN g % 3 = 1 THEN g * 10 END,
                   CASE WHEN g % 3 = 2 THEN 1 + g % greatest(1, $1::int / 20) END,
                   (ARRAY['support_hours', 'time_limited', 'subscription'])[1 + g % 3],
                   $2::date - interval '60 days' + (g % 90) * interval '1 day',
                   CASE WHEN g % 3 <> 0 THEN $2::date + (g % 120) * interval '1 day' END,
                   CASE WHEN g % 3 <> 2 THEN 600 + (g % 10) * 60 END,
                   CASE WHEN g % 90 < 60 THEN 'active' ELSE 'pending' END
              FROM generate_series(1, $1::int / 10) g
            """, [customers, monthStart])
        let tickets = max(1, entries / 40)
        log("\(tickets) tickets")
        try db.execute("""
            INSERT INTO tickets (id, customer_id, service_id, item_id, subject, requires_incident, opened_at, closed_at)
            SELECT t, s.customer_id, s.id,
                   CASE WHEN t % 20 = 0 AND s.customer_id % 20 = 0 THEN s.customer_id / 20 END,
                   'Ticket ' || t, s.plan_id IN (4, 5) AND t % 3 = 0,
                   $2::timestamptz + ((t * 7919) % (27 * 86400)) * interval '1 second',
                   $2::timestamptz + ((t * 7919) % (27 * 86400) + 7200) * interval '1 second'
              FROM generate_series(1, $1::int) t
              JOIN services s ON s.id = 1 + (t * 37) % $3::int
            """, [tickets, Instant(utc: monthStart), services])
        log("\(entries) time entries")
        let chunk = 1_000_000
        var start = 1
        while start <= entries {
            let end = min(entries, start + chunk - 1)
            try db.execute("""
                INSERT INTO time_entries (id, customer_id, ticket_id, service_id, worked_at, minutes, billable, staff)
                SELECT e, t.customer_id, t.id, NULL,
                       $4::timestamptz + ((e::bigint * 104729) % ($5::bigint * 86400 - 60)) * interval '1 second',
                       1 + (e * 37) % 180, e % 33 <> 0, 'staff' || (e % 40)
                  FROM generate_series($1::int, $2::int) e
                  JOIN tickets t ON t.id = 1 + (e - 1) % $3::int
                """, [start, end, tickets, Instant(utc: monthStart), month.dateRange.dayCount])
            start = end + 1
        }
        log("payments")
        try db.execute("""
            INSERT INTO payments (customer_id, invoice_id, amount, currency, received_at, status)
            SELECT g, NULL, 2500 + (g % 7) * 1000, c.currency, $1::timestamptz + (g % 25) * interval '1 day',
                   CASE WHEN g % 40 = 0 THEN 'reversed' ELSE 'completed' END
              FROM generate_series(1, $2::int) g JOIN customers c ON c.id = g
             WHERE g % 3 = 0
            """, [Instant(utc: monthStart), customers])
        for table in ["org_units", "customers", "services", "items", "tickets", "time_entries", "payments", "contracts", "plans", "customer_groups"] {
            try db.execute("SELECT setval(pg_get_serial_sequence('\(table)', 'id'), (SELECT coalesce(max(id), 0) + 1 FROM \(table)), false)")
        }
        log("analyze")
        try db.execute("VACUUM ANALYZE")
    }
}
