import BillingCore
import Postgres

/// The suspension sweep's SQL: which customers have anything to do, the set-based load of a
/// batch's inputs, the run-wide count of suspensions for the blast radius, and the guarded
/// bulk writes. Every statement takes the batch as `customer_id = ANY($1::bigint[])`.
public enum SuspensionSweepStore {
    /// Customers with something to do: an unpaid issued invoice; a paid one whose completed
    /// payments and current credit no longer cover it (a payment reversed, deleted, reduced or
    /// moved); a credit note with credit not applied yet; a current credit application that no
    /// longer holds (its invoice or credit note is no longer issued or paid, or payments plus
    /// credit exceed the invoice's total); a service the sweep suspended; or a group membership
    /// that disagrees with the customer's active services.
    public static func candidates(_ db: PostgresConnection, filter: [Int64]?) throws -> [Int64] {
        try db.query("""
            WITH candidates AS (
                SELECT i.customer_id FROM invoices i
                 WHERE i.status = 'issued' AND i.total > 0
                UNION
                SELECT i.customer_id FROM invoices i
                 WHERE i.status = 'paid' AND i.total > 0
                   AND i.total > COALESCE((SELECT sum(p.amount) FROM payments p
                                            WHERE p.invoice_id = i.id AND p.customer_id = i.customer_id
                                              AND p.status = 'completed' AND p.currency = i.currency), 0)
                               + COALESCE((SELECT sum(a.amount) FROM credit_applications a
                                            WHERE a.customer_id = i.customer_id AND a.invoice_id = i.id
                                              AND a.superseded_at IS NULL), 0)
                UNION
                SELECT n.customer_id FROM invoices n
                 WHERE n.kind = 'adjustment' AND n.total < 0 AND n.status IN ('issued', 'paid')
                   AND -n.total > COALESCE((SELECT sum(a.amount) FROM credit_applications a
                                             WHERE a.customer_id = n.customer_id AND a.credit_note_id = n.id
                                               AND a.superseded_at IS NULL), 0)
                UNION
                SELECT a.customer_id FROM credit_applications a
                  JOIN invoices i ON i.id = a.invoice_id AND i.customer_id = a.customer_id
                  JOIN invoices n ON n.id = a.credit_note_id AND n.customer_id = a.customer_id
                 WHERE a.superseded_at IS NULL
                   AND (i.status NOT IN ('issued', 'paid') OR n.status NOT IN ('issued', 'paid')
                        OR i.total < COALESCE((SELECT sum(p.amount) FROM payments p
                                                WHERE p.invoice_id = i.id AND p.customer_id = i.customer_id
                                                  AND p.status = 'completed' AND p.currency = i.currency), 0)
                                   + (SELECT sum(c.amount) FROM credit_applications c
                                       WHERE c.customer_id = i.customer_id AND c.invoice_id = i.id AND c.superseded_at IS NULL))
                UNION
                SELECT s.customer_id FROM services s
                 WHERE s.status = 'suspended' AND s.suspend_reason = 'overdue'
                UNION
                SELECT s.customer_id FROM services s JOIN plans pl ON pl.id = s.plan_id
                 WHERE s.status = 'active' AND pl.group_id IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM customer_group_members m
                                    WHERE m.customer_id = s.customer_id AND m.group_id = pl.group_id)
                UNION
                SELECT m.customer_id FROM customer_group_members m
                 WHERE m.managed
                   AND NOT EXISTS (SELECT 1 FROM services s JOIN plans pl ON pl.id = s.plan_id
                                    WHERE s.customer_id = m.customer_id AND s.status = 'active' AND pl.group_id = m.group_id)
            )
            SELECT customer_id FROM candidates
             WHERE ($1::bigint[] IS NULL OR customer_id = ANY($1))
             ORDER BY customer_id
            """, [filter]).map { try $0.decode(0, as: Int64.self) }
    }

    /// An active service the run would suspend, with the invoices that make it overdue.
    public struct PendingSuspension: Sendable, Equatable {
        public let customerID: Int64
        public let customerName: String
        public let serviceID: Int64
        public let planCode: String
        public let invoiceIDs: [Int64]
    }

