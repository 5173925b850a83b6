import BillingCore

/// monthly-rollup's floor for the bench's month M (`--period M`, every customer's month closed,
/// nothing billed for M yet):
/// 1. usage: one aggregation of the month's billable entries on metered services, each rounded
///    up to the plan's increment, per service and customer-local month (the same bounds as the
///    job: each customer's month as two instants, with the exact `AT TIME ZONE` test only for
///    entries within 3 hours of a bound);
/// 2. lines: usage (billed = max(0, U - included), amount half-up), setup fees of services
///    starting in M, and recurring fees (fees on every plan kind, docs/design.md §8) of the anniversary periods billed in M (from the anchor,
///    clamped by PostgreSQL's month arithmetic; in advance: the month before, never before the
///    month of `starts_on`);
/// 3. other jobs' uninvoiced items of M and of earlier months (per-incident items), attached;
/// 4. one invoice per customer, currency and month with a total other than 0: drafts inserted, items
///    inserted, attached items updated, then issued with `due_on` = local as-of + due_days.
///
/// Checked against the job: `invoices`, `issued`, `items`, `items_attached`, and per currency
/// `invoiced` and `issued`.
enum MonthlyRollupFloor {
    static func definition(_ c: Floors.Context) -> Floors.Definition {
        let first = c.month.firstDay
        let next = c.month.next.firstDay
        let label = c.month.description
        let lo = Instant(utc: first.adding(days: -1))
        let hi = Instant(utc: next.adding(days: 1))
        return Floors.Definition(steps: [
            Floors.Step("""
                CREATE TEMP TABLE f_usage ON COMMIT DROP AS
                WITH m AS MATERIALIZED (
                    SELECT c.id AS customer_id, c.timezone,
                           ($1::date::timestamp AT TIME ZONE c.timezone) AS lo,
                           ($2::date::timestamp AT TIME ZONE c.timezone) AS hi
                      FROM customers c
                )
                SELECT s.customer_id, s.id AS service_id, s.currency, p.included_minutes, pp.hourly_rate,
                       sum(((e.minutes + p.increment_minutes - 1) / p.increment_minutes) * p.increment_minutes)::bigint AS minutes
                  FROM time_entries e
                  JOIN m ON m.customer_id = e.customer_id
                  LEFT JOIN tickets t ON t.id = e.ticket_id
                  JOIN services s ON s.id = COALESCE(e.service_id, t.service_id) AND s.customer_id = e.customer_id
                  JOIN plans p ON p.id = s.plan_id
                  JOIN plan_prices pp ON pp.plan_id = s.plan_id AND pp.currency = s.currency
                 WHERE e.billable AND p.billing = 'metered' AND s.status <> 'pending'
                   AND e.worked_at >= $3 AND e.worked_at < $4
                   AND e.worked_at >= m.lo - interval '3 hours' AND e.worked_at < m.hi + interval '3 hours'
                   AND ((e.worked_at >= m.lo + interval '3 hours' AND e.worked_at < m.hi - interval '3 hours')
                        OR date_trunc('month', e.worked_at AT TIME ZONE m.timezone)::date = $1::date)
                 GROUP BY s.customer_id, s.id, s.currency, p.included_minutes, pp.hourly_rate
                """, [first, next, lo, hi]),
            Floors.Step("""
                CREATE TEMP TABLE f_lines ON COMMIT DROP AS
                SELECT u.customer_id, u.service_id, u.currency, 'usage' AS kind,
                       'Support time ' || $3 || ': ' || round(u.minutes / 60.0, 6) || ' h worked' AS description,
                       u.minutes::integer AS minutes, round(greatest(0, u.minutes - u.included_minutes) / 60.0, 6) AS quantity,
                       u.hourly_rate AS unit_price, (greatest(0, u.minutes - u.included_minutes) * u.hourly_rate + 30) / 60 AS amount,
                       $1::date AS period_start, $2::date AS period_end,
                       'mr:usage:' || u.service_id || ':' || $3 AS source_key, 'usage:' || u.service_id || ':' || $3 AS rollup_line,
                       u.included_minutes
                  FROM f_usage u
                 WHERE u.minutes > 0
                UNION ALL
                SELECT s.customer_id, s.id, s.currency, 'setup_fee', p.name || ', one-time setup fee', NULL, 1, pp.setup_fee, pp.setup_fee,
                       $1::date, $2::date, 'mr:setup:' || s.id, 'setup:' || s.id, NULL
                  FROM services s
                  JOIN plans p ON p.id = s.plan_id
                  JOIN plan_prices pp ON pp.plan_id = s.plan_id AND pp.currency = s.currency
                 WHERE s.status <> 'pending' AND pp.setup_fee > 0
                   AND (s.ends_on IS NULL OR s.ends_on > s.starts_on) AND s.starts_on >= $1 AND s.starts_on < $2
                UNION ALL
                SELECT s.customer_id, s.id, s.currency, 'recurring_fee', p.name || ', from ' || s.starts_on, NULL, 1,
                       pp.recurring_fee, pp.recurring_fee, s.starts_on, s.ends_on,
                       'mr:fee:' || s.id || ':' || s.starts_on, 'fee:' || s.id || ':' || s.starts_on, NULL
                  FROM services s
                  JOIN plans p ON p.id = s.plan_id
                  JOIN plan_prices pp ON pp.plan_id = s.plan_id AND pp.currency = s.currency
                 WHERE s.status <> 'pending' AND pp.recurring_fee > 0
                   AND p.period_months = 0 AND (s.ends_on IS NULL OR s.ends_on > s.starts_on)
                   AND s.starts_on >= $1 AND s.starts_on < $2
                UNION ALL
                SELECT s.customer_id, s.id, s.currency, 'recurring_fee', p.name || ', ' || f.start || '..' || f.next_start, NULL, 1,
                       pp.recurring_fee, pp.recurring_fee, f.start, f.next_start,
                       'mr:fee:' || s.id || ':' || f.start, 'fee:' || s.id || ':' || f.start, NULL
                  FROM services s
                  JOIN plans p ON p.id = s.plan_id
                  JOIN plan_prices pp ON pp.plan_id = s.plan_id AND pp.currency = s.currency
                 CROSS JOIN LATERAL (
                     SELECT ((extract(year FROM $1::date) - extract(year FROM s.starts_on)) * 12
                             + extract(month FROM $1::date) - extract(month FROM s.starts_on))::int AS n
                 ) d
                 CROSS JOIN LATERAL generate_series(greatest(0, (d.n - 1) / p.period_months), greatest(0, (d.n + 2) / p.period_months + 1)) k
                 CROSS JOIN LATERAL (
                     SELECT (s.starts_on + make_interval(months => k * p.period_months))::date AS start,
                            (s.starts_on + make_interval(months => (k + 1) * p.period_months))::date AS next_start
                 ) f
                 WHERE s.status <> 'pending' AND pp.recurring_fee > 0
                   AND p.period_months > 0 AND (s.ends_on IS NULL OR s.ends_on > s.starts_on)
                   AND f.start >= $1 AND f.start < ($2::date + interval '1 month')::date
                   AND (s.ends_on IS NULL OR f.start < s.ends_on)
                   AND CASE WHEN p.bill_in_advance
                            THEN greatest((date_trunc('month', f.start) - interval '1 month')::date, date_trunc('month', s.starts_on)::date)
                            ELSE date_trunc('month', f.start)::date END = $1::date
                """, [first, next, label]),
            // Other jobs' uninvoiced items of M and of every earlier month (invoiced whatever
            // their age, docs/design.md §9), each on its own month's period invoice: the synthetic
            // history is not the rollup's (source keys `hist:`), so no earlier month of the
            // rollup is issued and none needs an adjustment invoice.
            Floors.Step("""
                CREATE TEMP TABLE f_open ON COMMIT DROP AS
                SELECT b.id, b.customer_id, b.currency, b.amount, date_trunc('month', b.period_start)::date AS month
                  FROM billable_items b
                 WHERE b.invoice_id IS NULL AND b.rollup_line IS NULL AND b.period_start < $1
                   AND NOT EXISTS (SELECT 1 FROM rollup_netted_items n WHERE n.customer_id = b.customer_id AND n.item_id = b.id)
                """, [next]),
            Floors.Step("""
                CREATE TEMP TABLE f_invoices ON COMMIT DROP AS
                SELECT x.customer_id, x.currency, x.month, sum(x.amount)::bigint AS total,
                       count(*) FILTER (WHERE NOT x.attached) AS items, count(*) FILTER (WHERE x.attached) AS attached,
                       'mr:period:' || x.customer_id || ':' || x.currency || ':' || to_char(x.month, 'YYYY-MM') AS source_key
                  FROM (SELECT customer_id, currency, amount, false AS attached, $1::date AS month FROM f_lines
                        UNION ALL
                        SELECT customer_id, currency, amount, true, month FROM f_open) x
                 GROUP BY x.customer_id, x.currency, x.month
                HAVING sum(x.amount) <> 0
                """, [first]),
            // The honest floor inserts each invoice issued (nothing on the lean copy asks for a
            // draft first); the same-schema floor drafts, fills and issues, as the triggers want.
            c.lean ? Floors.Step("""
                INSERT INTO invoices (customer_id, currency, kind, period_start, period_end, status, total, source_key, run_id,
                                      issued_at, due_on)
                SELECT f.customer_id, f.currency, 'period', f.month, (f.month + interval '1 month')::date, 'issued', f.total, f.source_key, $1,
                       $2, ($2::timestamptz AT TIME ZONE cu.timezone)::date + $3::int
                  FROM f_invoices f JOIN customers cu ON cu.id = f.customer_id
                """, [c.runID, c.asOf, c.configuration.rollupDueDays]) : Floors.Step("""
                INSERT INTO invoices (customer_id, currency, kind, period_start, period_end, status, total, source_key, run_id)
                SELECT customer_id, currency, 'period', month, (month + interval '1 month')::date, 'draft', total, source_key, $1
                  FROM f_invoices
                """, [c.runID]),
            Floors.Step("""
                INSERT INTO billable_items (customer_id, service_id, invoice_id, kind, description, minutes, quantity, unit_price,
                                            amount, currency, period_start, period_end, source_key, rollup_line, included_minutes, run_id)
                SELECT l.customer_id, l.service_id, i.id, l.kind, l.description, l.minutes, l.quantity, l.unit_price,
                       l.amount, l.currency, l.period_start, l.period_end, l.source_key, l.rollup_line, l.included_minutes, $2
                  FROM f_lines l
                  JOIN invoices i ON i.source_key = 'mr:period:' || l.customer_id || ':' || l.currency || ':' || $1
                """, [label, c.runID]),
            Floors.Step("""
                UPDATE billable_items b SET invoice_id = i.id
                  FROM f_open o
                  JOIN invoices i ON i.source_key = 'mr:period:' || o.customer_id || ':' || o.currency || ':' || to_char(o.month, 'YYYY-MM')
                 WHERE b.id = o.id
                """, []),
        ] + (c.lean ? [] : [
            Floors.Step("""
                UPDATE invoices i SET status = 'issued', issued_at = $2, due_on = ($2::timestamptz AT TIME ZONE c.timezone)::date + $3::int
                  FROM customers c
                 WHERE i.run_id = $1 AND c.id = i.customer_id
                """, [c.runID, c.asOf, c.configuration.rollupDueDays]),
        ]), figures: Floors.Step("""
            SELECT 'counts.invoices', count(*)::bigint FROM f_invoices
            UNION ALL SELECT 'counts.issued', count(*)::bigint FROM f_invoices
            UNION ALL SELECT 'counts.items', sum(items)::bigint FROM f_invoices
            UNION ALL SELECT 'counts.items_attached', sum(attached)::bigint FROM f_invoices
            UNION ALL SELECT 'totals.' || currency || '.invoiced', sum(total)::bigint FROM f_invoices GROUP BY currency
            UNION ALL SELECT 'totals.' || currency || '.issued', sum(total)::bigint FROM f_invoices GROUP BY currency
            """))
    }
}
