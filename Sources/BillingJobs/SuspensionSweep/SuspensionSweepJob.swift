import BillingCore
import BillingStore

/// suspension-sweep (docs/design.md §8, §9; docs/jobs/suspension-sweep.md): applies credit notes to
/// open invoices (and withdraws applications that no longer hold), suspends the active services
/// of overdue invoices, restores the services it suspended once nothing is overdue, marks
/// settled invoices paid (and reopened ones issued), and keeps plan groups (priority support) true.
///
/// The blast radius is checked for the whole run before anything is written: a run that would
/// suspend more than `max_suspensions` services suspends none, lists them and exits 65.
public struct SuspensionSweepJob: BillingJob {
    public static let name = JobName.suspensionSweep
    let parameters: SuspensionSweepParameters
    /// Tests only: turns a correction off (see `SuspensionSweepPlanner.Options`).
    let options: SuspensionSweepPlanner.Options

    /// How many would-be suspensions a stopped run lists one by one; the rest are counted.
    static let listedSuspensions = 200

    public init(parameters: SuspensionSweepParameters = SuspensionSweepParameters(), options: SuspensionSweepPlanner.Options = .init()) {
        self.parameters = parameters
        self.options = options
    }

    public func prepare(_ context: JobContext) throws -> JobOutput {
        guard !context.force, parameters.maxSuspensions > 0 else { return JobOutput() }
        let pending = try SuspensionSweepStore.pendingSuspensions(context.db, filter: context.customerFilterBind, asOf: context.asOf)
        guard pending.count > parameters.maxSuspensions else { return JobOutput() }
        var wouldEmit = JobOutput()
        wouldEmit.count("would_suspend", pending.count)
        for item in pending.prefix(Self.listedSuspensions) {
            let invoices = item.invoiceIDs.map(String.init).joined(separator: ", ")
            wouldEmit.notices.append("would suspend service \(item.serviceID) (\(item.planCode)) of customer \(item.customerID) \(item.customerName): overdue invoice\(item.invoiceIDs.count == 1 ? "" : "s") \(invoices)")
        }
        if pending.count > Self.listedSuspensions {
            wouldEmit.notices.append("... and \(pending.count - Self.listedSuspensions) more: `supportbill run suspension-sweep --dry-run --force` lists them all without writing")
        }
        throw JobStop.safetyLimit(
            "\(pending.count) services would be suspended, more than max_suspensions (\(parameters.maxSuspensions)): none was suspended. "
                + "Check the list (a payment import that did not arrive? wrong due dates?), then re-run with --force to suspend them, "
                + "or raise max_suspensions in jobs/suspension-sweep.toml",
            wouldEmit: wouldEmit)
    }

    public func customers(_ context: JobContext) throws -> [Int64] {
        return try SuspensionSweepStore.candidates(context.db, filter: context.customerFilterBind)
    }