    /// Every active service the whole run would suspend (all batches), in one statement: the
    /// planner's overdue rule in SQL, for the blast radius before anything is written. Customers
    /// with an unknown time zone are left out (the runner skips them).
    public static func pendingSuspensions(_ db: PostgresConnection, filter: [Int64]?, asOf: Instant) throws -> [PendingSuspension] {
        try db.query("""
            -- Unpaid invoices first (few), then their items: never the other way round.
            -- Credit counts as the last sweep stored it (credit_applications): see the doc's
            -- "Blast radius" for what that means for a run that reallocates credit.
            WITH open AS MATERIALIZED (
                SELECT i.customer_id, i.id, i.currency, i.total, i.due_on, i.issued_at,
                       COALESCE((SELECT sum(a.amount) FROM credit_applications a
                                  WHERE a.customer_id = i.customer_id AND a.invoice_id = i.id AND a.superseded_at IS NULL), 0) AS credited
                  FROM invoices i
                 WHERE i.status IN ('issued', 'paid') AND i.total > 0 AND ($1::bigint[] IS NULL OR i.customer_id = ANY($1))
            ),
            zones AS MATERIALIZED (SELECT name FROM pg_timezone_names),
            local AS MATERIALIZED (
                SELECT c.id, c.name, c.timezone,
                       CASE WHEN EXISTS (SELECT 1 FROM zones z WHERE z.name = c.timezone)
                            THEN ($2::timestamptz AT TIME ZONE c.timezone)::date END AS as_of
                  FROM customers c
                 WHERE c.id IN (SELECT customer_id FROM open)
            ),
            unpaid AS MATERIALIZED (
                SELECT o.customer_id, l.name, o.id,
                       COALESCE(o.due_on, (o.issued_at AT TIME ZONE l.timezone)::date) AS due_on, l.as_of
                  FROM open o
                  JOIN local l ON l.id = o.customer_id AND l.as_of IS NOT NULL
                  -- Joins on (customer_id, invoice_id), not correlated subqueries over a CTE,
                  -- which Citus refuses (docs/scale-out.md).
                  LEFT JOIN (SELECT p.customer_id, p.invoice_id, p.currency, sum(p.amount) AS paid FROM payments p
                              WHERE p.status = 'completed' AND p.invoice_id IN (SELECT id FROM open)
                              GROUP BY p.customer_id, p.invoice_id, p.currency) p
                    ON p.customer_id = o.customer_id AND p.invoice_id = o.id AND p.currency = o.currency
                 WHERE o.total > o.credited + COALESCE(p.paid, 0)
            ),
            unpaid_services AS MATERIALIZED (
                SELECT u.customer_id, u.name, u.id, u.due_on, u.as_of, b.service_id
                  FROM unpaid u
                  JOIN (SELECT DISTINCT b.customer_id, b.invoice_id, b.service_id FROM billable_items b
                         WHERE b.service_id IS NOT NULL AND b.invoice_id IN (SELECT id FROM unpaid)) b
                    ON b.customer_id = u.customer_id AND b.invoice_id = u.id
            )
            SELECT u.customer_id, u.name, s.id, pl.code, array_agg(u.id ORDER BY u.id)
              FROM unpaid_services u
              JOIN services s ON s.id = u.service_id
              JOIN plans pl ON pl.id = s.plan_id
             WHERE s.customer_id = u.customer_id AND s.status = 'active' AND u.as_of >= u.due_on + pl.grace_days
             GROUP BY u.customer_id, u.name, s.id, pl.code
             ORDER BY u.customer_id, s.id
            """, [filter, asOf]).map { row in
            PendingSuspension(
                customerID: try row.decode(0), customerName: try row.decode(1), serviceID: try row.decode(2),
                planCode: try row.decode(3), invoiceIDs: try row.decode(4, as: [Int64].self))
        }
    }

