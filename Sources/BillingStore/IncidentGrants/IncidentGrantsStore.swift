import BillingCore
import Postgres

/// SQL for incident-grants: which customers have something to do (one query), the inputs of a
/// batch (a few set-based queries), and idempotent bulk writes of the plans.
public enum IncidentGrantsStore {
    /// What the customer query needs of the job's parameters.
    public struct Switches: Sendable {
        public var registration: Bool
        public var firstPayment: Bool
        public var funds: Bool
        public var fundsStep: [CurrencyCode: Int64]

        public init(_ rules: IncidentGrantRules) {
            registration = rules.onRegistration > 0
            firstPayment = rules.onFirstPayment > 0
            funds = rules.fundsIncidents > 0
            fundsStep = rules.fundsStep
        }
    }

    /// The customers with something to do as of `asOf`, ascending. A superset is harmless (the
    /// planner then finds nothing); a customer with work must never be missed. A customer whose
    /// time zone PostgreSQL does not know is judged by the latest local date on Earth (UTC+14)
    /// so that the runner can skip it with the reason.
    public static func customers(_ db: PostgresConnection, filter: [Int64]?, asOf: Instant, switches: Switches) throws -> [Int64] {
        let steps = switches.fundsStep.sorted { $0.key < $1.key }
        return try db.query("""
            WITH zones AS MATERIALIZED (SELECT name FROM pg_timezone_names),
            cust AS MATERIALIZED (
                SELECT c.id, c.currency, c.registered_at,
                       CASE WHEN c.timezone IN (SELECT name FROM zones) THEN ($2::timestamptz AT TIME ZONE c.timezone)::date
                            ELSE ($2::timestamptz + interval '14 hours')::date END AS local_as_of
                FROM customers c
                WHERE ($1::bigint[] IS NULL OR c.id = ANY($1))
            ),
            funds AS (
                SELECT c.id, c.currency, coalesce(f.granted, 0) AS granted, coalesce(t.total_as_of, 0) AS total_as_of
                FROM cust c
                LEFT JOIN (
                    SELECT g.customer_id, g.funds_currency, sum(g.funds_amount) AS granted
                    FROM incident_grants g
                    WHERE g.source = 'funds' AND g.revoked_at IS NULL
                      AND ($1::bigint[] IS NULL OR g.customer_id = ANY($1))
                    GROUP BY g.customer_id, g.funds_currency
                ) f ON f.customer_id = c.id AND f.funds_currency = c.currency
                LEFT JOIN (
                    SELECT p.customer_id, p.currency, sum(p.amount) AS total_as_of
                    FROM payments p
                    WHERE p.invoice_id IS NULL AND p.status = 'completed' AND p.received_at <= $2
                      AND ($1::bigint[] IS NULL OR p.customer_id = ANY($1))
                    GROUP BY p.customer_id, p.currency
                ) t ON t.customer_id = c.id AND t.currency = c.currency
            )
            -- an incident plan whose latest started period (or lifetime grant) is not granted yet, or
            -- whose term is invalid (the customer is then skipped with the reason)
            SELECT s.customer_id
            FROM services s
            JOIN plans p ON p.id = s.plan_id
            JOIN cust c ON c.id = s.customer_id
            CROSS JOIN LATERAL (SELECT least(c.local_as_of, s.ends_on - 1) AS last_day) l
            CROSS JOIN LATERAL (
                SELECT ((extract(year FROM l.last_day) - extract(year FROM s.starts_on)) * 12
                        + extract(month FROM l.last_day) - extract(month FROM s.starts_on))::integer
                       / nullif(p.period_months, 0) AS k
            ) m
            CROSS JOIN LATERAL (
                SELECT CASE WHEN (s.starts_on + make_interval(months => m.k * p.period_months))::date <= l.last_day
                            THEN (s.starts_on + make_interval(months => m.k * p.period_months))::date
                            ELSE (s.starts_on + make_interval(months => (m.k - 1) * p.period_months))::date END AS latest_start
            ) ls
            WHERE s.status = 'active' AND p.billing = 'incidents'
              AND ((s.ends_on IS NOT NULL AND s.ends_on < s.starts_on)
                   OR (p.incidents_per_period > 0 AND s.starts_on <= c.local_as_of
                       AND (s.ends_on IS NULL OR s.starts_on < s.ends_on)
                       AND NOT EXISTS (
                           SELECT 1 FROM incident_grants g
                           WHERE g.customer_id = s.customer_id AND g.source_key = CASE WHEN p.period_months = 0 THEN 'ig:plan-lifetime:' || s.id
                                                     ELSE 'ig:period:' || s.id || ':' || to_char(ls.latest_start, 'YYYY-MM-DD') END
                             AND g.revoked_at IS NULL))
                   -- as many active period grants due by as-of as periods have started (a term
                   -- corrected to start earlier makes earlier periods due)
                   OR (p.incidents_per_period > 0 AND p.period_months > 0 AND s.starts_on <= c.local_as_of
                       AND (s.ends_on IS NULL OR s.starts_on < s.ends_on)
                       AND (SELECT count(*) FROM incident_grants g
                             WHERE g.customer_id = s.customer_id AND g.service_id = s.id AND g.source = 'plan_period'
                               AND g.revoked_at IS NULL AND g.valid_from <= c.local_as_of)
                           <> CASE WHEN ls.latest_start = (s.starts_on + make_interval(months => m.k * p.period_months))::date
                                   THEN m.k + 1 ELSE m.k END))
            -- a service grant that may no longer be due (docs/design.md §9): its service is no longer an
            -- active incidents service, or the grant no longer fits the service's term and plan
            UNION
            SELECT g.customer_id
            FROM incident_grants g
            JOIN cust c ON c.id = g.customer_id
            LEFT JOIN services s ON s.id = g.service_id AND s.customer_id = g.customer_id
            LEFT JOIN plans p ON p.id = s.plan_id
            CROSS JOIN LATERAL (
                SELECT ((extract(year FROM g.valid_from) - extract(year FROM s.starts_on)) * 12
                        + extract(month FROM g.valid_from) - extract(month FROM s.starts_on))::integer
                       / nullif(p.period_months, 0) AS k
            ) k
            WHERE g.source IN ('plan_period', 'plan_lifetime') AND g.revoked_at IS NULL AND g.valid_from <= c.local_as_of
              AND (s.id IS NULL OR s.status <> 'active' OR p.billing <> 'incidents' OR p.incidents_per_period <= 0
                   OR g.quantity <> p.incidents_per_period
                   OR g.valid_from < s.starts_on OR g.valid_from >= s.ends_on
                   OR (g.source = 'plan_lifetime') <> (p.period_months = 0)
                   OR (g.source = 'plan_lifetime' AND g.valid_from <> s.starts_on)
                   OR (g.source = 'plan_period' AND p.period_months > 0 AND (
                         g.valid_from <> (s.starts_on + make_interval(months => k.k * p.period_months))::date
                         OR g.valid_until IS DISTINCT FROM (s.starts_on + make_interval(months => (k.k + 1) * p.period_months))::date)))
            -- a use that no longer fits: its ticket was re-dated (used_at is the opened_at it was made
            -- for), opened after as-of, or outside the grant's validity
            UNION
            SELECT u.customer_id
            FROM incident_uses u
            JOIN cust c ON c.id = u.customer_id
            JOIN customers cc ON cc.id = u.customer_id
            JOIN tickets t ON t.id = u.ticket_id AND t.customer_id = u.customer_id
            JOIN incident_grants g ON g.customer_id = u.customer_id AND g.id = u.grant_id
            WHERE u.returned_at IS NULL
              AND (t.opened_at > $2 OR t.opened_at <> u.used_at OR (t.opened_at AT TIME ZONE cc.timezone)::date < g.valid_from
                   OR (t.opened_at AT TIME ZONE cc.timezone)::date >= g.valid_until)
            -- a first-payment grant whose payment is no longer the first completed one
            UNION
            SELECT g.customer_id
            FROM incident_grants g JOIN cust c ON c.id = g.customer_id
            WHERE $4::boolean AND g.source = 'first_payment' AND g.revoked_at IS NULL
              AND g.payment_id IS DISTINCT FROM (SELECT p.id FROM payments p
                                                 WHERE p.customer_id = g.customer_id AND p.status = 'completed' AND p.received_at <= $2
                                                 ORDER BY p.received_at, p.id LIMIT 1)
            -- a registration grant whose date no longer fits
            UNION
            SELECT g.customer_id
            FROM incident_grants g JOIN cust c ON c.id = g.customer_id JOIN customers cc ON cc.id = g.customer_id
            WHERE $3::boolean AND g.source = 'registration' AND g.revoked_at IS NULL
              AND g.valid_from <> (cc.registered_at AT TIME ZONE cc.timezone)::date
            -- funds grants that no longer match the funds: another total of whole steps, or a
            -- payment received before the latest grant that no grant names (added late, or
            -- carried over; re-attribution is the planner's to judge)
            UNION
            SELECT f.id FROM funds f JOIN unnest($6::text[], $7::bigint[]) AS st(currency, step) ON st.currency = f.currency
            WHERE $5::boolean AND f.granted <> (f.total_as_of / st.step) * st.step
            UNION
            SELECT p.customer_id FROM payments p JOIN cust c ON c.id = p.customer_id
            WHERE $5::boolean AND p.invoice_id IS NULL AND p.status = 'completed' AND p.received_at <= $2 AND p.currency = c.currency
              AND NOT EXISTS (SELECT 1 FROM incident_grants g WHERE g.customer_id = p.customer_id AND g.payment_id = p.id
                                                              AND g.source = 'funds' AND g.revoked_at IS NULL)
              AND EXISTS (SELECT 1 FROM incident_grants g WHERE g.customer_id = p.customer_id AND g.source = 'funds'
                                                           AND g.revoked_at IS NULL AND g.payment_id IS NOT NULL
                                                           AND g.valid_from > (p.received_at AT TIME ZONE 'UTC')::date - 1)
            -- a ticket that requires an incident and holds none
            UNION
            SELECT t.customer_id
            FROM tickets t JOIN cust c ON c.id = t.customer_id
            WHERE t.requires_incident AND t.opened_at <= $2
              AND NOT EXISTS (SELECT 1 FROM incident_uses u
                              WHERE u.customer_id = t.customer_id AND u.ticket_id = t.id AND u.returned_at IS NULL)
            -- a use to return: its ticket no longer requires an incident (or is gone), or its grant is revoked
            UNION
            SELECT u.customer_id
            FROM incident_uses u JOIN cust c ON c.id = u.customer_id
            WHERE u.returned_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.id = u.ticket_id AND t.customer_id = u.customer_id AND t.requires_incident)
            UNION
            SELECT g.customer_id
            FROM incident_grants g
            JOIN cust c ON c.id = g.customer_id
            WHERE g.revoked_at IS NOT NULL
              AND EXISTS (SELECT 1 FROM incident_uses u WHERE u.customer_id = g.customer_id AND u.grant_id = g.id AND u.returned_at IS NULL)
            -- an account grant whose payment was reversed (whatever the switches say now)
            UNION
            SELECT g.customer_id
            FROM incident_grants g
            JOIN cust c ON c.id = g.customer_id
            LEFT JOIN payments p ON p.id = g.payment_id AND p.customer_id = g.customer_id
            WHERE g.source IN ('first_payment', 'funds') AND g.revoked_at IS NULL AND g.payment_id IS NOT NULL
              AND p.status IS DISTINCT FROM 'completed'
            -- funds grants the completed funds no longer cover
            UNION
            SELECT f.customer_id
            FROM (
                SELECT g.customer_id, g.funds_currency, sum(g.funds_amount) AS granted
                FROM incident_grants g
                WHERE g.source = 'funds' AND g.revoked_at IS NULL
                  AND ($1::bigint[] IS NULL OR g.customer_id = ANY($1))
                GROUP BY g.customer_id, g.funds_currency
            ) f
            JOIN cust c ON c.id = f.customer_id AND c.currency = f.funds_currency
            WHERE f.granted > (SELECT coalesce(sum(p.amount), 0) FROM payments p
                               WHERE p.customer_id = f.customer_id AND p.invoice_id IS NULL AND p.status = 'completed' AND p.currency = c.currency)
            -- on_registration
            UNION
            SELECT c.id FROM cust c
            WHERE $3::boolean AND c.registered_at <= $2
              AND NOT EXISTS (SELECT 1 FROM incident_grants g WHERE g.customer_id = c.id AND g.source_key = 'ig:registration:' || c.id)
            -- on_first_payment: a completed payment and no active first-payment grant
            UNION
            SELECT c.id FROM cust c
            WHERE $4::boolean
              AND EXISTS (SELECT 1 FROM payments p WHERE p.customer_id = c.id AND p.status = 'completed' AND p.received_at <= $2)
              AND NOT EXISTS (SELECT 1 FROM incident_grants g
                              WHERE g.customer_id = c.id AND g.source = 'first_payment' AND g.revoked_at IS NULL)
            -- funds: a whole step not granted yet
            UNION
            SELECT f.id FROM funds f JOIN unnest($6::text[], $7::bigint[]) AS st(currency, step) ON st.currency = f.currency
            WHERE $5::boolean AND f.total_as_of - f.granted >= st.step
            -- funds that earn nothing (another currency, or no step for it): reported
            UNION
            SELECT p.customer_id FROM payments p JOIN cust c ON c.id = p.customer_id
            WHERE $5::boolean AND p.invoice_id IS NULL AND p.status = 'completed' AND p.received_at <= $2
              AND (p.currency <> c.currency OR NOT (p.currency = ANY($6::text[])))
            ORDER BY 1
            """, [filter, asOf, switches.registration, switches.firstPayment, switches.funds,
                  steps.map(\.key.rawValue), steps.map(\.value)]).map { try $0.decode(0, as: Int64.self) }
    }

