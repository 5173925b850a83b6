/// The rules of the suspension sweep for one customer (docs/design.md §8, §9, docs/jobs/suspension-sweep.md).
///
/// - Settlement is recomputed whole from today's invoices, payments and credit notes
///   (`CreditSettlement.settle`): the credit applications that result are compared with the
///   ones stored; a stored one that no longer holds is withdrawn, a missing one is added.
/// - An invoice (any kind) with a positive total is settled when the completed payments in its
///   currency that reference it plus the credit applied to it reach its total: an issued one
///   becomes paid, and a paid one that no longer reaches it (a payment reversed, deleted,
///   reduced or moved; credit withdrawn) becomes issued again.
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
/// - Invoices issued before the cut-over (docs/operations.md) are left alone: never overdue,
///   never marked paid or unpaid.
public enum SuspensionSweepPlanner {
    /// `services.suspend_reason` of the sweep's own suspensions.
    public static let suspendReason = "overdue"

    /// The grace for an invoice with no service item (nothing to suspend, reported only): the
    /// schema's default `plans.grace_days`.
    public static let defaultGraceDays = 7

    /// Switches for tests only: each turns one correction off, so that the convergence property
    /// test can show it finds the counterexample the correction prevents.
    public struct Options: Sendable, Equatable {
        /// A paid invoice that payments and credit no longer cover goes back to issued.
        public var reopensPaidInvoices = true

        public init(reopensPaidInvoices: Bool = true) {
            self.reopensPaidInvoices = reopensPaidInvoices
        }
    }

    /// The source_key of the `n`-th application (1-based) of a credit note to an invoice.
    public static func applicationSourceKey(creditNoteID: Int64, invoiceID: Int64, n: Int) -> String {
        "suspension-sweep:credit:\(creditNoteID):\(invoiceID):\(n)"
    }

    public static func plan(_ input: SuspensionSweepInput, options: Options = Options()) throws -> SuspensionSweepPlan {
        var services: [Int64: SuspensionSweepInput.Service] = [:]
        for service in input.services { services[service.id] = service }

        var plan = SuspensionSweepPlan()
        var overdueByService: [Int64: [SuspensionSweepPlan.OverdueInvoice]] = [:]
        var openByService: [Int64: [SuspensionSweepPlan.OpenInvoice]] = [:]
        var paidByService: [Int64: [Int64]] = [:]

        let positive = input.invoices.filter { invoice in
            invoice.total > 0 && !(input.cutover.map { invoice.issuedOn < $0 } ?? false)
        }.sorted { $0.id < $1.id }
        for invoice in positive {
            if let foreign = invoice.foreignPayments.first {
                throw BillingError.invalidInput(
                    "payment \(foreign.id) is in \(foreign.currency) but the invoice it pays, \(invoice.id), is in \(invoice.currency): "
                        + "correct the payment's currency or its invoice_id")
            }
        }
        let settlement = try CreditSettlement.settle(invoices: positive.map(\.settlementInvoice), creditNotes: input.creditNotes)
        diffApplications(input, settlement, &plan)
        var creditNotesByInvoice: [Int64: [Int64]] = [:]
        for application in settlement.applications { creditNotesByInvoice[application.invoiceID, default: []].append(application.creditNoteID) }

        for invoice in positive {
            for serviceID in invoice.serviceIDs where services[serviceID] == nil {
                throw BillingError.invalidInput(
                    "invoice \(invoice.id) has an item for service \(serviceID), which is not a service of customer \(input.customerID): "
                        + "correct services.customer_id of service \(serviceID)")
            }
            guard let standing = settlement.standing(invoice.id) else { continue }
            let outstanding = standing.outstanding
            // Without the correction (tests only), a paid invoice stays paid whatever its payments.
            let settled = standing.isSettled || (invoice.status == .paid && !options.reopensPaidInvoices)
            let entry = SuspensionSweepPlan.Settlement(
                invoiceID: invoice.id, kind: invoice.kind, currency: invoice.currency, total: invoice.total,
                paid: invoice.paid, credited: standing.credited, outstanding: outstanding,
                completedPaymentIDs: invoice.completedPaymentIDs, reversedPaymentIDs: invoice.reversedPaymentIDs,
                creditNoteIDs: creditNotesByInvoice[invoice.id] ?? [], dueOn: invoice.effectiveDueOn)
            switch (invoice.status, settled) {
            case (.issued, true):
                plan.paid.append(entry)
                for serviceID in invoice.serviceIDs { paidByService[serviceID, default: []].append(invoice.id) }
            case (.paid, false):
                plan.unpaid.append(entry)
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
                    paid: invoice.paid, credited: standing.credited, outstanding: outstanding, dueOn: dueOn, graceDays: grace,
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

    /// The difference between the target allocation and the stored one: a stored application
    /// kept only when the target has the same credit note, invoice and amount; every other one
    /// is withdrawn, and every target application not kept is added under the pair's next key.
    static func diffApplications(_ input: SuspensionSweepInput, _ settlement: CreditSettlement.Result, _ plan: inout SuspensionSweepPlan) {
        typealias Pair = SuspensionSweepInput.ApplicationPair
        var target: [Pair: CreditSettlement.Application] = [:]
        for application in settlement.applications {
            target[Pair(creditNoteID: application.creditNoteID, invoiceID: application.invoiceID)] = application
        }
        let notes = Set(input.creditNotes.map(\.id))
        let invoices = Dictionary(input.invoices.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        var kept = Set<Pair>()
        for stored in input.applications.sorted(by: { $0.id < $1.id }) {
            let pair = Pair(creditNoteID: stored.creditNoteID, invoiceID: stored.invoiceID)
            if let wanted = target[pair], wanted.amount == stored.amount, wanted.currency == stored.currency, !kept.contains(pair) {
                kept.insert(pair)
                continue
            }
            let reason: String
            if !notes.contains(stored.creditNoteID) {
                reason = "credit note \(stored.creditNoteID) is no longer an issued credit note"
            } else if let invoice = invoices[stored.invoiceID], invoice.total > 0, invoice.needAfterPaymentsIsZero {
                reason = "completed payments now settle invoice \(stored.invoiceID)"
            } else if invoices[stored.invoiceID] == nil {
                reason = "invoice \(stored.invoiceID) is no longer open"
            } else if let wanted = target[pair] {
                reason = "the credit of credit note \(stored.creditNoteID) on invoice \(stored.invoiceID) is now \(wanted.amount)"
            } else {
                reason = "credit note \(stored.creditNoteID) now settles other invoices (its credit was reallocated)"
            }
            plan.withdrawals.append(SuspensionSweepPlan.Withdrawal(stored: stored, reason: reason))
        }
        for application in settlement.applications {
            let pair = Pair(creditNoteID: application.creditNoteID, invoiceID: application.invoiceID)
            guard !kept.contains(pair) else { continue }
            let n = (input.applicationCounts[pair] ?? 0) + 1
            plan.applications.append(SuspensionSweepPlan.NewApplication(
                application: application,
                sourceKey: applicationSourceKey(creditNoteID: application.creditNoteID, invoiceID: application.invoiceID, n: n)))
        }
        plan.unappliedCredit = settlement.unapplied
    }
}