    /// Loads the inputs of a batch: five statements whatever its size.
    public static func load(_ db: PostgresConnection, customers: [CustomerRecord]) throws -> [Int64: SuspensionSweepInput] {
        var inputs: [Int64: SuspensionSweepInput] = [:]
        let cutover = try BillingCutover.load(db)
        for customer in customers {
            inputs[customer.id] = SuspensionSweepInput(customerID: customer.id, localAsOf: customer.localAsOf)
            inputs[customer.id]?.cutover = cutover
        }
        let ids = customers.map(\.id)
        guard !ids.isEmpty else { return inputs }

        // Issued invoices, paid ones whose completed payments no longer cover them, and paid
        // ones with credit applied (the allocation may move it), with their payments and the
        // services their items are for.
        let invoices = try db.query("""
            WITH open AS MATERIALIZED (
                SELECT i.customer_id, i.id, i.kind, i.currency, i.status, i.total, i.due_on, i.period_start, i.period_end,
                       (i.issued_at AT TIME ZONE c.timezone)::date AS issued_on,
                       COALESCE(p.paid, 0) AS paid, p.completed_ids, p.reversed_ids, p.foreign_ids, p.foreign_currencies
                  FROM invoices i
                  JOIN customers c ON c.id = i.customer_id
                  LEFT JOIN LATERAL (
                      SELECT sum(p.amount) FILTER (WHERE p.status = 'completed' AND p.currency = i.currency)::bigint AS paid,
                             array_agg(p.id ORDER BY p.id) FILTER (WHERE p.status = 'completed' AND p.currency = i.currency) AS completed_ids,
                             array_agg(p.id ORDER BY p.id) FILTER (WHERE p.status = 'reversed') AS reversed_ids,
                             array_agg(p.id ORDER BY p.id) FILTER (WHERE p.status = 'completed' AND p.currency <> i.currency) AS foreign_ids,
                             array_agg(p.currency ORDER BY p.id) FILTER (WHERE p.status = 'completed' AND p.currency <> i.currency) AS foreign_currencies
                        FROM payments p
                       WHERE p.invoice_id = i.id AND p.customer_id = i.customer_id
                  ) p ON true
                 WHERE i.customer_id = ANY($1::bigint[]) AND i.total > 0 AND i.status IN ('issued', 'paid')
            )
            SELECT o.customer_id, o.id, o.kind, o.currency, o.status, o.total, o.due_on, o.issued_on, o.paid,
                   COALESCE(o.completed_ids, '{}'), COALESCE(o.reversed_ids, '{}'),
                   COALESCE(o.foreign_ids, '{}'), COALESCE(o.foreign_currencies, '{}'),
                   COALESCE(b.service_ids, '{}'), COALESCE(b.without_service, false), o.period_start, o.period_end
              FROM open o
              -- Joins on (customer_id, invoice_id), not LATERAL or correlated subqueries over a
              -- CTE, which Citus refuses (docs/scale-out.md).
              LEFT JOIN (
                  SELECT b.customer_id, b.invoice_id,
                         array_agg(DISTINCT b.service_id ORDER BY b.service_id) FILTER (WHERE b.service_id IS NOT NULL) AS service_ids,
                         bool_or(b.service_id IS NULL) AS without_service
                    FROM billable_items b
                   WHERE b.invoice_id IN (SELECT id FROM open)
                   GROUP BY b.customer_id, b.invoice_id
              ) b ON b.customer_id = o.customer_id AND b.invoice_id = o.id
              LEFT JOIN (SELECT DISTINCT a.customer_id, a.invoice_id FROM credit_applications a
                          WHERE a.superseded_at IS NULL AND a.invoice_id IN (SELECT id FROM open)) a
                ON a.customer_id = o.customer_id AND a.invoice_id = o.id
             WHERE o.status = 'issued' OR o.paid < o.total OR a.invoice_id IS NOT NULL
             ORDER BY o.customer_id, o.id
            """, [ids])
        for row in invoices {
            let customerID = try row.decode(0, as: Int64.self)
            let foreignIDs = try row.decode(11, as: [Int64].self)
            let foreignCurrencies = try row.decode(12, as: [CurrencyCode].self)
            guard let status = SuspensionSweepInput.InvoiceStatus(rawValue: try row.decode(4, as: String.self)) else { continue }
            inputs[customerID]?.invoices.append(SuspensionSweepInput.Invoice(
                id: try row.decode(1), kind: try row.decode(2), currency: try row.decode(3), status: status,
                total: try row.decode(5), paid: try row.decode(8),
                completedPaymentIDs: try row.decode(9), reversedPaymentIDs: try row.decode(10),
                foreignPayments: zip(foreignIDs, foreignCurrencies).map { SuspensionSweepInput.ForeignPayment(id: $0, currency: $1) },
                dueOn: try row.decode(6, as: LocalDate?.self), issuedOn: try row.decode(7),
                serviceIDs: try row.decode(13), hasItemsWithoutService: try row.decode(14),
                periodStart: try row.decode(15, as: LocalDate?.self), periodEnd: try row.decode(16, as: LocalDate?.self)))
        }

        for note in try SettlementStore.creditNotes(db, customers: ids) {
            inputs[note.customerID]?.creditNotes.append(note.creditNote)
        }

        // Every application the customers ever had: the current ones to compare with the
        // target, all of them to number the next one of a pair.
        for row in try db.query("""
            SELECT customer_id, id, credit_note_id, invoice_id, currency, amount, superseded_at IS NULL
              FROM credit_applications
             WHERE customer_id = ANY($1::bigint[])
             ORDER BY customer_id, id
            """, [ids]) {
            let customerID = try row.decode(0, as: Int64.self)
            let stored = SuspensionSweepInput.StoredApplication(
                id: try row.decode(1), creditNoteID: try row.decode(2), invoiceID: try row.decode(3),
                currency: try row.decode(4), amount: try row.decode(5))
            inputs[customerID]?.applicationCounts[.init(creditNoteID: stored.creditNoteID, invoiceID: stored.invoiceID), default: 0] += 1
            if try row.decode(6, as: Bool.self) { inputs[customerID]?.applications.append(stored) }
        }

        for row in try db.query("""
            SELECT s.customer_id, s.id, s.plan_id, pl.code, s.status, s.suspend_reason, s.suspended_at,
                   pl.grace_days, pl.group_id, g.name
              FROM services s
              JOIN plans pl ON pl.id = s.plan_id
              LEFT JOIN customer_groups g ON g.id = pl.group_id
             WHERE s.customer_id = ANY($1::bigint[])
             ORDER BY s.customer_id, s.id
            """, [ids]) {
            let customerID = try row.decode(0, as: Int64.self)
            let statusText = try row.decode(4, as: String.self)
            guard let status = SuspensionSweepInput.ServiceStatus(rawValue: statusText) else {
                throw PostgresError.decoding("unknown service status \(statusText.debugDescription)")
            }
            inputs[customerID]?.services.append(SuspensionSweepInput.Service(
                id: try row.decode(1), planID: try row.decode(2), planCode: try row.decode(3), status: status,
                suspendReason: try row.decode(5, as: String?.self), suspendedAt: try row.decode(6, as: Instant?.self),
                graceDays: try row.decode(7), groupID: try row.decode(8, as: Int64?.self), groupName: try row.decode(9, as: String?.self)))
        }

        for row in try db.query("""
            SELECT m.customer_id, m.group_id, g.name, m.managed, m.since
              FROM customer_group_members m JOIN customer_groups g ON g.id = m.group_id
             WHERE m.customer_id = ANY($1::bigint[])
             ORDER BY m.customer_id, m.group_id
            """, [ids]) {
            let customerID = try row.decode(0, as: Int64.self)
            inputs[customerID]?.memberships.append(SuspensionSweepInput.Membership(
                groupID: try row.decode(1), groupName: try row.decode(2), managed: try row.decode(3), since: try row.decode(4)))
        }
        return inputs
    }

