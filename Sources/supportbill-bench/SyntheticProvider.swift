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
///   require an incident), one in twenty on a configuration item; one in eight names no service
///   (time that only a support contract or the per-incident price bills);
/// - E time entries spread over M, 1 to 180 minutes, 3% not billable;
/// - contracts for one customer in thirty, for org units and for items (hours, time-limited,
///   subscriptions), each ending after it starts;
/// - last month's history from an earlier billing system (source keys `hist:`, which the rollup
///   does not touch): a period invoice for five customers in eight with an item per service,
///   issued on the 1st of M and due on the 15th; paid in full for three of them (one already
///   marked paid), half paid for one, unpaid for one: overdue by the end of M, so the sweep
///   suspends;
/// - payments: funds added by one customer in three (one in forty of them reversed), and the
///   history invoices' payments.
///
/// Two shapes (issue 20), both scaled from the same `--customers/--services/--entries`:
/// - `standard`: C customers, S services, E entries (10,000 / 50,000 / 5M at full scale);
/// - `ticket-services`: C/2 customers with four services each and E/5 entries (5,000 / 20,000 /
///   1M at full scale): fewer, denser customers, every entry's service resolved through its
///   ticket. (The standard shape's entries name no service either: `time_entries.service_id` is
///   NULL in both, so the jobs always take the ticket's; the shapes differ in density.)
struct SyntheticProvider {
    enum Shape: String, CaseIterable {
        case standard
        case ticketServices = "ticket-services"
    }

    let customers: Int
    let services: Int
    let entries: Int
    let month: YearMonth
    var shape: Shape = .standard

    /// The provider of `shape` for the standard shape's sizes (customers, services, entries).
    static func make(_ shape: Shape, customers: Int, services: Int, entries: Int, month: YearMonth) -> SyntheticProvider {
        switch shape {
        case .standard:
            return SyntheticProvider(customers: customers, services: services, entries: entries, month: month)
        case .ticketServices:
            let half = max(1, customers / 2)
            return SyntheticProvider(customers: half, services: half * 4, entries: max(1, entries / 5), month: month, shape: shape)
        }
    }

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
                   CASE WHEN g % 3 <> 0 THEN $2::date - interval '30 days' + (g % 90 + g % 120) * interval '1 day' END,
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
        // One ticket in eight names no service: no plan bills its time; contracts or the
        // per-incident price do.
        try db.execute("UPDATE tickets SET service_id = NULL, requires_incident = false WHERE id % 8 = 3")
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
        log("last month's history")
        try history(db)
        log("payments")
        try db.execute("""
            INSERT INTO payments (customer_id, invoice_id, amount, currency, received_at, status)
            SELECT g, NULL, 2500 + (g % 7) * 1000, c.currency, $1::timestamptz + (g % 25) * interval '1 day',
                   CASE WHEN g % 40 = 0 THEN 'reversed' ELSE 'completed' END
              FROM generate_series(1, $2::int) g JOIN customers c ON c.id = g
             WHERE g % 3 = 0
            """, [Instant(utc: monthStart), customers])
        for table in ["invoices", "billable_items", "job_runs", "org_units", "customers", "services", "items", "tickets", "time_entries", "payments", "contracts", "plans", "customer_groups"] {
            try db.execute("SELECT setval(pg_get_serial_sequence('\(table)', 'id'), (SELECT coalesce(max(id), 0) + 1 FROM \(table)), false)")
        }
        // The synthetic history is loaded after `migrate`, so sql/150's trigger noted its time
        // entries as changes of closed months; a provider's history imported before go-live is
        // not a late correction. Only changes after the load are the rollup's to report.
        try db.execute("DELETE FROM rollup_entry_changes")
        log("analyze")
        try db.execute("VACUUM ANALYZE")
    }

    /// Last month's period invoices from an earlier billing system, issued on the 1st of M and
    /// due on the 15th, built as the immutability triggers require (draft, items, issued).
    private func history(_ db: PostgresConnection) throws {
        let previous = month.previous
        let issuedAt = Instant(utc: month.firstDay, hour: 12)
        let run = try db.query("""
            INSERT INTO job_runs (job, as_of, period_start, period_end, dry_run, status, started_at, finished_at, invoked_by, host, pid)
            VALUES ('monthly-rollup', $1, $2, $3, false, 'succeeded', $1, $1, 'history import', 'bench', 0)
            RETURNING id
            """, [issuedAt, previous.firstDay, month.firstDay])[0].decode(0, as: Int64.self)
        try db.execute("""
            INSERT INTO invoices (customer_id, currency, kind, period_start, period_end, status, total, source_key, run_id)
            SELECT c.id, c.currency, 'period', $1, $2, 'draft', 0, 'hist:' || c.id || ':' || $3, $4
              FROM customers c
             WHERE c.id % 8 IN (0, 1, 2, 3, 4)
            """, [previous.firstDay, month.firstDay, previous.description, run])
        try db.execute("""
            INSERT INTO billable_items (customer_id, service_id, invoice_id, kind, description, quantity, unit_price, amount,
                                        currency, period_start, period_end, source_key, run_id)
            SELECT s.customer_id, s.id, i.id, 'recurring_fee', 'Support ' || $3, 1, 4900, 4900, s.currency, $1, $2,
                   'hist:item:' || s.id || ':' || $3, $4
              FROM services s
              JOIN invoices i ON i.source_key = 'hist:' || s.customer_id || ':' || $3
             WHERE s.status <> 'pending' AND s.starts_on < $2
            """, [previous.firstDay, month.firstDay, previous.description, run])
        try db.execute("""
            UPDATE invoices i SET total = x.total
              FROM (SELECT invoice_id, sum(amount) AS total FROM billable_items WHERE run_id = $1 GROUP BY invoice_id) x
             WHERE i.id = x.invoice_id
            """, [run])
        try db.execute("DELETE FROM invoices WHERE run_id = $1 AND total = 0", [run])
        try db.execute("UPDATE invoices SET status = 'issued', issued_at = $2, due_on = $3 WHERE run_id = $1",
                       [run, issuedAt, month.firstDay.adding(days: 14)])
        try db.execute("""
            INSERT INTO payments (customer_id, invoice_id, amount, currency, received_at, status)
            SELECT i.customer_id, i.id, CASE WHEN i.customer_id % 8 = 2 THEN i.total / 2 ELSE i.total END, i.currency,
                   $2::timestamptz + (i.customer_id % 10) * interval '1 day', 'completed'
              FROM invoices i
             WHERE i.run_id = $1 AND i.customer_id % 8 IN (0, 2, 3, 4)
            """, [run, Instant(utc: month.firstDay.adding(days: 3))])
        try db.execute("UPDATE invoices SET status = 'paid' WHERE run_id = $1 AND customer_id % 8 = 0", [run])
    }
}
