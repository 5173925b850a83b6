import BillingCore
import BillingStore
import Postgres

/// monthly-rollup (docs/design.md §8): recurring fees, setup fees and metered usage rolled up into one
/// `period` invoice per customer, currency and month, with re-rating of the months already
/// billed. See docs/jobs/monthly-rollup.md.
///
/// Once per run: the usage of every customer's window, aggregated by PostgreSQL in one pass over
/// the window's entries (`prepare`). Per batch: four set-based reads (MonthlyRollupStore), the
/// pure planner per customer in memory (MonthlyRollupPlanner), and a fixed number of bulk writes
/// (MonthlyRollupWriter).
public struct MonthlyRollupJob: BillingJob {
    public static let name = JobName.monthlyRollup
    let parameters: MonthlyRollupParameters
    /// Tests only (never set from jobs/*.toml or the CLI): corrections switched off, so that the
    /// convergence property test can show it catches their absence.
    public var disabledCorrections: Set<MonthlyRollupPlanner.Correction> = []

    public init(parameters: MonthlyRollupParameters) {
        self.parameters = parameters
    }

    /// Customers with a billable service, with other jobs' uninvoiced items (not netted), with
    /// changed time entries of the window's months, or with rollup invoices recent enough to be
    /// re-rated (their services may have gone since).
    public func customers(_ context: JobContext) throws -> [Int64] {
        try context.db.query("""
            SELECT c.id FROM customers c
             WHERE ($1::bigint[] IS NULL OR c.id = ANY($1))
               AND (EXISTS (SELECT 1 FROM services s JOIN plans p ON p.id = s.plan_id
                              LEFT JOIN plan_prices pp ON pp.plan_id = s.plan_id AND pp.currency = s.currency
                             WHERE s.customer_id = c.id AND s.status <> 'pending'
                               AND (p.billing IN ('recurring', 'metered') OR pp.recurring_fee > 0 OR pp.setup_fee > 0))
                    OR EXISTS (SELECT 1 FROM billable_items b
                                WHERE b.customer_id = c.id AND b.invoice_id IS NULL AND b.rollup_line IS NULL
                                  AND b.period_start IS NOT NULL
                                  AND NOT EXISTS (SELECT 1 FROM rollup_netted_items n
                                                   WHERE n.customer_id = b.customer_id AND n.item_id = b.id))
                    OR EXISTS (SELECT 1 FROM rollup_entry_changes q
                                WHERE q.customer_id = c.id AND q.worked_at >= $2::date - 1)
                    OR EXISTS (SELECT 1 FROM invoices i
                                WHERE i.customer_id = c.id AND i.kind IN ('period', 'adjustment')
                                  AND i.period_start >= $2 AND i.source_key LIKE 'mr:%'))
             ORDER BY c.id
            """, [context.customerFilterBind, earliestMonth(context).adding(months: -1).firstDay]).map { try $0.decode(0, as: Int64.self) }
    }

    /// A lower bound of every customer's first window month (local dates are within a day of UTC).
    private func earliestMonth(_ context: JobContext) -> YearMonth {
        if let period = context.period { return period }
        return context.asOf.utcDate.adding(days: -1).yearMonth.adding(months: -max(1, parameters.lookbackMonths))
    }

    /// An upper bound of every customer's last window month: the month before the latest local
    /// date of as-of (UTC+14 is a day ahead at most).
    private func latestMonth(_ context: JobContext) -> YearMonth {
        if let period = context.period { return period }
        return context.asOf.utcDate.adding(days: 1).yearMonth.previous
    }

    /// The usage of every customer's window in one statement (see `MonthlyRollupStore.prepareUsage`).
    public func prepare(_ context: JobContext) throws -> JobOutput {
        try MonthlyRollupStore.prepareUsage(context.db, customerFilter: context.customerFilterBind,
                                            first: earliestMonth(context), last: latestMonth(context))
        try RollupEntryChanges.prepare(context.db)
        return JobOutput()
    }