    // MARK: - Writes. Each is guarded by the state it expects and returns the rows it changed,
    // so a row changed meanwhile by someone else (or by threshold-topup) is neither changed
    // twice nor audited twice.

    /// Supersedes stored applications that no longer hold; returns the ids changed.
    public static func withdrawApplications(_ db: PostgresConnection, ids: [Int64], customers: [Int64], runID: Int64, asOf: Instant) throws -> Set<Int64> {
        guard !ids.isEmpty else { return [] }
        return Set(try db.query("""
            UPDATE credit_applications SET superseded_at = $3, superseded_run_id = $4
             WHERE id = ANY($1::bigint[]) AND customer_id = ANY($2::bigint[]) AND superseded_at IS NULL
            RETURNING id
            """, [ids, customers, asOf, runID]).map { try $0.decode(0, as: Int64.self) })
    }

    /// A credit application to insert.
    public struct NewApplication: Sendable, Equatable {
        public let customerID: Int64
        public let application: CreditSettlement.Application
        public let sourceKey: String

        public init(customerID: Int64, application: CreditSettlement.Application, sourceKey: String) {
            self.customerID = customerID
            self.application = application
            self.sourceKey = sourceKey
        }
    }

    /// Inserts the applications absent (insert-if-absent on source_key); returns the id of each
    /// one inserted by its source_key.
    public static func insertApplications(_ db: PostgresConnection, _ applications: [NewApplication], runID: Int64, asOf: Instant) throws -> [String: Int64] {
        guard !applications.isEmpty else { return [:] }
        var ids: [String: Int64] = [:]
        for row in try db.query("""
            INSERT INTO credit_applications (customer_id, credit_note_id, invoice_id, amount, currency, rule, source_key, run_id, applied_at)
            SELECT t.customer_id, t.credit_note_id, t.invoice_id, t.amount, t.currency, t.rule, t.source_key, $8, $9
              FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::text[])
                   AS t(customer_id, credit_note_id, invoice_id, amount, currency, rule, source_key)
            ON CONFLICT (customer_id, source_key) DO NOTHING
            RETURNING id, source_key
            """, [
                applications.map(\.customerID), applications.map(\.application.creditNoteID), applications.map(\.application.invoiceID),
                applications.map(\.application.amount), applications.map(\.application.currency.rawValue),
                applications.map(\.application.rule.rawValue), applications.map(\.sourceKey), runID, asOf,
            ]) {
            ids[try row.decode(1, as: String.self)] = try row.decode(0, as: Int64.self)
        }
        return ids
    }

