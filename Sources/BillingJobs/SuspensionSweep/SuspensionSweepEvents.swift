import BillingCore
import BillingStore

/// Turns what the sweep changed into `audit_events` rows whose detail answers "why?" (the
/// invoices, due dates, grace, amounts outstanding, the group), and into report records.
enum SuspensionSweepEvents {
    /// What the guarded writes of a batch actually changed.
    struct Applied {
        var paid: Set<Int64> = []
        var unpaid: Set<Int64> = []
        var suspended: Set<Int64> = []
        var restored: Set<Int64> = []
        var added: Set<SuspensionSweepStore.Membership> = []
        var removed: Set<SuspensionSweepStore.Membership> = []
    }

    /// An event and the key that orders it within its customer in reports: invoices, then
    /// services, then groups, each by id.
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

        for settlement in plan.paid where applied.paid.contains(settlement.invoiceID) {
            planned.append(make(1, "invoice", settlement.invoiceID, "invoice_paid", [
                ("reason", "completed payments reach the total"),
                ("kind", .string(settlement.kind)), ("currency", .string(settlement.currency.rawValue)),
                ("total", .int(settlement.total)), ("paid", .int(settlement.paid)),
                ("payment_ids", ids(settlement.completedPaymentIDs)), ("due_on", .string(settlement.dueOn.description)),
            ]))
        }
        for settlement in plan.unpaid where applied.unpaid.contains(settlement.invoiceID) {
            planned.append(make(1, "invoice", settlement.invoiceID, "invoice_unpaid", [
                ("reason", "completed payments no longer reach the total"),
                ("kind", .string(settlement.kind)), ("currency", .string(settlement.currency.rawValue)),
                ("total", .int(settlement.total)), ("paid", .int(settlement.paid)), ("outstanding", .int(settlement.outstanding)),
                ("payment_ids", ids(settlement.completedPaymentIDs)), ("reversed_payment_ids", ids(settlement.reversedPaymentIDs)),
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
            planned.append(make(2, "service", suspension.serviceID, "suspended", [
                ("reason", .string(SuspensionSweepPlanner.suspendReason)),
                ("summary", .string(summary)),
                ("plan", .string(suspension.planCode)), ("grace_days", .int(Int64(suspension.graceDays))),
                ("local_as_of", .string(customer.localAsOf.description)),
                ("invoices", .array(suspension.invoices.map { invoice in
                    .object([
                        ("invoice_id", .int(invoice.invoiceID)), ("kind", .string(invoice.kind)),
                        ("currency", .string(invoice.currency.rawValue)), ("total", .int(invoice.total)),
                        ("paid", .int(invoice.paid)), ("outstanding", .int(invoice.outstanding)),
                        ("due_on", .string(invoice.dueOn.description)), ("grace_days", .int(Int64(invoice.graceDays))),
                        ("overdue_since", .string(invoice.overdueSince.description)),
                        ("days_past_due", .int(Int64(invoice.daysPastDue))),
                    ])
                })),
            ]))
        }
        for restoration in plan.restorations where applied.restored.contains(restoration.serviceID) {
            planned.append(make(2, "service", restoration.serviceID, "unsuspended", [
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
            planned.append(make(3, "customer_group", change.groupID, "group_added", [
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
            planned.append(make(3, "customer_group", change.groupID, "group_removed", [
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
