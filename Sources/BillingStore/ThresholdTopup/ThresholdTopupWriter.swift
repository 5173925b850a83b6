import BillingCore
import Postgres

/// Writes a batch's threshold-topup plans with a handful of bulk statements (unnest arrays),
/// each insert-if-absent by `source_key`, and consumes the queue rows the plans handled, all in
/// the caller's transaction.
///
/// A planned row that already exists means the data changed between reading and writing (the
/// plans are computed from what the ledger held a moment ago): the batch is refused with a
/// `BillingError`, so the runner retries it customer by customer and nothing is half-written.
public enum ThresholdTopupWriter {
    public struct LedgerRecord: Sendable, Equatable {
        public let id: Int64
        public let customerID: Int64
        public let serviceID: Int64
        public let amount: Int64
        public let currency: CurrencyCode
        public let reason: String
        public let timeEntryID: Int64?
        public let invoiceID: Int64?
        public let minutes: Int64?
        public let hourlyRate: Int64?
        public let sourceKey: String
    }

    public struct ItemRecord: Sendable, Equatable {
        public let id: Int64
        public let serviceID: Int64
        public let description: String
        public let quantity: Int64
        public let unitPrice: Int64
        public let amount: Int64
        public let sourceKey: String
    }

    public struct InvoiceRecord: Sendable, Equatable {
        public let id: Int64
        public let customerID: Int64
        public let currency: CurrencyCode
        public let status: String
        public let issuedAt: Instant
        public let dueOn: LocalDate
        public let total: Int64
        public let sourceKey: String
        /// Given as it was issued (docs/invoices.md, "Numbers"); a dry run's preview number.
        public let number: String
        public let item: ItemRecord
        /// `total` is gross: the item's amount (net) plus this.
        public var taxTotal: Int64 = 0
        public var taxNote: String? = nil
        /// Its net, tax per rate and gross as planned (and checked by the issuing trigger).
        public var taxes: InvoiceTaxes? = nil
    }

    public struct StatusRecord: Sendable, Equatable {
        public let invoiceID: Int64
        public let customerID: Int64
        public let from: String
        public let to: String
        public let total: Int64
        public let currency: CurrencyCode
    }

    public struct EventRecord: Sendable, Equatable {
        public let id: Int64
        public let customerID: Int64
        public let invoiceID: Int64
        public let event: String
        public let detail: JSONValue
        public let sourceKey: String
        /// `invoice` (entity_id = invoiceID), or `time_entry` for `debit_corrected`.
        public var entity: String = "invoice"
    }

    public struct Written: Sendable {
        public var ledger: [LedgerRecord] = []
        public var invoices: [InvoiceRecord] = []
        public var statusChanges: [StatusRecord] = []
        public var events: [EventRecord] = []
    }

    public static func write(_ db: PostgresConnection, plans: [ThresholdTopupPlan], runID: Int64, asOf: Instant) throws -> Written {
        var written = Written()
        written.ledger = try insertLedger(db, plans, runID)
        (written.statusChanges, written.events) = try moveStatuses(db, plans, runID, asOf)
        written.events += try correctionEvents(db, plans, runID, asOf)
        written.invoices = try issueInvoices(db, plans, runID, asOf)
        let entryQueue = plans.flatMap(\.consumedEntryQueueIDs)
        if !entryQueue.isEmpty {
            try db.execute("DELETE FROM topup_entry_queue WHERE id = ANY($1::bigint[])", [entryQueue])
        }
        let invoiceQueue = plans.flatMap(\.consumedInvoiceQueueIDs)
        if !invoiceQueue.isEmpty {
            try db.execute("DELETE FROM topup_invoice_queue WHERE id = ANY($1::bigint[])", [invoiceQueue])
        }
        let serviceQueue = plans.flatMap(\.consumedServiceQueueIDs)
        if !serviceQueue.isEmpty {
            try db.execute("DELETE FROM topup_service_queue WHERE id = ANY($1::bigint[])", [serviceQueue])
        }
        // Held back by max_topups_per_day: queued again, so the next runs look again (and the
        // first one on the customer's next local day invoices it).
        let heldBack = plans.flatMap { plan in plan.limitReached.map { (plan.customerID, $0.serviceID) } }
        if !heldBack.isEmpty {
            try db.execute("""
                INSERT INTO topup_service_queue (customer_id, service_id)
                SELECT * FROM unnest($1::bigint[], $2::bigint[])
                """, [heldBack.map(\.0), heldBack.map(\.1)])
        }
        return written
    }