    /// The inputs of a batch of customers: six set-based queries, whatever the batch size.
    public static func load(_ db: PostgresConnection, customers: [CustomerRecord], asOf: Instant, loadFunds: Bool) throws -> [Int64: IncidentGrantsInput] {
        let ids = customers.map(\.id)
        guard !ids.isEmpty else { return [:] }

        var registeredOn: [Int64: LocalDate] = [:]
        var firstPayment: [Int64: IncidentGrantsInput.Payment] = [:]
        var fundsTotal: [Int64: Int64] = [:]
        for row in try db.query("""
            SELECT c.id,
                   CASE WHEN c.registered_at <= $2 THEN (c.registered_at AT TIME ZONE c.timezone)::date END,
                   fp.id, fp.amount, fp.currency, fp.received_at, (fp.received_at AT TIME ZONE c.timezone)::date,
                   (SELECT coalesce(sum(p.amount), 0) FROM payments p
                    WHERE p.customer_id = c.id AND p.invoice_id IS NULL AND p.status = 'completed' AND p.currency = c.currency)::bigint
            FROM customers c
            LEFT JOIN LATERAL (
                SELECT p.id, p.amount, p.currency, p.received_at FROM payments p
                WHERE p.customer_id = c.id AND p.status = 'completed' AND p.received_at <= $2
                ORDER BY p.received_at, p.id LIMIT 1
            ) fp ON true
            WHERE c.id = ANY($1::bigint[])
            """, [ids, asOf]) {
            let id = try row.decode(0, as: Int64.self)
            registeredOn[id] = try row.decode(1, as: LocalDate?.self)
            if let paymentID = try row.decode(2, as: Int64?.self) {
                firstPayment[id] = .init(id: paymentID, amount: try row.decode(3), currency: try row.decode(4),
                                         receivedAt: try row.decode(5), receivedOn: try row.decode(6))
            }
            fundsTotal[id] = try row.decode(7, as: Int64.self)
        }

        var fundsPayments: [Int64: [IncidentGrantsInput.Payment]] = [:]
        if loadFunds {
            for row in try db.query("""
                SELECT p.customer_id, p.id, p.amount, p.currency, p.received_at, (p.received_at AT TIME ZONE c.timezone)::date
                FROM payments p JOIN customers c ON c.id = p.customer_id
                WHERE p.customer_id = ANY($1::bigint[]) AND p.invoice_id IS NULL AND p.status = 'completed' AND p.received_at <= $2
                ORDER BY p.customer_id, p.received_at, p.id
                """, [ids, asOf]) {
                fundsPayments[try row.decode(0, as: Int64.self), default: []].append(.init(
                    id: try row.decode(1), amount: try row.decode(2), currency: try row.decode(3),
                    receivedAt: try row.decode(4), receivedOn: try row.decode(5)))
            }
        }

        var services: [Int64: [IncidentGrantsInput.Service]] = [:]
        for row in try db.query("""
            SELECT s.customer_id, s.id, p.period_months, p.incidents_per_period, s.starts_on, s.ends_on
            FROM services s JOIN plans p ON p.id = s.plan_id
            WHERE s.customer_id = ANY($1::bigint[]) AND s.status = 'active' AND p.billing = 'incidents'
            ORDER BY s.customer_id, s.id
            """, [ids]) {
            services[try row.decode(0, as: Int64.self), default: []].append(.init(
                id: try row.decode(1), periodMonths: try row.decode(2), incidentsPerPeriod: try row.decode(3),
                startsOn: try row.decode(4), endsOn: try row.decode(5, as: LocalDate?.self)))
        }

        var grants: [Int64: [IncidentGrantsInput.Grant]] = [:]
        for row in try db.query("""
            SELECT g.customer_id, g.id, g.service_id, g.quantity, g.lifetime, g.valid_from, g.valid_until, g.source, g.source_key,
                   g.revoked_at IS NOT NULL, coalesce(u.active, 0), g.payment_id, p.status, p.id IS NOT NULL,
                   g.funds_amount, g.funds_currency
            FROM incident_grants g
            LEFT JOIN payments p ON p.id = g.payment_id AND p.customer_id = g.customer_id
            LEFT JOIN (
                SELECT u.grant_id, count(*) AS active FROM incident_uses u
                WHERE u.customer_id = ANY($1::bigint[]) AND u.returned_at IS NULL
                GROUP BY u.grant_id
            ) u ON u.grant_id = g.id
            WHERE g.customer_id = ANY($1::bigint[])
            ORDER BY g.customer_id, g.id
            """, [ids]) {
            let paymentID = try row.decode(11, as: Int64?.self)
            let payment: IncidentGrantsInput.PaymentState
            if paymentID == nil {
                payment = .none
            } else if try !row.decode(13, as: Bool.self) {
                payment = .missing
            } else {
                payment = try row.decode(12, as: String.self) == "completed" ? .completed : .reversed
            }
            let sourceText = try row.decode(7, as: String.self)
            guard let source = IncidentGrantSource(rawValue: sourceText) else {
                throw PostgresError.decoding("unknown incident grant source \(sourceText.debugDescription)")
            }
            grants[try row.decode(0, as: Int64.self), default: []].append(.init(
                id: try row.decode(1), serviceID: try row.decode(2, as: Int64?.self), quantity: try row.decode(3),
                lifetime: try row.decode(4), validFrom: try row.decode(5), validUntil: try row.decode(6, as: LocalDate?.self),
                source: source, sourceKey: try row.decode(8), revoked: try row.decode(9), activeUses: try row.decode(10),
                paymentID: paymentID, payment: payment, fundsAmount: try row.decode(14, as: Int64?.self),
                fundsCurrency: try row.decode(15, as: CurrencyCode?.self)))
        }

        // Every use not returned: the planner recomputes which ticket holds which grant from
        // today's grants and tickets (docs/design.md §9) and returns what no longer holds. A ticket
        // opened after as-of (re-dated) does not require one yet.
        // The services below are joined on (customer_id, id), as Citus requires; the customer
        // of a ticket's service that is another customer's (a data defect the planner reports)
        // comes from this lookup by id instead.
        var serviceOwners: [Int64: Int64] = [:]
        for row in try db.query("""
            SELECT s.id, s.customer_id FROM services s
             WHERE s.id IN (SELECT t.service_id FROM tickets t WHERE t.customer_id = ANY($1::bigint[]) AND t.service_id IS NOT NULL)
            """, [ids]) {
            serviceOwners[try row.decode(0, as: Int64.self)] = try row.decode(1, as: Int64.self)
        }
        func serviceCustomer(_ row: PostgresRow, service: Int, customer: Int) throws -> Int64? {
            if let owner = try row.decode(customer, as: Int64?.self) { return owner }
            return try row.decode(service, as: Int64?.self).flatMap { serviceOwners[$0] }
        }

        var uses: [Int64: [IncidentGrantsInput.ActiveUse]] = [:]
        for row in try db.query("""
            SELECT u.customer_id, u.id, u.grant_id, u.ticket_id, t.id IS NOT NULL, coalesce(t.requires_incident AND t.opened_at <= $2, false),
                   t.opened_at, (t.opened_at AT TIME ZONE c.timezone)::date, t.service_id, s.customer_id,
                   (SELECT count(*) FROM incident_uses x WHERE x.customer_id = u.customer_id AND x.ticket_id = u.ticket_id),
                   u.used_at, u.source_key
            FROM incident_uses u
            JOIN customers c ON c.id = u.customer_id
            LEFT JOIN tickets t ON t.id = u.ticket_id AND t.customer_id = u.customer_id
            LEFT JOIN services s ON s.customer_id = t.customer_id AND s.id = t.service_id
            WHERE u.customer_id = ANY($1::bigint[]) AND u.returned_at IS NULL
            ORDER BY u.customer_id, u.id
            """, [ids, asOf]) {
            var ticket: IncidentGrantsInput.Ticket?
            if try row.decode(4, as: Bool.self) {
                ticket = .init(id: try row.decode(3), openedAt: try row.decode(6), openedOn: try row.decode(7), useCount: try row.decode(10),
                               serviceID: try row.decode(8, as: Int64?.self), serviceCustomerID: try serviceCustomer(row, service: 8, customer: 9))
            }
            uses[try row.decode(0, as: Int64.self), default: []].append(.init(
                id: try row.decode(1), grantID: try row.decode(2), ticketID: try row.decode(3), ticket: ticket,
                ticketRequiresIncident: try row.decode(5), usedAt: try row.decode(11, as: Instant.self), sourceKey: try row.decode(12)))
        }

        var tickets: [Int64: [IncidentGrantsInput.Ticket]] = [:]
        for row in try db.query("""
            SELECT t.customer_id, t.id, t.opened_at, (t.opened_at AT TIME ZONE c.timezone)::date, t.service_id, s.customer_id,
                   (SELECT count(*) FROM incident_uses x WHERE x.customer_id = t.customer_id AND x.ticket_id = t.id)
            FROM tickets t
            JOIN customers c ON c.id = t.customer_id
            LEFT JOIN services s ON s.customer_id = t.customer_id AND s.id = t.service_id
            WHERE t.customer_id = ANY($1::bigint[]) AND t.requires_incident AND t.opened_at <= $2
            ORDER BY t.customer_id, t.opened_at, t.id
            """, [ids, asOf]) {
            tickets[try row.decode(0, as: Int64.self), default: []].append(.init(
                id: try row.decode(1), openedAt: try row.decode(2), openedOn: try row.decode(3), useCount: try row.decode(6),
                serviceID: try row.decode(4, as: Int64?.self), serviceCustomerID: try serviceCustomer(row, service: 4, customer: 5)))
        }

        var inputs: [Int64: IncidentGrantsInput] = [:]
        let cutover = try BillingCutover.load(db)
        for customer in customers {
            inputs[customer.id] = IncidentGrantsInput(
                customerID: customer.id, currency: customer.currency.code, localAsOf: customer.localAsOf,
                registeredOn: registeredOn[customer.id] ?? nil, services: services[customer.id] ?? [],
                grants: grants[customer.id] ?? [], activeUses: uses[customer.id] ?? [], tickets: tickets[customer.id] ?? [],
                firstPayment: firstPayment[customer.id], fundsPayments: fundsPayments[customer.id] ?? [],
                fundsTotal: fundsTotal[customer.id] ?? 0
            )
            inputs[customer.id]?.cutover = cutover
        }
        return inputs
    }
}
