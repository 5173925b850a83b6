import BillingCore
import Postgres

/// Loads a batch's monthly-rollup inputs with four set-based queries, whatever the number of
/// customers, services or time entries: services with plans and prices, usage aggregated per
/// (service, local month) by PostgreSQL, the rollup's invoices with their items, and other
/// jobs' uninvoiced items.
public enum MonthlyRollupStore {
    /// One customer's window: the months `[start, end)` of its local calendar.
    public struct Window: Sendable {
        public let customerID: Int64
        public let range: DateRange

        public init(customerID: Int64, range: DateRange) {
            self.customerID = customerID
            self.range = range
        }
    }

    public static func load(_ db: PostgresConnection, windows: [Window]) throws -> MonthlyRollupBatch {
        var batch = MonthlyRollupBatch()
        guard !windows.isEmpty else { return batch }
        let ids = windows.map(\.customerID)
        let starts = windows.map(\.range.start)
        let ends = windows.map(\.range.end)
        try loadServices(db, ids, into: &batch)
        try loadUsage(db, ids, starts, ends, into: &batch)
        try loadInvoices(db, ids, starts, ends, into: &batch)
        try loadOpenItems(db, ids, ends, into: &batch)
        return batch
    }

    private static func loadServices(_ db: PostgresConnection, _ ids: [Int64], into batch: inout MonthlyRollupBatch) throws {
        for row in try db.query("""
            SELECT s.customer_id, s.id, p.id, p.code, p.name, p.billing, p.period_months, p.bill_in_advance,
                   p.included_minutes, s.currency, s.status, s.starts_on, s.ends_on,
                   pp.recurring_fee, pp.setup_fee, pp.hourly_rate
              FROM services s
              JOIN plans p ON p.id = s.plan_id
              LEFT JOIN plan_prices pp ON pp.plan_id = s.plan_id AND pp.currency = s.currency
             WHERE s.customer_id = ANY($1::bigint[])
               AND p.billing IN ('recurring', 'metered') AND s.status <> 'pending'
             ORDER BY s.customer_id, s.id
            """, [ids]) {
            let billing = try row.decode(5, as: String.self)
            guard let kind = RollupService.Billing(rawValue: billing) else { continue }
            var price: RollupPrice?
            if let recurring = try row.decode(13, as: Int64?.self) {
                price = RollupPrice(recurringFee: recurring, setupFee: try row.decode(14), hourlyRate: try row.decode(15))
            }
            let service = RollupService(
                id: try row.decode(1), planID: try row.decode(2), planCode: try row.decode(3), planName: try row.decode(4),
                billing: kind, periodMonths: try row.decode(6), billInAdvance: try row.decode(7),
                includedMinutes: try row.decode(8), currency: try row.decode(9), status: try row.decode(10),
                startsOn: try row.decode(11), endsOn: try row.decode(12, as: LocalDate?.self), price: price
            )
            batch.services[try row.decode(0, as: Int64.self), default: []].append(service)
        }
    }

