import BillingCore

/// incident-grants' floor (account grants switched off, as by default):
/// 1. plan grants: for each active service on an incidents plan with incidents per period, each
///    anniversary period from `starts_on` (from the anchor, clamped) that has started by the
///    customer's local as-of date and starts before `ends_on`; `period_months = 0` once, as
///    lifetime incidents; one `incident_grants` row each (those granted before are left out);
/// 2. consumption: each ticket that requires an incident, opened by as-of and holding none, takes
///    the first grant of its customer valid on the local opening date in the job's order
///    (time-limited by `valid_until`, `valid_from`, then lifetime by `valid_from`), one
///    `incident_uses` row each.
///
/// Step 2 picks without counting what each grant has left. That is the job's greedy choice
/// exactly when no grant is picked more often than it holds, which the floor checks: then
/// `uses` and `unserved_tickets` are compared, else only their sum (`uncompared:counts.uses`
/// says so). Always checked: `grants`, `incidents_granted`, `uses + unserved_tickets`.
enum IncidentGrantsFloor {
    static func definition(_ c: Floors.Context) -> Floors.Definition {
        Floors.Definition(steps: [
            Floors.Step("""
                CREATE TEMP TABLE f_grants ON COMMIT DROP AS
                SELECT s.customer_id, s.id AS service_id, p.incidents_per_period AS quantity, p.period_months = 0 AS lifetime,
                       f.start AS valid_from, f.next_start AS valid_until,
                       CASE WHEN p.period_months = 0 THEN 'plan_lifetime' ELSE 'plan_period' END AS source,
                       CASE WHEN p.period_months = 0 THEN 'ig:plan-lifetime:' || s.id ELSE 'ig:period:' || s.id || ':' || f.start END AS source_key
                  FROM services s
                  JOIN plans p ON p.id = s.plan_id
                  JOIN customers c ON c.id = s.customer_id
                 CROSS JOIN LATERAL (SELECT ($1::timestamptz AT TIME ZONE c.timezone)::date AS local_as_of) l
                 CROSS JOIN LATERAL generate_series(0, CASE WHEN p.period_months = 0 THEN 0 ELSE
                         ((extract(year FROM l.local_as_of) - extract(year FROM s.starts_on)) * 12
                          + extract(month FROM l.local_as_of) - extract(month FROM s.starts_on))::int / p.period_months + 1 END) k
                 CROSS JOIN LATERAL (
                     SELECT (s.starts_on + make_interval(months => k * p.period_months))::date AS start,
                            CASE WHEN p.period_months > 0
                                 THEN (s.starts_on + make_interval(months => (k + 1) * p.period_months))::date END AS next_start
                 ) f
                 WHERE p.billing = 'incidents' AND p.incidents_per_period > 0 AND s.status = 'active'
                   AND s.starts_on <= l.local_as_of AND (s.ends_on IS NULL OR s.ends_on > s.starts_on)
                   AND f.start <= l.local_as_of AND (s.ends_on IS NULL OR f.start < s.ends_on)
                   AND NOT EXISTS (SELECT 1 FROM incident_grants g WHERE g.source_key =
                           CASE WHEN p.period_months = 0 THEN 'ig:plan-lifetime:' || s.id ELSE 'ig:period:' || s.id || ':' || f.start END)
                """, [c.asOf]),
            Floors.Step("""
                INSERT INTO incident_grants (customer_id, service_id, quantity, lifetime, valid_from, valid_until, source, source_key, run_id)
                SELECT customer_id, service_id, quantity, lifetime, valid_from, valid_until, source, source_key, $1 FROM f_grants
                """, [c.runID]),
            Floors.Step("""
                CREATE TEMP TABLE f_tickets ON COMMIT DROP AS
                SELECT t.id, t.customer_id, t.opened_at, (t.opened_at AT TIME ZONE c.timezone)::date AS opened_on
                  FROM tickets t
                  JOIN customers c ON c.id = t.customer_id
                 WHERE t.requires_incident AND t.opened_at <= $1
                   AND NOT EXISTS (SELECT 1 FROM incident_uses u WHERE u.customer_id = t.customer_id AND u.ticket_id = t.id
                                      AND u.returned_at IS NULL)
                """, [c.asOf]),
            Floors.Step("""
                CREATE TEMP TABLE f_pick ON COMMIT DROP AS
                SELECT DISTINCT ON (t.id) t.id AS ticket_id, t.customer_id, t.opened_at, g.id AS grant_id,
                       g.quantity - (SELECT count(*) FROM incident_uses u
                                      WHERE u.customer_id = g.customer_id AND u.grant_id = g.id AND u.returned_at IS NULL) AS available
                  FROM f_tickets t
                  JOIN incident_grants g ON g.customer_id = t.customer_id AND g.revoked_at IS NULL
                                        AND g.valid_from <= t.opened_on AND (g.valid_until IS NULL OR t.opened_on < g.valid_until)
                 ORDER BY t.id, g.lifetime, g.valid_until, g.valid_from, g.id
                """),
            Floors.Step("""
                INSERT INTO incident_uses (customer_id, grant_id, ticket_id, used_at, source_key, run_id)
                SELECT customer_id, grant_id, ticket_id, opened_at, 'ig:use:' || ticket_id || ':1', $1 FROM f_pick
                """, [c.runID]),
        ], figures: Floors.Step("""
            WITH exact AS (
                SELECT COALESCE(bool_and(n <= available), true) AS holds
                  FROM (SELECT grant_id, max(available) AS available, count(*) AS n FROM f_pick GROUP BY grant_id) x
            )
            SELECT 'counts.grants', count(*)::bigint FROM f_grants
            UNION ALL SELECT 'counts.incidents_granted', sum(quantity)::bigint FROM f_grants
            UNION ALL SELECT 'sum:counts.uses,counts.unserved_tickets', count(*)::bigint FROM f_tickets
            UNION ALL SELECT CASE WHEN (SELECT holds FROM exact) THEN 'counts.uses' ELSE 'uncompared:counts.uses' END,
                             count(*)::bigint FROM f_pick
            UNION ALL SELECT CASE WHEN (SELECT holds FROM exact) THEN 'counts.unserved_tickets' ELSE 'uncompared:counts.unserved_tickets' END,
                             (SELECT count(*) FROM f_tickets) - count(*)::bigint FROM f_pick
            """))
    }
}
