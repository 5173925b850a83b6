import BillingCore
import Postgres

/// threshold-topup's reads and writes. Every query covers a whole batch of customers
/// (`= ANY($1::bigint[])`) and touches only the queued changes, the customers' pre-paid services
/// and their top-up invoices: never the history of time entries or ledger rows (the running
/// balance is `topup_balances`, kept by a trigger; see sql/020_threshold_topup.sql).
public enum ThresholdTopupStore {
    /// The customers a run visits: those with rows in any of the three queues, filled by triggers
    /// (sql/020_threshold_topup.sql) with every change that can call for a debit, a credit or a
    /// pack: time entries, payments and voided top-ups, and services that are new, changed status,
    /// plan or term, whose price changed, or that were held back by `max_topups_per_day`. Three
    /// index scans of small tables: nothing here grows with the history or the number of services.
    public static func customers(_ db: PostgresConnection, filter: [Int64]?) throws -> [Int64] {
        try db.query("""
            SELECT customer_id FROM topup_entry_queue WHERE $1::bigint[] IS NULL OR customer_id = ANY($1)
            UNION
            SELECT customer_id FROM topup_invoice_queue WHERE $1::bigint[] IS NULL OR customer_id = ANY($1)
            UNION
            SELECT customer_id FROM topup_service_queue WHERE $1::bigint[] IS NULL OR customer_id = ANY($1)
            ORDER BY 1
            """, [filter]).map { try $0.decode(0, as: Int64.self) }
    }

    /// A batch's planner inputs.
    public struct Loaded: Sendable {
        public var inputs: [ThresholdTopupInput]
        /// Payment-queue rows whose invoice no longer exists or is no top-up: consumed as is.
        public var orphanInvoiceQueueIDs: [Int64: [Int64]]
    }