    public func process(_ batch: [CustomerRecord], _ context: JobContext) throws -> JobOutput {
        var output = JobOutput()
        var windows: [Int64: RollupWindow] = [:]
        var notClosed: [YearMonth: [Int64]] = [:]
        for customer in batch {
            let window = RollupWindow.make(period: context.period, lookbackMonths: parameters.lookbackMonths, localAsOf: customer.localAsOf)
            if let month = window.notClosed { notClosed[month, default: []].append(customer.id) }
            windows[customer.id] = window
        }
        for (month, ids) in notClosed.sorted(by: { $0.key < $1.key }) {
            output.count("not_closed", ids.count)
            let shown = ids.prefix(10).map(String.init).joined(separator: ", ") + (ids.count > 10 ? ", ..." : "")
            output.notices.append("\(month) has not closed yet in the time zone of \(ids.count) customer\(ids.count == 1 ? "" : "s") (\(shown)): not billed; run again once the month is over")
        }

        let started = ContinuousClock.now
        let active = batch.filter { windows[$0.id]?.range != nil }
        let loaded = try MonthlyRollupStore.load(context.db, windows: active.compactMap { customer in
            windows[customer.id]?.range.map { MonthlyRollupStore.Window(customerID: customer.id, range: $0) }
        })

        var plans: [MonthlyRollupPlan] = []
        for customer in active {
            if let defect = loaded.defects[customer.id] {
                output.skip(customer.id, defect)
                continue
            }
            var input = MonthlyRollupInput(
                customerID: customer.id, localAsOf: customer.localAsOf, asOf: context.asOf,
                window: windows[customer.id] ?? RollupWindow(months: []), services: loaded.services[customer.id] ?? [],
                usage: loaded.usage[customer.id] ?? [], invoices: loaded.invoices[customer.id] ?? [],
                openItems: loaded.openItems[customer.id] ?? [], dueDays: parameters.dueDays, issue: parameters.issue
            )
            input.tax = loaded.taxes[customer.id] ?? .untaxed
            input.disabledCorrections = disabledCorrections
            input.cutover = loaded.cutover
            switch MonthlyRollupPlanner.plan(input) {
            case .skip(let reason):
                output.skip(customer.id, reason)
            case .plan(let plan):
                output.notices += plan.notices
                if !plan.isEmpty { plans.append(plan) }
            }
        }

        let planned = ContinuousClock.now
        let written = try MonthlyRollupWriter.write(context.db, plans: plans, runID: context.runID, asOf: context.asOf)
        context.logger.debug("monthly-rollup batch", metadata: [
            "batch.customers": "\(batch.count)", "batch.plans": "\(plans.count)",
            "batch.read_and_plan": "\(planned - started)", "batch.write": "\(ContinuousClock.now - planned)",
        ])
        for plan in plans {
            for invoice in plan.invoices { report(invoice, customer: plan.customerID, written: written, into: &output) }
            for netting in plan.netted { output.count("items_netted", netting.itemIDs.count) }
        }
        try lateEntries(active.filter { customer in !output.skipped.contains { $0.customerID == customer.id } }, windows: windows, context, into: &output)
        return output
    }

    /// The notes of changed time entries (sql/150): those of the months this run re-rated are
    /// done with; those of months older than the window the timer's runs bill
    /// (`lookback_months` before the local as-of month, whatever `--period` says) are late
    /// entries no timer run will bill: each customer and month gets a notice with the command
    /// that bills it (`supportbill check` lists them too).
    private func lateEntries(_ customers: [CustomerRecord], windows: [Int64: RollupWindow], _ context: JobContext, into output: inout JobOutput) throws {
        guard !customers.isEmpty else { return }
        try RollupEntryChanges.consume(context.db, rerated: customers.compactMap { customer in
            windows[customer.id]?.range.map { RollupEntryChanges.Range(customerID: customer.id, range: $0) }
        })
        let late = try RollupEntryChanges.late(context.db, before: customers.compactMap { customer in
            let timer = RollupWindow.make(period: nil, lookbackMonths: parameters.lookbackMonths, localAsOf: customer.localAsOf)
            return timer.months.first.map { (customer.id, $0.firstDay) }
        })
        for entry in late {
            output.count("late_entry_months")
            output.notices.append("customer \(entry.customerID): \(entry.entries) time entr\(entry.entries == 1 ? "y" : "ies") of \(entry.month) (entry \(entry.firstEntryID)\(entry.entries > 1 ? ", ..." : "")) changed after the month left the window of the timer's runs: bill \(entry.entries == 1 ? "it" : "them") with `\(RollupEntryChanges.command(month: entry.month, customerID: entry.customerID))`")
        }
    }