    /// U per (service, local month) for every customer's window in one statement.
    ///
    /// - Each customer's window `[start, end)` of local dates becomes an instant range through
    ///   `(date::timestamp AT TIME ZONE customers.timezone)`, so the (customer_id, worked_at)
    ///   index is range-scanned per customer. The range is widened by 3 hours on each side and
    ///   the exact test is the local date itself, because a DST change at local midnight makes
    ///   `AT TIME ZONE` pick one of two instants for it.
    /// - An entry belongs to `time_entries.service_id`, else its ticket's service. Each entry is
    ///   rounded up to its plan's `increment_minutes` before summing: ceil(m / i) * i in integer
    ///   arithmetic, as `MoneyMath.roundUp` does.
    /// - The batch's tickets and services are hashed once; an entry whose ticket is not one of
    ///   its customer's, or whose service is not, is a defect: the customer is skipped.
    private static func loadUsage(_ db: PostgresConnection, _ ids: [Int64], _ starts: [LocalDate], _ ends: [LocalDate], into batch: inout MonthlyRollupBatch) throws {
        for row in try db.query("""
            WITH w AS (
                SELECT w.customer_id, c.timezone, w.first_day, w.end_day,
                       (w.first_day::timestamp AT TIME ZONE c.timezone) - interval '3 hours' AS lo,
                       (w.end_day::timestamp AT TIME ZONE c.timezone) + interval '3 hours' AS hi
                  FROM unnest($1::bigint[], $2::date[], $3::date[]) AS w(customer_id, first_day, end_day)
                  JOIN customers c ON c.id = w.customer_id
            ),
            bt AS MATERIALIZED (
                SELECT t.id, t.service_id FROM tickets t WHERE t.customer_id = ANY($1::bigint[])
            ),
            bs AS MATERIALIZED (
                SELECT s.id, p.increment_minutes, (p.billing = 'metered' AND s.status <> 'pending') AS metered
                  FROM services s JOIN plans p ON p.id = s.plan_id
                 WHERE s.customer_id = ANY($1::bigint[])
            ),
            e AS (
                SELECT e.id, e.customer_id, e.ticket_id, e.minutes, COALESCE(e.service_id, bt.service_id) AS service_id,
                       bt.id IS NULL AS foreign_ticket, e.service_id IS NULL OR bs.metered AS maybe_ours,
                       bs.id AS known_service, bs.metered, bs.increment_minutes,
                       date_trunc('month', e.worked_at AT TIME ZONE w.timezone)::date AS month
                  FROM w
                  JOIN time_entries e ON e.customer_id = w.customer_id AND e.worked_at >= w.lo AND e.worked_at < w.hi
                  LEFT JOIN bt ON bt.id = e.ticket_id
                  LEFT JOIN bs ON bs.id = COALESCE(e.service_id, bt.service_id)
                 WHERE e.billable
                   AND (e.worked_at AT TIME ZONE w.timezone)::date >= w.first_day
                   AND (e.worked_at AT TIME ZONE w.timezone)::date < w.end_day
            )
            SELECT customer_id, known_service, month,
                   COALESCE(sum(((minutes::bigint + increment_minutes - 1) / increment_minutes) * increment_minutes)
                                FILTER (WHERE metered), 0)::bigint,
                   min(id) FILTER (WHERE foreign_ticket AND maybe_ours),
                   min(ticket_id) FILTER (WHERE foreign_ticket AND maybe_ours),
                   min(id) FILTER (WHERE service_id IS NOT NULL AND known_service IS NULL),
                   min(service_id) FILTER (WHERE service_id IS NOT NULL AND known_service IS NULL)
              FROM e
             WHERE metered OR (foreign_ticket AND maybe_ours) OR (service_id IS NOT NULL AND known_service IS NULL)
             GROUP BY customer_id, known_service, month
             ORDER BY customer_id, known_service, month
            """, [ids, starts, ends]) {
            let customer = try row.decode(0, as: Int64.self)
            if let entry = try row.decode(4, as: Int64?.self), batch.defects[customer] == nil {
                let ticket = try row.decode(5, as: Int64.self)
                batch.defects[customer] = "time entry \(entry) is on ticket \(ticket), which is not a ticket of customer \(customer) (missing, or another customer's): correct the entry or the ticket, then re-run"
            }
            if let entry = try row.decode(6, as: Int64?.self), batch.defects[customer] == nil {
                let service = try row.decode(7, as: Int64.self)
                batch.defects[customer] = "time entry \(entry) is charged to service \(service), which is not a service of customer \(customer): correct the entry or its ticket, then re-run"
            }
            guard let service = try row.decode(1, as: Int64?.self) else { continue }
            let minutes = try row.decode(3, as: Int64.self)
            guard minutes > 0 else { continue }
            batch.usage[customer, default: []].append(RollupUsage(serviceID: service, month: try row.decode(2, as: LocalDate.self).yearMonth, minutes: minutes))
        }
    }