    /// Loads the inputs of a batch of customers in eight set-based queries.
    public static func load(_ db: PostgresConnection, customers: [CustomerRecord], asOf: Instant, rules: ThresholdTopupRules) throws -> Loaded {
        let ids = customers.map(\.id)
        let cutover = try BillingCutover.load(db)

        // Each queue is read before the state it points at: a change committed after the read
        // queues a row this batch does not consume, so a decision made on the state before that
        // change is looked at again by the next run, never lost.
        var serviceQueue: [Int64: [Int64]] = [:]
        for row in try db.query("""
            SELECT id, customer_id FROM topup_service_queue WHERE customer_id = ANY($1::bigint[]) ORDER BY id
            """, [ids]) {
            serviceQueue[try row.decode(1, as: Int64.self), default: []].append(try row.decode(0, as: Int64.self))
        }

        // Queued entries, as they are now, with this batch's ledger rows for them.
        var queued: [Int64: [Int64: [Int64]]] = [:] // customer -> entry -> queue ids
        for row in try db.query("""
            SELECT id, customer_id, time_entry_id FROM topup_entry_queue WHERE customer_id = ANY($1::bigint[]) ORDER BY id
            """, [ids]) {
            queued[try row.decode(1, as: Int64.self), default: [:]][try row.decode(2, as: Int64.self), default: []]
                .append(try row.decode(0, as: Int64.self))
        }
        let entryIDs = Array(Set(queued.values.flatMap(\.keys))).sorted()
        var entries: [Int64: ThresholdTopupInput.TimeEntry] = [:]
        var debits: [Int64: [Int64: [ThresholdTopupInput.EntryDebit]]] = [:] // entry -> customer -> per service
        var ledgerRows: [Int64: Int] = [:]
        if !entryIDs.isEmpty {
            for row in try db.query("""
                SELECT e.id, e.customer_id, e.ticket_id, t.customer_id, t.service_id, e.service_id, e.worked_at,
                       e.minutes, e.billable
                  FROM time_entries e
                  LEFT JOIN tickets t ON t.customer_id = e.customer_id AND t.id = e.ticket_id
                 WHERE e.id = ANY($1::bigint[])
                """, [entryIDs]) {
                entries[try row.decode(0, as: Int64.self)] = ThresholdTopupInput.TimeEntry(
                    customerID: try row.decode(1), ticketID: try row.decode(2),
                    ticketCustomerID: try row.decode(3, as: Int64?.self), ticketServiceID: try row.decode(4, as: Int64?.self),
                    serviceID: try row.decode(5, as: Int64?.self), workedAt: try row.decode(6),
                    minutes: Int64(try row.decode(7, as: Int.self)), billable: try row.decode(8))
            }
            // The ticket joined on (customer_id, id), as Citus requires; an entry on another
            // customer's ticket (a data defect the planner reports) is found by a second lookup
            // by id.
            let foreignTickets = entries.values.filter { $0.ticketCustomerID == nil }.map(\.ticketID)
            if !foreignTickets.isEmpty {
                var tickets: [Int64: (customer: Int64, service: Int64?)] = [:]
                for row in try db.query("SELECT id, customer_id, service_id FROM tickets WHERE id = ANY($1::bigint[])", [Array(Set(foreignTickets)).sorted()]) {
                    tickets[try row.decode(0, as: Int64.self)] = (try row.decode(1, as: Int64.self), try row.decode(2, as: Int64?.self))
                }
                for (id, entry) in entries where entry.ticketCustomerID == nil {
                    guard let ticket = tickets[entry.ticketID] else { continue }
                    entries[id]?.ticketCustomerID = ticket.customer
                    entries[id]?.ticketServiceID = ticket.service
                }
            }
            for row in try db.query("""
                SELECT time_entry_id, customer_id, service_id, min(currency), sum(amount)::bigint,
                       COALESCE(sum(minutes), 0)::bigint, count(*)::int,
                       (array_agg(hourly_rate ORDER BY id DESC))[1], (array_agg(plan_id ORDER BY id DESC))[1]
                  FROM credit_ledger
                 WHERE time_entry_id = ANY($1::bigint[])
                 GROUP BY time_entry_id, customer_id, service_id
                """, [entryIDs]) {
                let entry = try row.decode(0, as: Int64.self)
                let count = try row.decode(6, as: Int.self)
                ledgerRows[entry, default: 0] += count
                debits[entry, default: [:]][try row.decode(1, as: Int64.self), default: []].append(ThresholdTopupInput.EntryDebit(
                    serviceID: try row.decode(2), currency: try row.decode(3), netMinutes: try row.decode(5),
                    netAmount: try row.decode(4), hourlyRate: try row.decode(7, as: Int64?.self), rows: count,
                    planID: try row.decode(8, as: Int64?.self)))
            }
        }

        // The batch's pre-paid services, and every service a queued entry points at.
        let referenced = Array(Set(entries.values.compactMap(\.effectiveServiceID))).sorted()
        var services: [Int64: ThresholdTopupInput.Service] = [:]
        for row in try db.query("""
            WITH wanted AS (
                SELECT s.id FROM services s JOIN plans p ON p.id = s.plan_id
                 WHERE s.customer_id = ANY($1::bigint[]) AND p.billing = 'prepaid'
                UNION
                SELECT unnest($2::bigint[])
            )
            SELECT s.id, s.customer_id, s.status, s.ends_on, p.code, p.name, p.billing = 'prepaid', p.increment_minutes,
                   s.currency, cur.minor_units, pp.plan_id IS NOT NULL, pp.hourly_rate, pp.topup_amount, pp.threshold,
                   COALESCE(b.balance, 0)::bigint, s.plan_id
              FROM wanted w
              JOIN services s ON s.id = w.id
              JOIN plans p ON p.id = s.plan_id
              JOIN currencies cur ON cur.code = s.currency
              LEFT JOIN plan_prices pp ON pp.plan_id = s.plan_id AND pp.currency = s.currency
              LEFT JOIN topup_balances b ON b.customer_id = s.customer_id AND b.service_id = s.id
            """, [ids, referenced]) {
            let id = try row.decode(0, as: Int64.self)
            let status = try row.decode(2, as: String.self)
            guard let parsed = ThresholdTopupInput.ServiceStatus(rawValue: status) else {
                throw PostgresError.decoding("service \(id) has an unknown status \(status.debugDescription)")
            }
            let hasPrice = try row.decode(10, as: Bool.self)
            var service = ThresholdTopupInput.Service(
                id: id, customerID: try row.decode(1), status: parsed, endsOn: try row.decode(3, as: LocalDate?.self),
                planCode: try row.decode(4), planName: try row.decode(5), isPrepaid: try row.decode(6),
                incrementMinutes: Int64(try row.decode(7, as: Int.self)),
                currency: Currency(code: try row.decode(8), minorUnits: try row.decode(9, as: Int.self)),
                price: hasPrice ? ThresholdTopupInput.Price(
                    hourlyRate: try row.decode(11), topupAmount: try row.decode(12), threshold: try row.decode(13)) : nil,
                balance: try row.decode(14), topupsIssuedToday: 0)
            service.planID = try row.decode(15, as: Int64.self)
            services[id] = service
        }

        // Top-up invoices issued on each customer's local as-of date, per service.
        for row in try db.query("""
            SELECT bi.service_id, count(DISTINCT i.id)::int
              FROM invoices i
              JOIN customers c ON c.id = i.customer_id
              JOIN billable_items bi ON bi.customer_id = i.customer_id AND bi.invoice_id = i.id AND bi.kind = 'topup'
             WHERE i.customer_id = ANY($1::bigint[]) AND i.kind = 'topup'
               AND i.issued_at >= $2::timestamptz - interval '2 days'
               AND i.issued_at < $2::timestamptz + interval '2 days'
               AND (i.issued_at AT TIME ZONE c.timezone)::date = ($2::timestamptz AT TIME ZONE c.timezone)::date
             GROUP BY bi.service_id
            """, [ids, asOf]) {
            let service = try row.decode(0, as: Int64.self)
            services[service]?.topupsIssuedToday = try row.decode(1, as: Int.self)
        }

        // Top-up invoices to reconcile: every unpaid one, and those whose payments changed.
        var invoiceQueue: [Int64: [Int64: [Int64]]] = [:] // customer -> invoice -> queue ids
        for row in try db.query("""
            SELECT id, customer_id, invoice_id FROM topup_invoice_queue WHERE customer_id = ANY($1::bigint[]) ORDER BY id
            """, [ids]) {
            invoiceQueue[try row.decode(1, as: Int64.self), default: [:]][try row.decode(2, as: Int64.self), default: []]
                .append(try row.decode(0, as: Int64.self))
        }
        let queuedInvoices = Array(Set(invoiceQueue.values.flatMap(\.keys))).sorted()
        var invoices: [Int64: [ThresholdTopupInput.TopupInvoice]] = [:]
        for row in try db.query("""
            WITH wanted AS (
                SELECT id FROM invoices WHERE customer_id = ANY($1::bigint[]) AND kind = 'topup' AND status = 'issued'
                UNION
                SELECT unnest($2::bigint[])
            )
            SELECT i.id, i.customer_id, i.status, i.total, i.currency, i.subtotal,
                   (SELECT bi.service_id FROM billable_items bi
                     WHERE bi.customer_id = i.customer_id AND bi.invoice_id = i.id AND bi.kind = 'topup' AND bi.service_id IS NOT NULL
                     ORDER BY bi.id LIMIT 1),
                   COALESCE((SELECT sum(p.amount) FROM payments p
                              WHERE p.customer_id = i.customer_id AND p.invoice_id = i.id AND p.status = 'completed' AND p.currency = i.currency), 0)::bigint,
                   l.credits, l.reversals, l.net
              FROM wanted w
              JOIN invoices i ON i.id = w.id AND i.kind = 'topup' AND i.customer_id = ANY($1::bigint[])
              CROSS JOIN LATERAL (
                  SELECT count(*) FILTER (WHERE reason = 'topup')::int AS credits,
                         count(*) FILTER (WHERE reason = 'adjustment')::int AS reversals,
                         COALESCE(sum(amount), 0)::bigint AS net
                    FROM credit_ledger WHERE customer_id = i.customer_id AND invoice_id = i.id
              ) l
            """, [ids, queuedInvoices]) {
            let id = try row.decode(0, as: Int64.self)
            let customer = try row.decode(1, as: Int64.self)
            let status = try row.decode(2, as: String.self)
            guard let parsed = ThresholdTopupInput.InvoiceStatus(rawValue: status) else {
                throw PostgresError.decoding("invoice \(id) has an unknown status \(status.debugDescription)")
            }
            invoices[customer, default: []].append(ThresholdTopupInput.TopupInvoice(
                id: id, status: parsed, total: try row.decode(3), subtotal: try row.decode(5), currency: try row.decode(4),
                serviceID: try row.decode(6, as: Int64?.self), completedPaid: try row.decode(7),
                credits: try row.decode(8), reversals: try row.decode(9), netCredited: try row.decode(10),
                queueIDs: invoiceQueue[customer]?[id] ?? []))
        }

        var orphans: [Int64: [Int64]] = [:]
        for (customer, byInvoice) in invoiceQueue {
            for (invoice, queueIDs) in byInvoice where !(invoices[customer] ?? []).contains(where: { $0.id == invoice }) {
                orphans[customer, default: []] += queueIDs
            }
        }

        let taxes = try CustomerTaxes.load(db, ids)
        var inputs: [ThresholdTopupInput] = []
        for customer in customers {
            let byEntry = queued[customer.id] ?? [:]
            let changes = byEntry.keys.sorted().map { entryID in
                ThresholdTopupInput.EntryChange(
                    entryID: entryID, queueIDs: byEntry[entryID] ?? [], entry: entries[entryID],
                    debits: (debits[entryID]?[customer.id] ?? []).sorted { $0.serviceID < $1.serviceID },
                    ledgerRowsAnyCustomer: ledgerRows[entryID] ?? 0)
            }
            var own = services.values.filter { $0.customerID == customer.id }
            for change in changes {
                if let id = change.entry?.effectiveServiceID, let service = services[id], !own.contains(where: { $0.id == id }) {
                    own.append(service)
                }
            }
            var input = ThresholdTopupInput(
                customerID: customer.id, asOf: asOf, localAsOf: customer.localAsOf,
                services: own.sorted { $0.id < $1.id }, entries: changes,
                invoices: (invoices[customer.id] ?? []).sorted { $0.id < $1.id }, serviceQueueIDs: serviceQueue[customer.id] ?? [],
                rules: rules)
            input.cutover = cutover
            input.timeZone = customer.timeZone
            input.tax = taxes[customer.id] ?? .untaxed
            inputs.append(input)
        }
        return Loaded(inputs: inputs, orphanInvoiceQueueIDs: orphans)
    }
}
