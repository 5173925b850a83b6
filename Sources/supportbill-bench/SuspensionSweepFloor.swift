import BillingCore

/// suspension-sweep's floor, all rules of the sweep:
/// 1. open invoices: issued ones with a positive total, and paid ones with a reversed payment,
///    with their completed payments in the invoice's currency;
/// 2. overdue per (invoice, service of one of its items): unsettled and the customer's local
///    as-of date >= `due_on` (else the local issue date) + the service's plan's `grace_days`;
/// 3. active services with an overdue invoice suspended; services suspended for `overdue` with
///    none left restored; fully paid issued invoices marked paid, paid ones no longer covered
///    issued again;
/// 4. managed group memberships added for each active service's plan group (after the
///    changes), removed where none is left;
/// 5. one `audit_events` row per change.
///
/// Checked against the job: `suspended`, `unsuspended`, `invoices_paid`, `invoices_unpaid`,
/// `group_added`, `group_removed`, and per currency `paid`.
enum SuspensionSweepFloor {
    static func definition(_ c: Floors.Context) -> Floors.Definition {
        Floors.Definition(steps: [
            Floors.Step("""
                CREATE TEMP TABLE f_open ON COMMIT DROP AS
                SELECT i.id, i.customer_id, i.status, i.total, i.currency,
                       COALESCE(i.due_on, (i.issued_at AT TIME ZONE c.timezone)::date) AS due_on,
                       ($1::timestamptz AT TIME ZONE c.timezone)::date AS local_as_of,
                       COALESCE(pay.paid, 0) AS paid
                  FROM invoices i
                  JOIN customers c ON c.id = i.customer_id
                  LEFT JOIN LATERAL (
                      SELECT sum(p.amount) AS paid FROM payments p
                       WHERE p.invoice_id = i.id AND p.customer_id = i.customer_id AND p.status = 'completed' AND p.currency = i.currency
                  ) pay ON true
                 WHERE i.total > 0
                   AND (i.status = 'issued'
                        OR (i.status = 'paid' AND EXISTS (SELECT 1 FROM payments r WHERE r.invoice_id = i.id
                                                             AND r.customer_id = i.customer_id AND r.status = 'reversed')))
                """, [c.asOf]),
            Floors.Step("""
                CREATE TEMP TABLE f_overdue ON COMMIT DROP AS
                SELECT DISTINCT o.customer_id, b.service_id
                  FROM f_open o
                  JOIN billable_items b ON b.invoice_id = o.id AND b.customer_id = o.customer_id AND b.service_id IS NOT NULL
                  JOIN services s ON s.id = b.service_id
                  JOIN plans p ON p.id = s.plan_id
                 WHERE o.paid < o.total AND o.local_as_of >= o.due_on + p.grace_days
                """),
            Floors.Step("""
                CREATE TEMP TABLE f_events (customer_id bigint, entity text, entity_id bigint, event text, currency text, amount bigint)
                    ON COMMIT DROP
                """),
            Floors.Step("""
                WITH x AS (
                    UPDATE services s SET status = 'suspended', suspended_at = $1, suspend_reason = 'overdue'
                      FROM f_overdue o
                     WHERE s.id = o.service_id AND s.customer_id = o.customer_id AND s.status = 'active'
                    RETURNING s.customer_id, s.id
                )
                INSERT INTO f_events SELECT customer_id, 'service', id, 'suspended' FROM x
                """, [c.asOf]),
            Floors.Step("""
                WITH x AS (
                    UPDATE services s SET status = 'active', suspended_at = NULL, suspend_reason = NULL
                     WHERE s.status = 'suspended' AND s.suspend_reason = 'overdue'
                       AND NOT EXISTS (SELECT 1 FROM f_overdue o WHERE o.service_id = s.id)
                    RETURNING s.customer_id, s.id
                )
                INSERT INTO f_events SELECT customer_id, 'service', id, 'unsuspended' FROM x
                """),
            Floors.Step("""
                WITH x AS (
                    UPDATE invoices i SET status = CASE WHEN o.status = 'issued' THEN 'paid' ELSE 'issued' END
                      FROM f_open o
                     WHERE i.id = o.id AND ((o.status = 'issued' AND o.paid >= o.total) OR (o.status = 'paid' AND o.paid < o.total))
                    RETURNING i.customer_id, i.id, i.status, i.currency, i.total
                )
                INSERT INTO f_events
                SELECT customer_id, 'invoice', id, CASE WHEN status = 'paid' THEN 'invoice_paid' ELSE 'invoice_unpaid' END, currency, total
                  FROM x
                """),
            Floors.Step("""
                CREATE TEMP TABLE f_groups ON COMMIT DROP AS
                SELECT DISTINCT s.customer_id, p.group_id
                  FROM services s JOIN plans p ON p.id = s.plan_id
                 WHERE s.status = 'active' AND p.group_id IS NOT NULL
                """),
            Floors.Step("""
                WITH x AS (
                    INSERT INTO customer_group_members (customer_id, group_id, managed, since)
                    SELECT g.customer_id, g.group_id, true, $1
                      FROM f_groups g
                     WHERE NOT EXISTS (SELECT 1 FROM customer_group_members m WHERE m.customer_id = g.customer_id AND m.group_id = g.group_id)
                    RETURNING customer_id, group_id
                )
                INSERT INTO f_events SELECT customer_id, 'customer', group_id, 'group_added' FROM x
                """, [c.asOf]),
            Floors.Step("""
                WITH x AS (
                    DELETE FROM customer_group_members m
                     WHERE m.managed
                       AND NOT EXISTS (SELECT 1 FROM f_groups g WHERE g.customer_id = m.customer_id AND g.group_id = m.group_id)
                    RETURNING customer_id, group_id
                )
                INSERT INTO f_events SELECT customer_id, 'customer', group_id, 'group_removed' FROM x
                """),
            Floors.Step("""
                INSERT INTO audit_events (run_id, at, customer_id, entity, entity_id, event, detail)
                SELECT $1, $2, customer_id, entity, entity_id, event,
                       jsonb_build_object('currency', currency, 'total', amount, 'reason', 'overdue')
                  FROM f_events
                """, [c.runID, c.asOf]),
        ], figures: Floors.Step("""
            SELECT 'counts.suspended', count(*) FILTER (WHERE event = 'suspended') FROM f_events
            UNION ALL SELECT 'counts.unsuspended', count(*) FILTER (WHERE event = 'unsuspended') FROM f_events
            UNION ALL SELECT 'counts.invoices_paid', count(*) FILTER (WHERE event = 'invoice_paid') FROM f_events
            UNION ALL SELECT 'counts.invoices_unpaid', count(*) FILTER (WHERE event = 'invoice_unpaid') FROM f_events
            UNION ALL SELECT 'counts.group_added', count(*) FILTER (WHERE event = 'group_added') FROM f_events
            UNION ALL SELECT 'counts.group_removed', count(*) FILTER (WHERE event = 'group_removed') FROM f_events
            UNION ALL SELECT 'totals.' || currency || '.paid', sum(amount)::bigint FROM f_events WHERE event = 'invoice_paid' GROUP BY currency
            """))
    }
}
