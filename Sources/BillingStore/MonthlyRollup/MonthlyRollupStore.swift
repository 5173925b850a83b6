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

    /// `work_mem` for a batch's transaction (500 customers' month of entries hash in ~20 MB).
    static let workMemory = "64MB"

    public static func load(_ db: PostgresConnection, windows: [Window]) throws -> MonthlyRollupBatch {
        var batch = MonthlyRollupBatch()
        guard !windows.isEmpty else { return batch }
        let ids = windows.map(\.customerID)
        let starts = windows.map(\.range.start)
        let ends = windows.map(\.range.end)
        // A batch's hashes and sorts (its entries, tickets, services) are sized by the batch,
        // not by the tables: let them stay in memory for this transaction only.
        try db.execute("SELECT set_config('work_mem', $1, true)", [workMemory])
        try loadServices(db, ids, into: &batch)
        try loadUsage(db, windows, into: &batch)
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
    /// - The entries are read through the (customer_id, worked_at) index with the batch's ids and
    ///   one constant instant range covering every customer's window (a day wider on each side:
    ///   local midnight is within 14 hours of UTC midnight), so PostgreSQL estimates the rows
    ///   well and hashes the small sides (the batch's tickets and services). Measured on 2,000
    ///   customers and 500,000 entries, this costs about what one hand-written aggregation of
    ///   the same customers costs.
    /// - Each entry is placed in its customer's local month `(worked_at AT TIME ZONE timezone)`.
    ///   Each month's bounds are computed once, `(first day::timestamp AT TIME ZONE timezone)`;
    ///   an entry more than 3 hours inside them is in that month whatever the DST rules, and
    ///   only entries near a bound pay for the exact per-row conversion (a DST change at local
    ///   midnight makes the bound ambiguous, and may even repeat an hour of the previous day).
    /// - An entry belongs to `time_entries.service_id`, else its ticket's service. Each entry is
    ///   rounded up to its plan's `increment_minutes` before summing: ceil(m / i) * i in integer
    ///   arithmetic, exactly as `MoneyMath.roundUp` does.
    /// - An entry whose ticket is not one of its customer's, or whose service is not, is a
    ///   defect: the customer is skipped rather than billed for someone else's work.
    private static func loadUsage(_ db: PostgresConnection, _ windows: [Window], into batch: inout MonthlyRollupBatch) throws {
        var monthCustomers: [Int64] = []
        var monthStarts: [LocalDate] = []
        for window in windows {
            var month = window.range.start.yearMonth
            while month.firstDay < window.range.end {
                monthCustomers.append(window.customerID)
                monthStarts.append(month.firstDay)
                month = month.next
            }
        }
        guard let first = windows.map(\.range.start).min(), let last = windows.map(\.range.end).max() else { return }
        let ids = windows.map(\.customerID)
        for row in try db.query("""
            WITH m AS MATERIALIZED (
                SELECT m.customer_id, c.timezone, m.month,
                       (m.month::timestamp AT TIME ZONE c.timezone) AS lo,
                       ((m.month + interval '1 month')::timestamp AT TIME ZONE c.timezone) AS hi
                  FROM unnest($2::bigint[], $3::date[]) AS m(customer_id, month)
                  JOIN customers c ON c.id = m.customer_id
            ),
            e AS (
                -- The batch filter is repeated on tickets and services so that PostgreSQL reads
                -- only the batch's rows of them and hashes those; the fence (OFFSET 0) joins
                -- the entries to them first, where the row estimates are good, and months last.
                SELECT e.id, e.customer_id, e.ticket_id, e.minutes, e.worked_at,
                       COALESCE(e.service_id, t.service_id) AS service_id,
                       t.id IS NULL AS foreign_ticket,
                       e.service_id IS NULL OR (p.billing = 'metered' AND s.status <> 'pending') AS maybe_ours,
                       s.id AS known_service, (p.billing = 'metered' AND s.status <> 'pending') AS metered, p.increment_minutes
                  FROM time_entries e
                  LEFT JOIN tickets t ON t.id = e.ticket_id AND t.customer_id = e.customer_id AND t.customer_id = ANY($1::bigint[])
                  LEFT JOIN services s ON s.id = COALESCE(e.service_id, t.service_id) AND s.customer_id = e.customer_id
                                      AND s.customer_id = ANY($1::bigint[])
                  LEFT JOIN plans p ON p.id = s.plan_id
                 WHERE e.customer_id = ANY($1::bigint[]) AND e.worked_at >= $4 AND e.worked_at < $5 AND e.billable
                OFFSET 0
            )
            SELECT e.customer_id, e.known_service, m.month,
                   COALESCE(sum(((e.minutes::bigint + e.increment_minutes - 1) / e.increment_minutes) * e.increment_minutes)
                                FILTER (WHERE e.metered), 0)::bigint,
                   min(e.id) FILTER (WHERE e.foreign_ticket AND e.maybe_ours),
                   min(e.ticket_id) FILTER (WHERE e.foreign_ticket AND e.maybe_ours),
                   min(e.id) FILTER (WHERE e.service_id IS NOT NULL AND e.known_service IS NULL),
                   min(e.service_id) FILTER (WHERE e.service_id IS NOT NULL AND e.known_service IS NULL)
              FROM e
              JOIN m ON m.customer_id = e.customer_id
                    AND e.worked_at >= m.lo - interval '3 hours' AND e.worked_at < m.hi + interval '3 hours'
             WHERE (e.metered OR (e.foreign_ticket AND e.maybe_ours) OR (e.service_id IS NOT NULL AND e.known_service IS NULL))
               AND ((e.worked_at >= m.lo + interval '3 hours' AND e.worked_at < m.hi - interval '3 hours')
                    OR date_trunc('month', e.worked_at AT TIME ZONE m.timezone)::date = m.month)
             GROUP BY e.customer_id, e.known_service, m.month
            """, [ids, monthCustomers, monthStarts, Instant(utc: first.adding(days: -1)), Instant(utc: last.adding(days: 1))]) {
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
                   b.amount, b.currency, b.period_start, b.period_end, b.source_key, b.included_minutes
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
                periodEnd: try row.decode(19, as: LocalDate?.self), sourceKey: try row.decode(20),
                includedMinutes: try row.decode(21, as: Int64?.self)
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