    /// The rollup's invoices with all their items: those of the window's months, of the month
    /// before and after (a fee period billed in advance, or not, lives there), and of the month
    /// holding the setup fee of a service starting in the window (`starts_on` may have moved
    /// since it was billed). Whole months are loaded, so every line is seen with all its items.
    /// The invoices are locked: finance issuing a draft waits for the batch.
    private static func loadInvoices(_ db: PostgresConnection, _ ids: [Int64], _ starts: [LocalDate], _ ends: [LocalDate], into batch: inout MonthlyRollupBatch) throws {
        var invoices: [Int64: (header: InvoiceHeader, items: [RollupItem])] = [:]
        var order: [Int64] = []
        for row in try db.query("""
            WITH w AS (
                SELECT * FROM unnest($1::bigint[], $2::date[], $3::date[]) AS w(customer_id, first_day, end_day)
            ),
            months AS (
                SELECT i.customer_id, i.period_start
                  FROM w JOIN invoices i ON i.customer_id = w.customer_id
                 WHERE i.kind IN ('period', 'adjustment')
                   AND i.period_start >= (w.first_day - interval '1 month')::date
                   AND i.period_start < (w.end_day + interval '1 month')::date
                UNION
                SELECT i.customer_id, i.period_start
                  FROM w
                  JOIN services s ON s.customer_id = w.customer_id AND s.starts_on >= w.first_day AND s.starts_on < w.end_day
                  JOIN billable_items b ON b.customer_id = s.customer_id AND b.rollup_line = 'setup:' || s.id
                  JOIN invoices i ON i.customer_id = b.customer_id AND i.id = b.invoice_id
            )
            SELECT i.id, i.customer_id, i.kind, i.currency, i.period_start, i.status, i.total, i.source_key,
                   b.id, b.service_id, b.kind, b.rollup_line, b.description, b.minutes, b.quantity, b.unit_price,
                   b.amount, b.currency, b.period_start, b.period_end, b.source_key
              FROM months m
              JOIN invoices i ON i.customer_id = m.customer_id AND i.period_start = m.period_start
                             AND i.kind IN ('period', 'adjustment')
              LEFT JOIN billable_items b ON b.customer_id = i.customer_id AND b.invoice_id = i.id
             WHERE i.source_key LIKE 'mr:%'
             ORDER BY i.id, b.id
               FOR UPDATE OF i
            """, [ids, starts, ends]) {
            let id = try row.decode(0, as: Int64.self)
            if invoices[id] == nil {
                let kind = try row.decode(2, as: String.self)
                guard let invoiceKind = RollupInvoice.Kind(rawValue: kind) else { continue }
                invoices[id] = (InvoiceHeader(
                    customerID: try row.decode(1), kind: invoiceKind, currency: try row.decode(3),
                    month: try row.decode(4, as: LocalDate.self).yearMonth, status: try row.decode(5),
                    total: try row.decode(6), sourceKey: try row.decode(7)
                ), [])
                order.append(id)
            }
            guard let itemID = try row.decode(8, as: Int64?.self) else { continue }
            let line = try row.decode(11, as: String?.self)
            invoices[id]?.items.append(RollupItem(
                id: itemID, serviceID: try row.decode(9, as: Int64?.self), kind: try row.decode(10),
                line: try line.map { try RollupLine(key: $0) }, description: try row.decode(12),
                minutes: try row.decode(13, as: Int64?.self), quantity: try row.decode(14), unitPrice: try row.decode(15),
                amount: try row.decode(16), currency: try row.decode(17), periodStart: try row.decode(18, as: LocalDate?.self),
                periodEnd: try row.decode(19, as: LocalDate?.self), sourceKey: try row.decode(20)
            ))
        }
        for id in order {
            guard let (header, items) = invoices[id] else { continue }
            batch.invoices[header.customerID, default: []].append(RollupInvoice(
                id: id, kind: header.kind, currency: header.currency, month: header.month, status: header.status,
                total: header.total, sourceKey: header.sourceKey, items: items
            ))
        }
    }

    /// Other jobs' items on no invoice yet (per-incident items, ...), whose period starts before
    /// the customer's window ends. Locked, so they cannot change while they are being attached.
    private static func loadOpenItems(_ db: PostgresConnection, _ ids: [Int64], _ ends: [LocalDate], into batch: inout MonthlyRollupBatch) throws {
        for row in try db.query("""
            SELECT b.id, b.customer_id, b.service_id, b.kind, b.description, b.minutes, b.quantity, b.unit_price,
                   b.amount, b.currency, b.period_start, b.period_end, b.source_key
              FROM unnest($1::bigint[], $2::date[]) AS w(customer_id, end_day)
              JOIN billable_items b ON b.customer_id = w.customer_id AND b.invoice_id IS NULL AND b.period_start < w.end_day
             WHERE b.rollup_line IS NULL
             ORDER BY b.id
               FOR UPDATE OF b
            """, [ids, ends]) {
            batch.openItems[try row.decode(1, as: Int64.self), default: []].append(RollupItem(
                id: try row.decode(0), serviceID: try row.decode(2, as: Int64?.self), kind: try row.decode(3), line: nil,
                description: try row.decode(4), minutes: try row.decode(5, as: Int64?.self), quantity: try row.decode(6),
                unitPrice: try row.decode(7), amount: try row.decode(8), currency: try row.decode(9),
                periodStart: try row.decode(10, as: LocalDate?.self), periodEnd: try row.decode(11, as: LocalDate?.self),
                sourceKey: try row.decode(12)
            ))
        }
    }

    /// An invoice row's columns while its items are being collected.
    private struct InvoiceHeader {
        let customerID: Int64
        let kind: RollupInvoice.Kind
        let currency: CurrencyCode
        let month: YearMonth
        let status: String
        let total: Int64
        let sourceKey: String
    }
}