    private static func insertLedger(_ db: PostgresConnection, _ plans: [ThresholdTopupPlan], _ runID: Int64) throws -> [LedgerRecord] {
        let rows = plans.flatMap { plan in plan.ledger.map { (plan.customerID, $0) } }
        guard !rows.isEmpty else { return [] }
        let inserted = try db.query("""
            INSERT INTO credit_ledger (customer_id, service_id, amount, currency, reason, time_entry_id, invoice_id,
                                       minutes, hourly_rate, source_key, run_id, plan_id)
            SELECT u.customer_id, u.service_id, u.amount, u.currency, u.reason, u.time_entry_id, u.invoice_id,
                   u.minutes::integer, u.hourly_rate, u.source_key, $11, u.plan_id
              FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::bigint[], $7::bigint[],
                          $8::bigint[], $9::bigint[], $10::text[], $12::bigint[])
                   AS u(customer_id, service_id, amount, currency, reason, time_entry_id, invoice_id, minutes, hourly_rate, source_key, plan_id)
            ON CONFLICT (customer_id, source_key) DO NOTHING
            RETURNING id, customer_id, service_id, amount, currency, reason, time_entry_id, invoice_id, minutes, hourly_rate, source_key
            """, [
                rows.map(\.0), rows.map(\.1.serviceID), rows.map(\.1.amount), rows.map(\.1.currency.rawValue),
                rows.map(\.1.reason.rawValue), rows.map(\.1.timeEntryID), rows.map(\.1.invoiceID), rows.map(\.1.minutes),
                rows.map(\.1.hourlyRate), rows.map(\.1.sourceKey), runID, rows.map(\.1.planID),
            ]).map { row in
                LedgerRecord(
                    id: try row.decode(0), customerID: try row.decode(1), serviceID: try row.decode(2), amount: try row.decode(3),
                    currency: try row.decode(4), reason: try row.decode(5), timeEntryID: try row.decode(6, as: Int64?.self),
                    invoiceID: try row.decode(7, as: Int64?.self), minutes: try row.decode(8, as: Int64?.self),
                    hourlyRate: try row.decode(9, as: Int64?.self), sourceKey: try row.decode(10))
            }
        try refuseExisting(planned: rows.map { ($0.0, $0.1.sourceKey) }, inserted: Set(inserted.map(\.sourceKey)), table: "credit_ledger")
        return inserted
    }

    /// One `debit_corrected` audit event per correction of an entry's debit (entity
    /// `time_entry`), saying why, with the ledger row's source key (`tt:adj:...`) as its own.
    private static func correctionEvents(_ db: PostgresConnection, _ plans: [ThresholdTopupPlan], _ runID: Int64, _ asOf: Instant) throws -> [EventRecord] {
        let rows = plans.flatMap { plan in
            plan.ledger.compactMap { row in
                plan.corrections[row.sourceKey].map { (plan.customerID, row, $0) }
            }.filter { $0.1.timeEntryID != nil }
        }
        guard !rows.isEmpty else { return [] }
        let details: [JSONValue] = rows.map { _, row, why in
            .object([
                ("reason", .string(why)), ("service_id", .int(row.serviceID)), ("amount", .int(row.amount)),
                ("currency", .string(row.currency.rawValue)), ("minutes", row.minutes.map { .int($0) } ?? .null),
                ("hourly_rate", row.hourlyRate.map { .int($0) } ?? .null), ("ledger_source_key", .string(row.sourceKey)),
            ])
        }
        return try db.query("""
            INSERT INTO audit_events (run_id, at, customer_id, entity, entity_id, event, detail, source_key)
            SELECT $1, $2, u.customer_id, 'time_entry', u.entry_id, 'debit_corrected', u.detail::jsonb, u.source_key
              FROM unnest($3::bigint[], $4::bigint[], $5::text[], $6::text[]) AS u(customer_id, entry_id, detail, source_key)
            ON CONFLICT (customer_id, source_key) DO NOTHING
            RETURNING id, customer_id, entity_id, event, detail, source_key
            """, [runID, asOf, rows.map(\.0), rows.map { $0.1.timeEntryID ?? 0 }, details.map(\.compactText),
                  rows.map { "tt:event:" + $0.1.sourceKey }]).map { row in
                EventRecord(id: try row.decode(0), customerID: try row.decode(1), invoiceID: try row.decode(2),
                            event: try row.decode(3), detail: try row.decode(4), sourceKey: try row.decode(5), entity: "time_entry")
            }
    }

