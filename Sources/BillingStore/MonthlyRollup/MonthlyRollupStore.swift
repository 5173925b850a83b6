import BillingCore
import Postgres

/// Loads a batch's monthly-rollup inputs with four set-based queries, whatever the number of
/// customers, services or time entries: services with plans and prices, usage per (service,
/// local month) from the run's usage table (aggregated by PostgreSQL once per run,
/// `prepareUsage`), the rollup's invoices with their items, and other jobs' uninvoiced items.
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

    /// `work_mem` for the usage aggregation and each batch's transaction, so that their hashes
    /// and sorts stay in memory.
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
        batch.cutover = try BillingCutover.load(db)
        try loadServices(db, ids, into: &batch)
        try loadUsage(db, windows, into: &batch)
        try loadInvoices(db, ids, starts, ends, into: &batch)
        try loadOpenItems(db, ids, ends, into: &batch)
        batch.taxes = try CustomerTaxes.load(db, ids)
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
               AND s.status <> 'pending'
               -- Every plan kind pays its fees; pre-paid and incidents plans only through them.
               AND (p.billing IN ('recurring', 'metered') OR pp.recurring_fee > 0 OR pp.setup_fee > 0)
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

    /// The session's table of usage per (customer, service, local month), filled once per run
    /// by `prepareUsage` and read by each batch.
    static let usageTable = "pg_temp.monthly_rollup_usage"

    /// Each customer's months as instants, while `prepareUsage` runs.
    static let boundsTable = "pg_temp.monthly_rollup_bounds"

    /// The increments issued usage lines keep, while `prepareUsage` runs.
    static let incrementsTable = "pg_temp.monthly_rollup_increments"

    /// U per (customer, service, local month) of every month from `first` through `last`, for
    /// every customer (or those of `customerFilter`), in one statement: one pass over the
    /// months' entries instead of one per batch of customers (whose entries lie scattered over
    /// every page of the table: each batch read them all again). Kept in a temporary table of
    /// the run's session (dropped with it; a dry run's is rolled back) that `load` reads per
    /// batch. The months cover every customer's window; `load` keeps each customer's own.
    ///
    /// - The entries are read by `worked_at` (the index of sql/060) with one constant instant
    ///   range a day wider than the months on each side (local midnight is within 14 hours of
    ///   UTC midnight), then placed in their customer's local month `(worked_at AT TIME ZONE
    ///   timezone)`. Each month's bounds are computed once per customer,
    ///   `(first day::timestamp AT TIME ZONE timezone)`; an entry more than 3 hours inside them
    ///   is in that month whatever the DST rules, and only entries near a bound pay for the
    ///   exact per-row conversion (a DST change at local midnight makes the bound ambiguous, and
    ///   may even repeat an hour of the previous day). Customers whose zone PostgreSQL does not
    ///   know are left out (the runner skips them).
    /// - An entry belongs to `time_entries.service_id`, else its ticket's service. Each entry is
    ///   rounded up to its plan's `increment_minutes` before summing: ceil(m / i) * i in integer
    ///   arithmetic, exactly as `MoneyMath.roundUp` does. A month already issued keeps the
    ///   increment it was issued with (`billable_items.increment_minutes`, sql/121).
    /// - An entry whose ticket is not one of its customer's, or whose service is not, is a
    ///   defect, recorded per month: the customer is skipped rather than billed for someone
    ///   else's work.
    /// - Entries worked before the cut-over (`BillingCutover`) are left out.
    public static func prepareUsage(_ db: PostgresConnection, customerFilter: [Int64]?, first: YearMonth, last: YearMonth) throws {
        let cutover = try BillingCutover.load(db)
        var monthCount = 0
        var month = first
        while month <= last {
            monthCount += 1
            month = month.next
        }
        try db.execute("SELECT set_config('work_mem', $1, true)", [workMemory])
        try db.execute("DROP TABLE IF EXISTS \(usageTable)")
        try db.execute("DROP TABLE IF EXISTS \(boundsTable)")
        try db.execute("DROP TABLE IF EXISTS \(incrementsTable)")
        // Each customer's months as instants, in a table of their own that is analyzed: as a CTE
        // its customer ids have no statistics, PostgreSQL assumes 200 distinct values, hashes the
        // million entries instead of the ten thousand months (spilling to disk) and plans the
        // entries' scan without parallel workers (twice the time on 5M entries).
        try db.execute("""
            CREATE TEMP TABLE monthly_rollup_bounds AS
            SELECT c.id AS customer_id, c.timezone, g.month,
                   (g.month::timestamp AT TIME ZONE c.timezone) AS lo,
                   ((g.month + interval '1 month')::date::timestamp AT TIME ZONE c.timezone) AS hi
              FROM customers c
             -- An integer series, whose length PostgreSQL knows (it guesses 1,000 rows for a
             -- series of dates).
             CROSS JOIN LATERAL (SELECT ($2::date + k * interval '1 month')::date AS month
                                   FROM generate_series(0, $3::int - 1) AS k) g
             WHERE ($1::bigint[] IS NULL OR c.id = ANY($1))
               AND c.timezone IN (SELECT name FROM pg_timezone_names)
            """, [customerFilter, first.firstDay, monthCount])
        try db.execute("ANALYZE \(boundsTable)")
        // The increment each issued usage line was first issued with (the earliest usage item of
        // the line on an invoice that is not a draft): its month keeps rounding entries to it.
        try db.execute("""
            CREATE TEMP TABLE monthly_rollup_increments AS
            SELECT DISTINCT ON (b.customer_id, b.service_id, b.period_start)
                   b.customer_id, b.service_id, b.period_start AS month, b.increment_minutes
              FROM billable_items b
              JOIN invoices i ON i.customer_id = b.customer_id AND i.id = b.invoice_id
             WHERE b.kind = 'usage' AND b.rollup_line IS NOT NULL AND b.increment_minutes IS NOT NULL
               AND i.status <> 'draft'
               AND b.period_start >= $2 AND b.period_start < $3
               AND ($1::bigint[] IS NULL OR b.customer_id = ANY($1))
             ORDER BY b.customer_id, b.service_id, b.period_start, b.id
            """, [customerFilter, first.firstDay, last.next.firstDay])
        try db.execute("ANALYZE \(incrementsTable)")
        // The filter below keeps a quarter of the entries, which PostgreSQL cannot estimate (it
        // keeps all of them in its estimate) and so prices handing them from the parallel workers
        // to the leader four times too high, and reads 5M entries in one process. A parallel
        // plan takes half the time on two cores. Restored right after the statement: a dry run
        // is one transaction, and its batches must plan as a real run's do.
        let tupleCost = try db.query("SELECT current_setting('parallel_tuple_cost')").first?.decode(0, as: String.self) ?? "0.1"
        try db.execute("SELECT set_config('parallel_tuple_cost', '0.01', true)")
        try db.execute("""
            CREATE TEMP TABLE monthly_rollup_usage AS
            SELECT x.customer_id, x.known_service AS service_id, m.month,
                   COALESCE(sum(((x.minutes::bigint + COALESCE(k.increment_minutes, x.increment_minutes) - 1)
                                 / COALESCE(k.increment_minutes, x.increment_minutes))
                                * COALESCE(k.increment_minutes, x.increment_minutes))
                                FILTER (WHERE x.metered), 0)::bigint AS minutes,
                   max(COALESCE(k.increment_minutes, x.increment_minutes)) FILTER (WHERE x.metered) AS increment_minutes,
                   min(x.id) FILTER (WHERE x.foreign_ticket AND x.maybe_ours) AS foreign_entry,
                   min(x.ticket_id) FILTER (WHERE x.foreign_ticket AND x.maybe_ours) AS foreign_ticket,
                   min(x.id) FILTER (WHERE x.stray) AS stray_entry,
                   min(x.service_id) FILTER (WHERE x.stray) AS stray_service
              FROM (
                SELECT e.id, e.customer_id, e.ticket_id, e.minutes, e.worked_at, y.service_id,
                       t.customer_id IS DISTINCT FROM e.customer_id AS foreign_ticket,
                       e.service_id IS NULL OR y.metered AS maybe_ours,
                       CASE WHEN s.customer_id = e.customer_id THEN s.id END AS known_service,
                       y.metered,
                       y.service_id IS NOT NULL AND s.customer_id IS DISTINCT FROM e.customer_id AS stray,
                       p.increment_minutes
                  FROM time_entries e
                  -- Tickets and services are joined on (customer_id, id), as Citus requires: an
                  -- entry on another customer's ticket or service finds none, which the
                  -- IS DISTINCT FROM tests below count as foreign, as they count a missing one.
                  LEFT JOIN tickets t ON t.customer_id = e.customer_id AND t.id = e.ticket_id
                  CROSS JOIN LATERAL (
                      SELECT COALESCE(e.service_id, CASE WHEN t.customer_id = e.customer_id THEN t.service_id END) AS service_id
                  ) y0
                  LEFT JOIN services s ON s.customer_id = e.customer_id AND s.id = y0.service_id
                  LEFT JOIN plans p ON p.id = s.plan_id
                  CROSS JOIN LATERAL (
                      SELECT y0.service_id,
                             COALESCE(p.billing = 'metered' AND s.status <> 'pending' AND s.customer_id = e.customer_id, false) AS metered
                  ) y
                 WHERE e.worked_at >= $2 AND e.worked_at < $3 AND e.billable
                   AND ($1::bigint[] IS NULL OR e.customer_id = ANY($1))
                   -- What the rollup bills, and the defects that make it skip the customer:
                   -- an entry it could bill on a ticket that is not the customer's, an entry
                   -- charged to a service that is not the customer's.
                   AND (y.metered
                        OR (t.customer_id IS DISTINCT FROM e.customer_id AND (e.service_id IS NULL OR y.metered))
                        OR (y.service_id IS NOT NULL AND s.customer_id IS DISTINCT FROM e.customer_id))
                -- The fence keeps the months out of the entries' joins: joined first, the row
                -- estimate of the range conditions is far too low and PostgreSQL reads the
                -- entries customer by customer through the index.
                OFFSET 0
              ) x
              JOIN monthly_rollup_bounds m
                ON m.customer_id = x.customer_id
               AND x.worked_at >= m.lo - interval '3 hours' AND x.worked_at < m.hi + interval '3 hours'
              LEFT JOIN monthly_rollup_increments k
                ON k.customer_id = x.customer_id AND k.service_id = x.known_service AND k.month = m.month
             WHERE ((x.worked_at >= m.lo + interval '3 hours' AND x.worked_at < m.hi - interval '3 hours')
                    OR date_trunc('month', x.worked_at AT TIME ZONE m.timezone)::date = m.month)
               -- The cut-over: entries worked before it, in the customer's local calendar, are
               -- not the rollup's (docs/operations.md "Cut-over").
               AND ($4::date IS NULL OR (x.worked_at AT TIME ZONE m.timezone)::date >= $4::date)
             GROUP BY x.customer_id, x.known_service, m.month
            """, [customerFilter, Instant(utc: first.firstDay.adding(days: -1)), Instant(utc: last.next.firstDay.adding(days: 1)), cutover])
        try db.execute("SELECT set_config('parallel_tuple_cost', $1, true)", [tupleCost])
        try db.execute("DROP TABLE \(boundsTable)")
        try db.execute("DROP TABLE \(incrementsTable)")
        try db.execute("CREATE INDEX ON \(usageTable) (customer_id)")
        try db.execute("ANALYZE \(usageTable)")
    }

    /// The batch's rows of the usage table (`prepareUsage`), within each customer's window.
    private static func loadUsage(_ db: PostgresConnection, _ windows: [Window], into batch: inout MonthlyRollupBatch) throws {
        var ranges: [Int64: DateRange] = [:]
        for window in windows { ranges[window.customerID] = window.range }
        for row in try db.query("""
            SELECT customer_id, service_id, month, minutes, foreign_entry, foreign_ticket, stray_entry, stray_service,
                   increment_minutes
              FROM \(usageTable)
             WHERE customer_id = ANY($1::bigint[])
             ORDER BY customer_id, month, service_id
            """, [windows.map(\.customerID)]) {
            let customer = try row.decode(0, as: Int64.self)
            let month = try row.decode(2, as: LocalDate.self)
            guard let range = ranges[customer], range.contains(month) else { continue }
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
            batch.usage[customer, default: []].append(RollupUsage(serviceID: service, month: month.yearMonth, minutes: minutes,
                                                                  incrementMinutes: try row.decode(8, as: Int64?.self)))
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
                UNION
                -- Months before the window that hold other jobs' uninvoiced items: they are
                -- invoiced whatever their age (on the month's period or adjustment invoice).
                SELECT b.customer_id, date_trunc('month', b.period_start)::date
                  FROM w
                  JOIN billable_items b ON b.customer_id = w.customer_id AND b.invoice_id IS NULL AND b.rollup_line IS NULL
                                       AND b.period_start < (w.first_day - interval '1 month')::date
                 WHERE NOT EXISTS (SELECT 1 FROM rollup_netted_items n WHERE n.customer_id = b.customer_id AND n.item_id = b.id)
            )
            SELECT i.id, i.customer_id, i.kind, i.currency, i.period_start, i.status, i.total, i.source_key,
                   b.id, b.service_id, b.kind, b.rollup_line, b.description, b.minutes, b.quantity, b.unit_price,
                   b.amount, b.currency, b.period_start, b.period_end, b.source_key, b.included_minutes,
                   b.tax_rate, b.tax_percent
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
                includedMinutes: try row.decode(21, as: Int64?.self), taxRate: try taxRate(row, 22)
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
    /// the customer's window ends, whatever their age, but for those netted to 0 already
    /// (`rollup_netted_items`). Locked, so they cannot change while they are being attached.
    private static func loadOpenItems(_ db: PostgresConnection, _ ids: [Int64], _ ends: [LocalDate], into batch: inout MonthlyRollupBatch) throws {
        for row in try db.query("""
            SELECT b.id, b.customer_id, b.service_id, b.kind, b.description, b.minutes, b.quantity, b.unit_price,
                   b.amount, b.currency, b.period_start, b.period_end, b.source_key,
                   COALESCE(o.tax_rate, b.tax_rate), COALESCE(o.tax_percent, b.tax_percent), o.id IS NOT NULL
              FROM unnest($1::bigint[], $2::date[]) AS w(customer_id, end_day)
              JOIN billable_items b ON b.customer_id = w.customer_id AND b.invoice_id IS NULL AND b.period_start < w.end_day
              -- An offset of an invoiced item (`<its key>:offset`) is taxed at that item's rate
              -- (docs/invoices.md, "Taxes"): found by its key, through the unique index.
              LEFT JOIN billable_items o ON b.source_key LIKE '%:offset' AND o.source_key = left(b.source_key, -length(':offset'))
                                        AND o.customer_id = b.customer_id AND o.invoice_id IS NOT NULL
             WHERE b.rollup_line IS NULL
               AND NOT EXISTS (SELECT 1 FROM rollup_netted_items n WHERE n.customer_id = b.customer_id AND n.item_id = b.id)
             ORDER BY b.id
               FOR UPDATE OF b
            """, [ids, ends]) {
            var item = RollupItem(
                id: try row.decode(0), serviceID: try row.decode(2, as: Int64?.self), kind: try row.decode(3), line: nil,
                description: try row.decode(4), minutes: try row.decode(5, as: Int64?.self), quantity: try row.decode(6),
                unitPrice: try row.decode(7), amount: try row.decode(8), currency: try row.decode(9),
                periodStart: try row.decode(10, as: LocalDate?.self), periodEnd: try row.decode(11, as: LocalDate?.self),
                sourceKey: try row.decode(12), taxRate: try taxRate(row, 13)
            )
            item.correctsInvoicedItem = try row.decode(15, as: Bool.self)
            batch.openItems[try row.decode(1, as: Int64.self), default: []].append(item)
        }
    }

    /// An item's rate (`tax_rate`, `tax_percent` at `column` and the next); nil: untaxed.
    private static func taxRate(_ row: PostgresRow, _ column: Int) throws -> TaxRate? {
        guard let code = try row.decode(column, as: String?.self), let percent = try row.decode(column + 1, as: ExactDecimal?.self) else { return nil }
        return try TaxRate(code: code, percent: percent)
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
