/// The rules of the suspension sweep for one customer (DESIGN.md §4, docs/jobs/suspension-sweep.md).
///
/// - An invoice (any kind) with a positive total is settled when the completed payments in its
///   currency that reference it reach its total: an issued one becomes paid, and a paid one
///   whose payments no longer reach it (a reversal) becomes issued again.
/// - An unsettled invoice is overdue *for a service* with an item on it when the local as-of
///   date is on or after `due_on + grace_days` of that service's plan (inclusive). Each service
///   keeps the grace its own plan promises, so one invoice may be overdue for one service and
///   not yet for another.
/// - An active service with an overdue invoice is suspended (`overdue`); a service suspended
///   for `overdue` with none left is restored. Other suspensions, pending and cancelled
///   services are never touched.
/// - Group membership is desired state: a managed member of a plan's group exactly while an
///   active service (after this run's changes) is on such a plan; staff-added members stay.
/// - Credit notes and zero invoices (total <= 0) are never overdue and never marked paid.
public enum SuspensionSweepPlanner {
    /// `services.suspend_reason` of the sweep's own suspensions.
    public static let suspendReason = "overdue"

    /// The grace for an invoice with no service item (nothing to suspend, reported only): the
    /// schema's default `plans.grace_days`.
    public static let defaultGraceDays = 7

    public static func plan(_ input: SuspensionSweepInput) throws -> SuspensionSweepPlan {
        var services: [Int64: SuspensionSweepInput.Service] = [:]
        for service in input.services { services[service.id] = service }

        var plan = SuspensionSweepPlan()
        var overdueByService: [Int64: [SuspensionSweepPlan.OverdueInvoice]] = [:]
        var openByService: [Int64: [SuspensionSweepPlan.OpenInvoice]] = [:]
        var paidByService: [Int64: [Int64]] = [:]

        for invoice in input.invoices.sorted(by: { $0.id < $1.id }) where invoice.total > 0 {
            if let foreign = invoice.foreignPayments.first {
                throw BillingError.invalidInput(
                    "payment \(foreign.id) is in \(foreign.currency) but the invoice it pays, \(invoice.id), is in \(invoice.currency): "
                        + "correct the payment's currency or its invoice_id")
            }
            for serviceID in invoice.serviceIDs where services[serviceID] == nil {
                throw BillingError.invalidInput(
                    "invoice \(invoice.id) has an item for service \(serviceID), which is not a service of customer \(input.customerID): "
                        + "correct services.customer_id of service \(serviceID)")
            }
            let (outstanding, overflow) = invoice.total.subtractingReportingOverflow(invoice.paid)
            guard !overflow else { throw BillingError.overflow("invoice \(invoice.id): \(invoice.total) - \(invoice.paid) paid") }
            let settled = outstanding <= 0
            let settlement = SuspensionSweepPlan.Settlement(
                invoiceID: invoice.id, kind: invoice.kind, currency: invoice.currency, total: invoice.total,
                paid: invoice.paid, outstanding: outstanding, completedPaymentIDs: invoice.completedPaymentIDs,
                reversedPaymentIDs: invoice.reversedPaymentIDs, dueOn: invoice.effectiveDueOn)
            switch (invoice.status, settled) {
            case (.issued, true):
                plan.paid.append(settlement)
                for serviceID in invoice.serviceIDs { paidByService[serviceID, default: []].append(invoice.id) }
            case (.paid, false):
                plan.unpaid.append(settlement)
            default:
                break
            }
            guard !settled else { continue }

            let dueOn = invoice.effectiveDueOn
            func overdue(grace: Int) -> SuspensionSweepPlan.OverdueInvoice? {
                let since = dueOn.adding(days: grace)
                guard input.localAsOf >= since else { return nil }
                return SuspensionSweepPlan.OverdueInvoice(
                    invoiceID: invoice.id, kind: invoice.kind, currency: invoice.currency, total: invoice.total,
                    paid: invoice.paid, outstanding: outstanding, dueOn: dueOn, graceDays: grace,
                    overdueSince: since, daysPastDue: dueOn.days(until: input.localAsOf))
            }
            if invoice.serviceIDs.isEmpty {
                if let late = overdue(grace: defaultGraceDays) { plan.overdueWithoutService.append(late) }
                continue
            }
            for serviceID in invoice.serviceIDs {
                let grace = services[serviceID]?.graceDays ?? defaultGraceDays
                if let late = overdue(grace: grace) {
                    overdueByService[serviceID, default: []].append(late)
                } else {
                    openByService[serviceID, default: []].append(SuspensionSweepPlan.OpenInvoice(
                        invoiceID: invoice.id, dueOn: dueOn, overdueSince: dueOn.adding(days: grace)))
                }
            }
        }

        var after: [Int64: (status: SuspensionSweepInput.ServiceStatus, reason: String?)] = [:]
        let ordered = input.services.sorted { $0.id < $1.id }
        for service in ordered {
            after[service.id] = (service.status, service.suspendReason)
            let overdue = overdueByService[service.id] ?? []
            if service.status == .active, !overdue.isEmpty {
                plan.suspensions.append(SuspensionSweepPlan.Suspension(
                    serviceID: service.id, planCode: service.planCode, graceDays: service.graceDays, invoices: overdue))
                after[service.id] = (.suspended, suspendReason)
            } else if service.status == .suspended, service.suspendReason == suspendReason, overdue.isEmpty {
                plan.restorations.append(SuspensionSweepPlan.Restoration(
                    serviceID: service.id, planCode: service.planCode, suspendedAt: service.suspendedAt,
                    paidInvoiceIDs: paidByService[service.id] ?? [], openInvoices: openByService[service.id] ?? []))
                after[service.id] = (.active, nil)
            }
        }

        func states(inGroup groupID: Int64, activeOnly: Bool) -> [SuspensionSweepPlan.ServiceState] {
            ordered.compactMap { service in
                guard service.groupID == groupID, let state = after[service.id], !activeOnly || state.status == .active else { return nil }
                return SuspensionSweepPlan.ServiceState(serviceID: service.id, planCode: service.planCode, status: state.status, suspendReason: state.reason)
            }
        }
        var desired: [Int64: String] = [:]
        for service in ordered where after[service.id]?.status == .active {
            if let groupID = service.groupID { desired[groupID] = service.groupName ?? "group \(groupID)" }
        }
        let members = Dictionary(input.memberships.map { ($0.groupID, $0) }, uniquingKeysWith: { first, _ in first })
        for (groupID, name) in desired.sorted(by: { $0.key < $1.key }) where members[groupID] == nil {
            plan.groupAdditions.append(SuspensionSweepPlan.GroupChange(
                groupID: groupID, groupName: name, services: states(inGroup: groupID, activeOnly: true), memberSince: nil))
        }
        for membership in members.values.sorted(by: { $0.groupID < $1.groupID }) where membership.managed && desired[membership.groupID] == nil {
            plan.groupRemovals.append(SuspensionSweepPlan.GroupChange(
                groupID: membership.groupID, groupName: membership.groupName,
                services: states(inGroup: membership.groupID, activeOnly: false), memberSince: membership.since))
        }
        return plan
    }
}