    /// Issued invoices to paid; returns the ids changed.
    public static func markPaid(_ db: PostgresConnection, invoices: [Int64], customers: [Int64]) throws -> Set<Int64> {
        guard !invoices.isEmpty else { return [] }
        return Set(try db.query("""
            UPDATE invoices SET status = 'paid'
             WHERE id = ANY($1::bigint[]) AND customer_id = ANY($2::bigint[]) AND status = 'issued'
            RETURNING id
            """, [invoices, customers]).map { try $0.decode(0, as: Int64.self) })
    }

    /// Paid invoices back to issued; returns the ids changed.
    public static func markUnpaid(_ db: PostgresConnection, invoices: [Int64], customers: [Int64]) throws -> Set<Int64> {
        guard !invoices.isEmpty else { return [] }
        return Set(try db.query("""
            UPDATE invoices SET status = 'issued'
             WHERE id = ANY($1::bigint[]) AND customer_id = ANY($2::bigint[]) AND status = 'paid'
            RETURNING id
            """, [invoices, customers]).map { try $0.decode(0, as: Int64.self) })
    }

    /// Active services to suspended for `overdue` at `asOf`; returns the ids changed.
    public static func suspend(_ db: PostgresConnection, services: [Int64], customers: [Int64], asOf: Instant) throws -> Set<Int64> {
        guard !services.isEmpty else { return [] }
        return Set(try db.query("""
            UPDATE services SET status = 'suspended', suspend_reason = 'overdue', suspended_at = $3
             WHERE id = ANY($1::bigint[]) AND customer_id = ANY($2::bigint[]) AND status = 'active'
            RETURNING id
            """, [services, customers, asOf]).map { try $0.decode(0, as: Int64.self) })
    }

