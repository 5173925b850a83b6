import BillingCore
import BillingStore

/// threshold-topup (docs/design.md §8, issue 4), hourly: debits the time worked on pre-paid services,
/// credits paid top-up invoices (and takes the credit back when a payment is reversed), and
/// issues a top-up invoice when a service's credit, counting unpaid top-ups, is at or below its
/// threshold. Its cost follows the changes since the last run (queues kept by triggers), not the
/// size of the history. docs/jobs/threshold-topup.md has the rules and the decisions.
public struct ThresholdTopupJob: BillingJob {
    public static let name = JobName.thresholdTopup
    let parameters: ThresholdTopupParameters
    /// Tests only (never set from jobs/*.toml or the CLI): corrections switched off, so that the
    /// convergence property test can show it catches their absence.
    public var disabledCorrections: Set<ThresholdTopupPlanner.Correction> = []

    public init(parameters: ThresholdTopupParameters) {
        self.parameters = parameters
    }

    var rules: ThresholdTopupRules {
        ThresholdTopupRules(dueDays: parameters.dueDays, maxTopupsPerDay: parameters.maxTopupsPerDay)
    }

    public func customers(_ context: JobContext) throws -> [Int64] {
        try ThresholdTopupStore.customers(context.db, filter: context.customerFilterBind)
    }

    public func process(_ batch: [CustomerRecord], _ context: JobContext) throws -> JobOutput {
        var output = JobOutput()
        let loaded = try ThresholdTopupStore.load(context.db, customers: batch, asOf: context.asOf, rules: rules)
        var plans: [ThresholdTopupPlan] = []
        for var input in loaded.inputs {
            input.disabledCorrections = disabledCorrections
            do {
                var plan = try ThresholdTopupPlanner.plan(input)
                plan.consumedInvoiceQueueIDs += loaded.orphanInvoiceQueueIDs[input.customerID] ?? []
                for limit in plan.limitReached { output.report(input.customerID, limit.reason) }
                if !plan.deferredEntryIDs.isEmpty { output.count("entries_not_yet_worked", plan.deferredEntryIDs.count) }
                plans.append(plan)
            } catch let error as BillingError {
                // Nothing is written for the customer, and its queue rows stay for the next run.
                output.skip(input.customerID, error.message)
            }
        }
        let written = try ThresholdTopupWriter.write(context.db, plans: plans, runID: context.runID, asOf: context.asOf)
        report(written, asOf: context.asOf, into: &output)
        return output
    }

    private func report(_ written: ThresholdTopupWriter.Written, asOf: Instant, into output: inout JobOutput) {
        for row in written.ledger {
            output.count("ledger")
            switch (row.reason, row.timeEntryID, row.invoiceID) {
            case ("usage", _, _):
                output.count("entries_debited")
                output.total("debited", row.amount, row.currency)
            case ("topup", _, _):
                output.count("topups_credited")
                output.total("credited", row.amount, row.currency)
            case (_, .some, _):
                output.count("entries_corrected")
                output.total("corrected", row.amount, row.currency)
            default:
                output.count("credits_taken_back")
                output.total("taken_back", row.amount, row.currency)
            }
            output.append(.ledger, ReportRecord(customerID: row.customerID, sortKey: row.sourceKey, fields: [
                ("id", .int(row.id)), ("customer_id", .int(row.customerID)), ("service_id", .int(row.serviceID)),
                ("amount", .int(row.amount)), ("currency", .string(row.currency.rawValue)), ("reason", .string(row.reason)),
                ("time_entry_id", row.timeEntryID.map { .int($0) } ?? .null), ("invoice_id", row.invoiceID.map { .int($0) } ?? .null),
                ("minutes", row.minutes.map { .int($0) } ?? .null), ("hourly_rate", row.hourlyRate.map { .int($0) } ?? .null),
                ("source_key", .string(row.sourceKey)),
            ]))
        }
        for invoice in written.invoices {
            output.count("invoices")
            output.total("invoiced", invoice.total, invoice.currency)
            let item = invoice.item
            let taxes = invoice.taxes ?? InvoiceTaxes(untaxedSubtotal: item.amount)
            output.append(.invoices, ReportRecord(customerID: invoice.customerID, sortKey: invoice.sourceKey, fields: [
                ("id", .int(invoice.id)), ("customer_id", .int(invoice.customerID)), ("currency", .string(invoice.currency.rawValue)),
                ("kind", "topup"), ("number", .string(invoice.number)), ("period_start", .null), ("period_end", .null),
                ("status", .string(invoice.status)),
                ("issued_at", .string(invoice.issuedAt.description)), ("due_on", .string(invoice.dueOn.description)),
                ("total", .int(invoice.total)),
            ] + taxes.reportFields(note: invoice.taxNote) + [
                ("source_key", .string(invoice.sourceKey)),
                ("items", .array([.object([
                    ("id", .int(item.id)), ("customer_id", .int(invoice.customerID)), ("service_id", .int(item.serviceID)),
                    ("invoice_id", .int(invoice.id)), ("kind", "topup"), ("description", .string(item.description)),
                    ("minutes", .null), ("quantity", .decimal(String(item.quantity))), ("unit_price", .int(item.unitPrice)),
                    ("amount", .int(item.amount)), ("currency", .string(invoice.currency.rawValue)),
                    ("period_start", .null), ("period_end", .null), ("source_key", .string(item.sourceKey)),
                    ("tax_rate", taxes.lines.first.map { .string($0.rate.code) } ?? .null),
                    ("tax_percent", taxes.lines.first.map { .decimal($0.rate.percent.description) } ?? .null),
                ])])),
                taxes.taxesField,
            ]))
        }
        for change in written.statusChanges {
            if change.to == "paid" {
                output.count("invoices_paid")
            } else {
                output.count("invoices_unpaid")
                output.notices.append("customer \(change.customerID): top-up invoice \(change.invoiceID) is unpaid again (its payment was reversed): \(change.from) -> \(change.to), its credit is taken back")
            }
        }
        for event in written.events {
            output.count("events")
            output.append(.events, ReportRecord(customerID: event.customerID, sortKey: event.sourceKey, fields: [
                ("id", .int(event.id)), ("at", .string(asOf.description)), ("customer_id", .int(event.customerID)), ("entity", .string(event.entity)),
                ("entity_id", .int(event.invoiceID)), ("event", .string(event.event)), ("detail", event.detail),
                ("source_key", .string(event.sourceKey)),
            ]))
        }
    }
}
