import BillingCore
import Postgres

/// threshold-topup's floor for a first run over a history of pre-paid time (nothing debited or
/// invoiced yet, no top-up payments):
/// 1. debits: every queued billable entry worked by as-of on a pre-paid service, not debited yet:
///    `-round_half_up(round_up(minutes, increment) × hourly_rate / 60)`, one `credit_ledger` row
///    each (whose trigger keeps the per-service balances, as for the job);
/// 2. top-ups: every pending or active pre-paid service not ended by the local as-of date, with
///    B + P <= threshold (B from the balances, P its unpaid issued top-ups): n packs, the smallest
///    n >= 1 with B + P + n × topup_amount > threshold; a draft invoice, its item, then issued;
/// 3. the queue rows handled are deleted, as the job consumes them.
///
/// It leaves out the daily limit (`max_topups_per_day`; the first run issues one per service)
/// and the reconciliation of paid top-ups (none exist yet). Checked against the job:
/// `entries_debited`, `invoices`, and per currency `debited` and `invoiced`.
enum ThresholdTopupFloor {
    static func definition(_ c: Floors.Context) -> Floors.Definition {
        // On the lean copy no trigger keeps `topup_balances`: the honest floor adds the debits
        // it has just computed (as the job's planner does) instead of reading them back.
        let debited = c.lean ? "+ COALESCE(fd.amount, 0)" : ""
        // Unpaid issued top-ups per service: one grouped join on the lean copy (its items have no
        // index on invoice_id to serve the correlated subquery the same-schema floor runs).
        let debitedJoin = c.lean ? """
            LEFT JOIN f_debited fd ON fd.service_id = s.id
            LEFT JOIN (SELECT bi.service_id, sum(i.total)::bigint AS total FROM invoices i
                         JOIN billable_items bi ON bi.invoice_id = i.id AND bi.kind = 'topup'
                        WHERE i.kind = 'topup' AND i.status = 'issued' AND i.customer_id = bi.customer_id
                        GROUP BY bi.service_id) up ON up.service_id = s.id
            """ : ""
        let unpaid = c.lean ? "COALESCE(up.total, 0)" : """
            COALESCE((SELECT sum(i.total)::bigint FROM invoices i
                        JOIN billable_items bi ON bi.invoice_id = i.id AND bi.kind = 'topup' AND bi.service_id = s.id
                       WHERE i.customer_id = s.customer_id AND i.kind = 'topup' AND i.status = 'issued'), 0)
            """
        let sumDebits = Floors.Step("""
            CREATE TEMP TABLE f_debited ON COMMIT DROP AS
            SELECT service_id, -sum((minutes::bigint * hourly_rate + 30) / 60)::bigint AS amount FROM f_debits GROUP BY service_id
            """)
        let issued = c.lean
            ? "INSERT INTO invoices (customer_id, currency, kind, status, total, source_key, run_id, issued_at, due_on) SELECT customer_id, currency, 'topup', 'issued', packs * topup_amount, source_key, $1, $2, local_as_of + $3::int FROM f_topups"
            : "INSERT INTO invoices (customer_id, currency, kind, status, total, source_key, run_id) SELECT customer_id, currency, 'topup', 'draft', packs * topup_amount, source_key, $1 FROM f_topups"
        let issuedBinds: [any PostgresEncodable] = c.lean ? [c.runID, c.asOf, c.configuration.topupDueDays] : [c.runID]
        return Floors.Definition(steps: [
            Floors.Step("""
                CREATE TEMP TABLE f_debits ON COMMIT DROP AS
                SELECT e.id AS entry_id, e.customer_id, s.id AS service_id, s.currency, pp.hourly_rate,
                       ((e.minutes + p.increment_minutes - 1) / p.increment_minutes) * p.increment_minutes AS minutes
                  FROM (SELECT DISTINCT time_entry_id FROM topup_entry_queue) q
                  JOIN time_entries e ON e.id = q.time_entry_id
                  LEFT JOIN tickets t ON t.id = e.ticket_id
                  JOIN services s ON s.id = COALESCE(e.service_id, t.service_id) AND s.customer_id = e.customer_id
                  JOIN plans p ON p.id = s.plan_id
                  JOIN plan_prices pp ON pp.plan_id = s.plan_id AND pp.currency = s.currency
                 WHERE p.billing = 'prepaid' AND e.billable AND e.worked_at <= $1
                   AND NOT EXISTS (SELECT 1 FROM credit_ledger l WHERE l.time_entry_id = e.id)
                """, [c.asOf]),
            Floors.Step("""
                INSERT INTO credit_ledger (customer_id, service_id, amount, currency, reason, time_entry_id, minutes, hourly_rate,
                                           source_key, run_id)
                SELECT customer_id, service_id, -((minutes::bigint * hourly_rate + 30) / 60), currency, 'usage', entry_id,
                       minutes, hourly_rate, 'tt:usage:' || entry_id, $1
                  FROM f_debits
                """, [c.runID]),
        ] + (c.lean ? [sumDebits] : []) + [
            Floors.Step("""
                CREATE TEMP TABLE f_topups ON COMMIT DROP AS
                SELECT s.customer_id, s.id AS service_id, s.currency, p.name AS plan_name, pp.topup_amount, l.local_as_of,
                       (pp.threshold - b.covered) / pp.topup_amount + 1 AS packs, b.balance,
                       'tt:inv:' || s.id || ':' || l.local_as_of || ':1' AS source_key
                  FROM services s
                  JOIN plans p ON p.id = s.plan_id
                  JOIN plan_prices pp ON pp.plan_id = s.plan_id AND pp.currency = s.currency
                  JOIN customers c ON c.id = s.customer_id
                 CROSS JOIN LATERAL (SELECT ($1::timestamptz AT TIME ZONE c.timezone)::date AS local_as_of) l
                  LEFT JOIN topup_balances tb ON tb.customer_id = s.customer_id AND tb.service_id = s.id
                  \(debitedJoin)
                 CROSS JOIN LATERAL (
                     SELECT COALESCE(tb.balance, 0) \(debited) AS balance,
                            COALESCE(tb.balance, 0) \(debited) + \(unpaid) AS covered
                 ) b
                 WHERE p.billing = 'prepaid' AND s.status IN ('pending', 'active') AND (s.ends_on IS NULL OR s.ends_on > l.local_as_of)
                   AND pp.topup_amount > 0 AND b.covered <= pp.threshold
                """, [c.asOf]),
            // Honest: inserted issued; same schema: drafted, filled, then issued (the triggers' order).
            Floors.Step(issued, issuedBinds),
            Floors.Step("""
                INSERT INTO billable_items (customer_id, service_id, invoice_id, kind, description, quantity, unit_price, amount,
                                            currency, source_key, run_id)
                SELECT t.customer_id, t.service_id, i.id, 'topup', t.plan_name || ' for service ' || t.service_id || ', balance ' || t.balance,
                       t.packs, t.topup_amount, t.packs * t.topup_amount, t.currency,
                       'tt:item:' || t.service_id || ':' || t.local_as_of || ':1', $1
                  FROM f_topups t JOIN invoices i ON i.source_key = t.source_key
                """, [c.runID]),
        ] + (c.lean ? [] : [
            Floors.Step("""
                UPDATE invoices i SET status = 'issued', issued_at = $1, due_on = t.local_as_of + $2::int
                  FROM f_topups t
                 WHERE i.source_key = t.source_key
                """, [c.asOf, c.configuration.topupDueDays]),
        ]) + [
            Floors.Step("""
                DELETE FROM topup_entry_queue q USING time_entries e WHERE e.id = q.time_entry_id AND e.worked_at <= $1
                """, [c.asOf]),
            Floors.Step("DELETE FROM topup_service_queue"),
        ], figures: Floors.Step("""
            SELECT 'counts.entries_debited', count(*)::bigint FROM f_debits
            UNION ALL SELECT 'totals.' || currency || '.debited', -sum((minutes::bigint * hourly_rate + 30) / 60)::bigint
                        FROM f_debits GROUP BY currency
            UNION ALL SELECT 'counts.invoices', count(*)::bigint FROM f_topups
            UNION ALL SELECT 'totals.' || currency || '.invoiced', sum(packs * topup_amount)::bigint FROM f_topups GROUP BY currency
            """))
    }
}