    private func report(_ invoice: RollupInvoicePlan, customer: Int64, written: MonthlyRollupWriter.Written, into output: inout JobOutput) {
        let currency = invoice.currency
        switch invoice.action {
        case .create:
            output.count(invoice.kind == .period ? "invoices" : "adjustment_invoices")
            output.total(invoice.kind == .period ? "invoiced" : "adjusted", invoice.total, currency)
        case .correct:
            if !invoice.deletedItemIDs.isEmpty || invoice.items.contains(where: { $0.change != .keep }) {
                output.count("drafts_corrected")
                output.total("draft_changes", invoice.total - invoice.previousTotal, currency)
            }
        case .remove:
            output.count("drafts_removed")
            output.total("draft_changes", -invoice.previousTotal, currency)
            output.notices.append("customer \(customer): draft \(invoice.sourceKey) (invoice \(invoice.existingID ?? 0)) was removed: its total is now 0")
            return
        }
        if invoice.issues {
            output.count("issued")
            output.total("issued", invoice.total, currency)
        }
        let invoiceID = written.invoiceIDs[invoice.sourceKey]
        var items: [JSONValue] = []
        for item in invoice.items {
            switch item.change {
            case .insert: output.count("items")
            case .update: output.count("items_corrected")
            case .attach: output.count("items_attached")
            case .keep: break
            }
            let id = item.id ?? written.itemIDs[item.sourceKey]
            items.append(.object([
                ("id", id.map { .int($0) } ?? .null),
                ("customer_id", .int(customer)),
                ("service_id", item.serviceID.map { .int($0) } ?? .null),
                ("invoice_id", invoiceID.map { .int($0) } ?? .null),
                ("kind", .string(item.kind)),
                ("description", .string(item.description)),
                ("minutes", item.minutes.map { .int($0) } ?? .null),
                ("quantity", .decimal(item.quantity.description)),
                ("unit_price", .int(item.unitPrice)),
                ("amount", .int(item.amount)),
                ("currency", .string(item.currency.rawValue)),
                ("period_start", item.periodStart.map { .string($0.description) } ?? .null),
                ("period_end", item.periodEnd.map { .string($0.description) } ?? .null),
                ("source_key", .string(item.sourceKey)),
                ("rollup_line", item.line.map { .string($0.key) } ?? .null),
                ("included_minutes", item.includedMinutes.map { .int($0) } ?? .null),
                ("increment_minutes", item.incrementMinutes.map { .int($0) } ?? .null),
                ("tax_rate", item.taxRate.map { .string($0.code) } ?? .null),
                ("tax_percent", item.taxRate.map { .decimal($0.percent.description) } ?? .null),
            ]))
        }
        if !invoice.deletedItemIDs.isEmpty { output.count("items_removed", invoice.deletedItemIDs.count) }
        let range = invoice.month.dateRange
        output.append(.invoices, ReportRecord(customerID: customer, sortKey: invoice.sourceKey, fields: [
            ("id", invoiceID.map { .int($0) } ?? .null),
            ("customer_id", .int(customer)),
            ("currency", .string(currency.rawValue)),
            ("kind", .string(invoice.kind.rawValue)),
            ("number", written.issued[invoice.sourceKey].map { .string($0.number) } ?? .null),
            ("corrects_invoice_id", written.corrects[invoice.sourceKey].map { .int($0) } ?? .null),
            ("period_start", .string(range.start.description)),
            ("period_end", .string(range.end.description)),
            ("status", .string(invoice.status)),
            ("issued_at", (written.issued[invoice.sourceKey]?.at ?? invoice.issuedAt).map { .string($0.description) } ?? .null),
            ("due_on", invoice.dueOn.map { .string($0.description) } ?? .null),
            ("total", .int(invoice.total)),
        ] + invoice.taxes.reportFields(note: invoice.taxNote) + [
            ("source_key", .string(invoice.sourceKey)),
            ("items", .array(items)),
            invoice.taxes.taxesField,
        ]))
    }
}
