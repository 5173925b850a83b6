import BillingCore
import BillingStore

/// Turns what the sweep changed into `audit_events` rows whose detail answers "why?" (the
/// invoices, due dates, grace, amounts outstanding, the group), and into report records.
enum SuspensionSweepEvents {
    /// What the guarded writes of a batch actually changed.
    struct Applied {
        var withdrawn: Set<Int64> = []
        /// Inserted applications: id by source_key.
        var applied: [String: Int64] = [:]
        var paid: Set<Int64> = []
        var unpaid: Set<Int64> = []
        var suspended: Set<Int64> = []
        var restored: Set<Int64> = []
        var added: Set<SuspensionSweepStore.Membership> = []
        var removed: Set<SuspensionSweepStore.Membership> = []
    }

    /// An event and the key that orders it within its customer in reports: credit applications
    /// (withdrawn, then applied), invoices, then services, then groups, each by id.
    struct Planned {
        let event: SuspensionSweepStore.AuditEvent
        let sortKey: String
    }

    static func events(_ customer: CustomerRecord, _ plan: SuspensionSweepPlan, _ applied: Applied, currencies: [CurrencyCode: Currency]) -> [Planned] {
        func money(_ amount: Int64, _ code: CurrencyCode) -> String {
            (currencies[code] ?? Currency(code: code, minorUnits: 2)).format(amount)
        }
        func make(_ rank: Int, _ entity: String, _ id: Int64, _ event: String, _ detail: [(String, JSONValue)]) -> Planned {
            let padded = String(id)
            let key = "ss:\(rank):\(entity):\(String(repeating: "0", count: max(0, 20 - padded.count)))\(padded):\(event)"
            return Planned(event: SuspensionSweepStore.AuditEvent(customerID: customer.id, entity: entity, entityID: id, event: event, detail: .object(detail)), sortKey: key)
        }
        let ids = { (list: [Int64]) -> JSONValue in .array(list.map { .int($0) }) }
        var planned: [Planned] = []

        for withdrawal in plan.withdrawals where applied.withdrawn.contains(withdrawal.stored.id) {
            let stored = withdrawal.stored
            planned.append(make(0, "credit_application", stored.id, "credit_withdrawn", [
                ("reason", .string(withdrawal.reason)),
                ("credit_note_id", .int(stored.creditNoteID)), ("invoice_id", .int(stored.invoiceID)),
                ("currency", .string(stored.currency.rawValue)), ("amount", .int(stored.amount)),
            ]))
        }
        for new in plan.applications {
            guard let id = applied.applied[new.sourceKey] else { continue }
            let application = new.application
            let why = application.rule == .correctedMonth
                ? "credit note \(application.creditNoteID) corrects the month of invoice \(application.invoiceID)"
                : "credit note \(application.creditNoteID) settles the customer's oldest open invoices first"
            planned.append(make(1, "credit_application", id, "credit_applied", [
                ("reason", .string(why)), ("rule", .string(application.rule.rawValue)),
                ("credit_note_id", .int(application.creditNoteID)), ("invoice_id", .int(application.invoiceID)),
                ("currency", .string(application.currency.rawValue)), ("amount", .int(application.amount)),
                ("source_key", .string(new.sourceKey)),
            ]))
        }
        for settlement in plan.paid where applied.paid.contains(settlement.invoiceID) {
            planned.append(make(2, "invoice", settlement.invoiceID, "invoice_paid", [
                ("reason", .string(settlement.credited > 0 ? "completed payments and applied credit reach the total" : "completed payments reach the total")),
                ("kind", .string(settlement.kind)), ("currency", .string(settlement.currency.rawValue)),
                ("total", .int(settlement.total)), ("paid", .int(settlement.paid)), ("credited", .int(settlement.credited)),
                ("payment_ids", ids(settlement.completedPaymentIDs)), ("credit_note_ids", ids(settlement.creditNoteIDs)),
                ("due_on", .string(settlement.dueOn.description)),
            ]))
        }
        for settlement in plan.unpaid where applied.unpaid.contains(settlement.invoiceID) {
            planned.append(make(2, "invoice", settlement.invoiceID, "invoice_unpaid", [
                ("reason", .string(settlement.credited > 0 ? "completed payments and applied credit no longer reach the total" : "completed payments no longer reach the total")),
                ("kind", .string(settlement.kind)), ("currency", .string(settlement.currency.rawValue)),
                ("total", .int(settlement.total)), ("paid", .int(settlement.paid)), ("credited", .int(settlement.credited)),
                ("outstanding", .int(settlement.outstanding)),
                ("payment_ids", ids(settlement.completedPaymentIDs)), ("reversed_payment_ids", ids(settlement.reversedPaymentIDs)),
                ("credit_note_ids", ids(settlement.creditNoteIDs)),
                ("due_on", .string(settlement.dueOn.description)),
            ]))
        }
        for suspension in plan.suspensions where applied.suspended.contains(suspension.serviceID) {
            // Invoices by kind, not id: the ids are in `invoices`, and a summary without them reads
            // the same in every simulation of the same data.
            let summary = suspension.invoices.map { invoice in
                "\(invoice.kind) invoice: \(money(invoice.outstanding, invoice.currency)) outstanding, due \(invoice.dueOn), "
                    + "overdue since \(invoice.overdueSince) (\(invoice.graceDays) days' grace)"
            }.joined(separator: "; ")
            planned.append(make(3, "service", suspension.serviceID, "suspended", [
                ("reason", .string(SuspensionSweepPlanner.suspendReason)),
                ("summary", .string(summary)),
                ("plan", .string(suspension.planCode)), ("grace_days", .int(Int64(suspension.graceDays))),
                ("local_as_of", .string(customer.localAsOf.description)),
                ("invoices", .array(suspension.invoices.map { invoice in
                    .object([
                        ("invoice_id", .int(invoice.invoiceID)), ("kind", .string(invoice.kind)),
                        ("currency", .string(invoice.currency.rawValue)), ("total", .int(invoice.total)),
                        ("paid", .int(invoice.paid)), ("credited", .int(invoice.credited)), ("outstanding", .int(invoice.outstanding)),
                        ("due_on", .string(invoice.dueOn.description)), ("grace_days", .int(Int64(invoice.graceDays))),
                        ("overdue_since", .string(invoice.overdueSince.description)),
                        ("days_past_due", .int(Int64(invoice.daysPastDue))),
                    ])
                })),
            ]))
        }
        for restoration in plan.restorations where applied.restored.contains(restoration.serviceID) {
            planned.append(make(3, "service", restoration.serviceID, "unsuspended", [
                ("reason", "no overdue invoice left"),
                ("suspend_reason", .string(SuspensionSweepPlanner.suspendReason)),
                ("suspended_at", restoration.suspendedAt.map { .string($0.description) } ?? .null),
                ("plan", .string(restoration.planCode)),
                ("local_as_of", .string(customer.localAsOf.description)),
                ("paid_invoice_ids", ids(restoration.paidInvoiceIDs)),
                ("open_invoices", .array(restoration.openInvoices.map { invoice in
                    .object([
                        ("invoice_id", .int(invoice.invoiceID)), ("due_on", .string(invoice.dueOn.description)),
                        ("overdue_since", .string(invoice.overdueSince.description)),
                    ])
                })),
            ]))
        }
        func services(_ states: [SuspensionSweepPlan.ServiceState]) -> JSONValue {
            .array(states.map { state in
                .object([
                    ("service_id", .int(state.serviceID)), ("plan", .string(state.planCode)),
                    ("status", .string(state.status.rawValue)),
                    ("suspend_reason", state.suspendReason.map { .string($0) } ?? .null),
                ])
            })
        }
        for change in plan.groupAdditions where applied.added.contains(.init(customerID: customer.id, groupID: change.groupID)) {
            planned.append(make(4, "customer_group", change.groupID, "group_added", [
                ("group_id", .int(change.groupID)), ("group", .string(change.groupName)), ("managed", true),
                ("reason", "an active service on a plan of this group"),
                ("services", services(change.services)),
            ]))
        }
        for change in plan.groupRemovals where applied.removed.contains(.init(customerID: customer.id, groupID: change.groupID)) {
            let why = change.services.isEmpty
                ? "no service on a plan of \(change.groupName)"
                : "no active service on a plan of \(change.groupName): " + change.services.map { state in
                    "service \(state.serviceID) (\(state.planCode)) \(state.status.rawValue)"
                        + (state.suspendReason.map { " for \($0)" } ?? "")
                }.joined(separator: ", ")
            planned.append(make(4, "customer_group", change.groupID, "group_removed", [
                ("group_id", .int(change.groupID)), ("group", .string(change.groupName)),
                ("reason", "no active service on a plan of this group"),
                ("summary", .string(why)),
                ("member_since", change.memberSince.map { .string($0.description) } ?? .null),
                ("services", services(change.services)),
            ]))
        }
        return planned
    }

    /// The report row of an inserted event: the columns of `audit_events`.
    static func record(_ planned: Planned, id: Int64, runID: Int64, at: Instant) -> ReportRecord {
        let event = planned.event
        return ReportRecord(customerID: event.customerID, sortKey: planned.sortKey, fields: [
            ("id", .int(id)), ("run_id", .int(runID)), ("at", .string(at.description)),
            ("customer_id", .int(event.customerID)), ("entity", .string(event.entity)), ("entity_id", .int(event.entityID)),
            ("event", .string(event.event)), ("detail", event.detail), ("source_key", .null),
        ])
    }
}