    /// Services suspended for `overdue` back to active; returns the ids changed.
    public static func restore(_ db: PostgresConnection, services: [Int64], customers: [Int64]) throws -> Set<Int64> {
        guard !services.isEmpty else { return [] }
        return Set(try db.query("""
            UPDATE services SET status = 'active', suspend_reason = NULL, suspended_at = NULL
             WHERE id = ANY($1::bigint[]) AND customer_id = ANY($2::bigint[])
               AND status = 'suspended' AND suspend_reason = 'overdue'
            RETURNING id
            """, [services, customers]).map { try $0.decode(0, as: Int64.self) })
    }

    public struct Membership: Hashable, Sendable {
        public let customerID: Int64
        public let groupID: Int64

        public init(customerID: Int64, groupID: Int64) {
            self.customerID = customerID
            self.groupID = groupID
        }
    }

    /// Adds managed memberships that are absent; returns those added.
    public static func addMemberships(_ db: PostgresConnection, _ memberships: [Membership], since: Instant) throws -> Set<Membership> {
        guard !memberships.isEmpty else { return [] }
        return Set(try db.query("""
            INSERT INTO customer_group_members (customer_id, group_id, managed, since)
            SELECT t.customer_id, t.group_id, true, $3
              FROM unnest($1::bigint[], $2::bigint[]) AS t(customer_id, group_id)
            ON CONFLICT (customer_id, group_id) DO NOTHING
            RETURNING customer_id, group_id
            """, [memberships.map(\.customerID), memberships.map(\.groupID), since]).map {
            Membership(customerID: try $0.decode(0), groupID: try $0.decode(1))
        })
    }

    /// Removes managed memberships (never staff-added ones); returns those removed.
    public static func removeMemberships(_ db: PostgresConnection, _ memberships: [Membership]) throws -> Set<Membership> {
        guard !memberships.isEmpty else { return [] }
        return Set(try db.query("""
            DELETE FROM customer_group_members m
             USING unnest($1::bigint[], $2::bigint[]) AS t(customer_id, group_id)
             WHERE m.customer_id = t.customer_id AND m.group_id = t.group_id AND m.managed
            RETURNING m.customer_id, m.group_id
            """, [memberships.map(\.customerID), memberships.map(\.groupID)]).map {
            Membership(customerID: try $0.decode(0), groupID: try $0.decode(1))
        })
    }

    /// One `audit_events` row (no source_key: the sweep's events may recur).
    public struct AuditEvent: Sendable, Equatable {
        public let customerID: Int64
        public let entity: String
        public let entityID: Int64
        public let event: String
        public let detail: JSONValue

        public init(customerID: Int64, entity: String, entityID: Int64, event: String, detail: JSONValue) {
            self.customerID = customerID
            self.entity = entity
            self.entityID = entityID
            self.event = event
            self.detail = detail
        }
    }

    /// Inserts the events in one statement; returns their ids in the order given.
    public static func insertEvents(_ db: PostgresConnection, runID: Int64, at: Instant, _ events: [AuditEvent]) throws -> [Int64] {
        guard !events.isEmpty else { return [] }
        let rows = try db.query("""
            INSERT INTO audit_events (run_id, at, customer_id, entity, entity_id, event, detail)
            SELECT $1, $2, t.customer_id, t.entity, t.entity_id, t.event, t.detail
              FROM unnest($3::bigint[], $4::text[], $5::bigint[], $6::text[], $7::jsonb[]) WITH ORDINALITY
                   AS t(customer_id, entity, entity_id, event, detail, n)
             ORDER BY t.n
            RETURNING id, customer_id, entity, entity_id, event
            """, [runID, at, events.map(\.customerID), events.map(\.entity), events.map(\.entityID), events.map(\.event), events.map(\.detail)])
        var ids: [String: Int64] = [:]
        for row in rows {
            let key = "\(try row.decode(1, as: Int64.self))/\(try row.decode(2, as: String.self))/\(try row.decode(3, as: Int64.self))/\(try row.decode(4, as: String.self))"
            ids[key] = try row.decode(0, as: Int64.self)
        }
        return try events.map { event in
            guard let id = ids["\(event.customerID)/\(event.entity)/\(event.entityID)/\(event.event)"] else {
                throw PostgresError.usage("INSERT INTO audit_events returned no id for \(event.event) of \(event.entity) \(event.entityID)")
            }
            return id
        }
    }
}