    public func process(_ batch: [CustomerRecord], _ context: JobContext) throws -> JobOutput {
        var output = JobOutput()
        let inputs = try SuspensionSweepStore.load(context.db, customers: batch)
        var plans: [(customer: CustomerRecord, plan: SuspensionSweepPlan)] = []
        for customer in batch {
            guard let input = inputs[customer.id] else { continue }
            do {
                plans.append((customer, try SuspensionSweepPlanner.plan(input, options: options)))
            } catch let error as BillingError {
                output.skip(customer.id, error.message)
            }
        }

        let customerIDs = plans.map(\.customer.id)
        var applied = SuspensionSweepEvents.Applied()
        let db = context.db
        // Credit first: withdrawn applications, then new ones; then the statuses they settle.
        applied.withdrawn = try SuspensionSweepStore.withdrawApplications(
            db, ids: plans.flatMap { $0.plan.withdrawals.map(\.stored.id) }, customers: customerIDs, runID: context.runID, asOf: context.asOf)
        applied.applied = try SuspensionSweepStore.insertApplications(db, plans.flatMap { entry in
            entry.plan.applications.map { SuspensionSweepStore.NewApplication(customerID: entry.customer.id, application: $0.application, sourceKey: $0.sourceKey) }
        }, runID: context.runID, asOf: context.asOf)
        applied.paid = try SuspensionSweepStore.markPaid(db, invoices: plans.flatMap { $0.plan.paid.map(\.invoiceID) }, customers: customerIDs)
        applied.unpaid = try SuspensionSweepStore.markUnpaid(db, invoices: plans.flatMap { $0.plan.unpaid.map(\.invoiceID) }, customers: customerIDs)
        applied.suspended = try SuspensionSweepStore.suspend(
            db, services: plans.flatMap { $0.plan.suspensions.map(\.serviceID) }, customers: customerIDs, asOf: context.asOf)
        applied.restored = try SuspensionSweepStore.restore(db, services: plans.flatMap { $0.plan.restorations.map(\.serviceID) }, customers: customerIDs)
        applied.added = try SuspensionSweepStore.addMemberships(db, plans.flatMap { entry in
            entry.plan.groupAdditions.map { SuspensionSweepStore.Membership(customerID: entry.customer.id, groupID: $0.groupID) }
        }, since: context.asOf)
        applied.removed = try SuspensionSweepStore.removeMemberships(db, plans.flatMap { entry in
            entry.plan.groupRemovals.map { SuspensionSweepStore.Membership(customerID: entry.customer.id, groupID: $0.groupID) }
        })

        var planned: [SuspensionSweepEvents.Planned] = []
        for (customer, plan) in plans {
            planned += SuspensionSweepEvents.events(customer, plan, applied, currencies: context.currencies)
            tally(customer, plan, applied, &output, currencies: context.currencies)
        }
        let ids = try SuspensionSweepStore.insertEvents(db, runID: context.runID, at: context.asOf, planned.map(\.event))
        for (event, id) in zip(planned, ids) {
            output.append(.events, SuspensionSweepEvents.record(event, id: id, runID: context.runID, at: context.asOf))
        }
        return output
    }

    /// Counts and per-currency totals of what changed, and notices for what needs a person.
    private func tally(_ customer: CustomerRecord, _ plan: SuspensionSweepPlan, _ applied: SuspensionSweepEvents.Applied,
                       _ output: inout JobOutput, currencies: [CurrencyCode: Currency]) {
        for withdrawal in plan.withdrawals where applied.withdrawn.contains(withdrawal.stored.id) {
            output.count("credit_withdrawn")
            output.total("credit_withdrawn", withdrawal.stored.amount, withdrawal.stored.currency)
        }
        for application in plan.applications where applied.applied[application.sourceKey] != nil {
            output.count("credit_applied")
            output.total("credit_applied", application.application.amount, application.application.currency)
        }
        for settlement in plan.paid where applied.paid.contains(settlement.invoiceID) {
            output.count("invoices_paid")
            output.total("paid", settlement.total, settlement.currency)
        }
        for settlement in plan.unpaid where applied.unpaid.contains(settlement.invoiceID) {
            output.count("invoices_unpaid")
            output.total("reopened", settlement.outstanding, settlement.currency)
        }
        var overdueCounted = Set<Int64>()
        for suspension in plan.suspensions where applied.suspended.contains(suspension.serviceID) {
            output.count("suspended")
            for invoice in suspension.invoices where overdueCounted.insert(invoice.invoiceID).inserted {
                output.total("overdue", invoice.outstanding, invoice.currency)
            }
        }
        for restoration in plan.restorations where applied.restored.contains(restoration.serviceID) {
            output.count("unsuspended")
        }
        for change in plan.groupAdditions where applied.added.contains(.init(customerID: customer.id, groupID: change.groupID)) {
            output.count("group_added")
        }
        for change in plan.groupRemovals where applied.removed.contains(.init(customerID: customer.id, groupID: change.groupID)) {
            output.count("group_removed")
        }
        for invoice in plan.overdueWithoutService {
            let amount = (currencies[invoice.currency] ?? Currency(code: invoice.currency, minorUnits: 2)).format(invoice.outstanding)
            output.notices.append("invoice \(invoice.invoiceID) of customer \(customer.id) \(customer.name): \(amount) outstanding, "
                + "due \(invoice.dueOn), overdue since \(invoice.overdueSince), has no service to suspend: follow it up by hand")
        }
    }
}