    private static func moveStatuses(_ db: PostgresConnection, _ plans: [ThresholdTopupPlan], _ runID: Int64, _ asOf: Instant) throws -> ([StatusRecord], [EventRecord]) {
        let changes = plans.flatMap(\.statusChanges)
        guard !changes.isEmpty else { return ([], []) }
        // Only from the status planned from: if suspension-sweep (or a person) moved it first, done.
        let moved = try db.query("""
            UPDATE invoices i SET status = u.to_status
              FROM unnest($1::bigint[], $2::text[], $3::text[]) AS u(id, from_status, to_status)
             WHERE i.id = u.id AND i.status = u.from_status
            RETURNING i.id, i.customer_id, u.from_status, i.status, i.total, i.currency
            """, [changes.map(\.invoiceID), changes.map(\.from.rawValue), changes.map(\.to.rawValue)]).map { row in
                StatusRecord(invoiceID: try row.decode(0), customerID: try row.decode(1), from: try row.decode(2),
                             to: try row.decode(3), total: try row.decode(4), currency: try row.decode(5))
            }.sorted { $0.invoiceID < $1.invoiceID }
        let movedIDs = Set(moved.map(\.invoiceID))
        let paid = plans.flatMap { plan in
            plan.statusChanges.filter { movedIDs.contains($0.invoiceID) && $0.auditSourceKey != nil }.map { (plan.customerID, $0) }
        }
        guard !paid.isEmpty else { return (moved, []) }
        let details: [JSONValue] = paid.map { _, change in
            .object([
                ("total", .int(change.total)), ("paid", .int(change.paid)), ("currency", .string(change.currency.rawValue)),
                ("service_id", change.serviceID.map { .int($0) } ?? .null), ("from", .string(change.from.rawValue)),
                ("to", .string(change.to.rawValue)),
            ])
        }
        let events = try db.query("""
            INSERT INTO audit_events (run_id, at, customer_id, entity, entity_id, event, detail, source_key)
            SELECT $1, $2, u.customer_id, 'invoice', u.invoice_id, u.event, u.detail::jsonb, u.source_key
              FROM unnest($3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::text[]) AS u(customer_id, invoice_id, detail, source_key, event)
            ON CONFLICT (customer_id, source_key) DO NOTHING
            RETURNING id, customer_id, entity_id, event, detail, source_key
            """, [runID, asOf, paid.map(\.0), paid.map(\.1.invoiceID), details.map(\.compactText), paid.map { $0.1.auditSourceKey ?? "" },
                  paid.map(\.1.auditEvent)]).map { row in
                EventRecord(id: try row.decode(0), customerID: try row.decode(1), invoiceID: try row.decode(2),
                            event: try row.decode(3), detail: try row.decode(4), sourceKey: try row.decode(5))
            }
        return (moved, events)
    }

    /// Draft, item, then issue: issued invoices are immutable, and the total is the item's sum.
    private static func issueInvoices(_ db: PostgresConnection, _ plans: [ThresholdTopupPlan], _ runID: Int64, _ asOf: Instant) throws -> [InvoiceRecord] {
        let planned = plans.flatMap { plan in plan.invoices.map { (plan.customerID, $0) } }
        guard !planned.isEmpty else { return [] }
        var drafts: [String: Int64] = [:]
        for row in try db.query("""
            INSERT INTO invoices (customer_id, currency, kind, status, total, source_key, run_id, tax_total, tax_note)
            SELECT u.customer_id, u.currency, 'topup', 'draft', 0, u.source_key, $4, u.tax_total, u.tax_note
              FROM unnest($1::bigint[], $2::text[], $3::text[], $5::bigint[], $6::text[])
                   AS u(customer_id, currency, source_key, tax_total, tax_note)
            ON CONFLICT (customer_id, source_key) DO NOTHING
            RETURNING id, source_key
            """, [planned.map(\.0), planned.map(\.1.currency.rawValue), planned.map(\.1.sourceKey), runID,
                  planned.map { $0.1.taxes?.taxTotal ?? 0 }, planned.map(\.1.taxNote)]) {
            drafts[try row.decode(1, as: String.self)] = try row.decode(0, as: Int64.self)
        }
        try refuseExisting(planned: planned.map { ($0.0, $0.1.sourceKey) }, inserted: Set(drafts.keys), table: "invoices")
        let invoiceIDs = planned.map { drafts[$0.1.sourceKey] ?? 0 }

        var items: [Int64: ItemRecord] = [:]
        for row in try db.query("""
            INSERT INTO billable_items (customer_id, service_id, invoice_id, kind, description, quantity, unit_price, amount,
                                        currency, source_key, run_id, tax_rate, tax_percent)
            SELECT u.customer_id, u.service_id, u.invoice_id, 'topup', u.description, u.quantity::numeric, u.unit_price,
                   u.amount, u.currency, u.source_key, $10, u.tax_rate, u.tax_percent
              FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::bigint[], $6::bigint[], $7::bigint[],
                          $8::text[], $9::text[], $11::text[], $12::numeric[])
                   AS u(customer_id, service_id, invoice_id, description, quantity, unit_price, amount, currency, source_key,
                        tax_rate, tax_percent)
            ON CONFLICT (customer_id, source_key) DO NOTHING
            RETURNING invoice_id, id, service_id, description, quantity::bigint, unit_price, amount, source_key
            """, [
                planned.map(\.0), planned.map(\.1.serviceID), invoiceIDs, planned.map(\.1.description), planned.map(\.1.packs),
                planned.map(\.1.packPrice), planned.map(\.1.amount), planned.map(\.1.currency.rawValue),
                planned.map(\.1.itemSourceKey), runID, planned.map(\.1.taxRate?.code), planned.map(\.1.taxRate?.percent),
            ]) {
            items[try row.decode(0, as: Int64.self)] = ItemRecord(
                id: try row.decode(1), serviceID: try row.decode(2), description: try row.decode(3), quantity: try row.decode(4),
                unitPrice: try row.decode(5), amount: try row.decode(6), sourceKey: try row.decode(7))
        }
        try refuseExisting(planned: planned.map { ($0.0, $0.1.itemSourceKey) }, inserted: Set(items.values.map(\.sourceKey)), table: "billable_items")
        let taxes = Dictionary(planned.map { ($0.1.sourceKey, $0.1.taxes) }, uniquingKeysWith: { first, _ in first })
        try CustomerTaxes.replace(db, zip(planned, invoiceIDs).compactMap { entry, id in
            entry.1.taxes.map { (entry.0, id, $0) }
        })

        return try db.query("""
            WITH u AS (
                SELECT * FROM unnest($1::bigint[], $2::date[]) AS u(id, due_on)
            ), sums AS (
                SELECT invoice_id, sum(amount)::bigint AS total FROM billable_items
                 WHERE invoice_id = ANY($1::bigint[]) GROUP BY invoice_id
            )
            -- Gross: the item (net) and its tax (docs/invoices.md, "Taxes").
            UPDATE invoices i
               SET total = sums.total + i.tax_total, status = 'issued', issued_at = $3, due_on = u.due_on
              FROM u JOIN sums ON sums.invoice_id = u.id
             WHERE i.id = u.id
            RETURNING i.id, i.customer_id, i.currency, i.status, i.issued_at, i.due_on, i.total, i.source_key, i.number,
                      i.tax_total, i.tax_note
            """, [invoiceIDs, planned.map(\.1.dueOn), asOf]).map { row in
                let id = try row.decode(0, as: Int64.self)
                guard let item = items[id] else { throw PostgresError.decoding("invoice \(id) was issued without its item") }
                return InvoiceRecord(
                    id: id, customerID: try row.decode(1), currency: try row.decode(2), status: try row.decode(3),
                    issuedAt: try row.decode(4), dueOn: try row.decode(5), total: try row.decode(6), sourceKey: try row.decode(7),
                    number: try row.decode(8), item: item, taxTotal: try row.decode(9), taxNote: try row.decode(10, as: String?.self),
                    taxes: taxes[try row.decode(7, as: String.self)] ?? nil)
            }
    }

    private static func refuseExisting(planned: [(customer: Int64, key: String)], inserted: Set<String>, table: String) throws {
        guard let missing = planned.first(where: { !inserted.contains($0.key) }) else { return }
        throw BillingError.invalidInput(
            "\(table) already has \(missing.key): customer \(missing.customer)'s data changed while this run was planning it; "
            + "nothing was written for the customer and the next run completes it")
    }
}
