/// threshold-topup's rules (docs/design.md §8, issue 4) for one customer: plain values in, a plan out.
///
/// 1. Entries. Each billable time entry of a pre-paid service is debited once (`usage`):
///    `-roundHalfUp(roundUp(minutes, increment) × hourly_rate / 60)`. When a debited entry
///    changes (minutes, billable flag, service, ticket) or is deleted, an `adjustment` row brings
///    the entry's ledger sum to what it should be now. The rate of an existing debit is the rate
///    it was made at (recorded on the row), so a later price change never re-rates old work; a
///    debit that was fully given back (withdrawn, moved away) starts afresh at today's rate.
/// 2. Invoices. A top-up invoice whose completed payments reach its (gross) total is credited
///    once (`topup`) with its net pack amount and marked `paid`; if its payments no longer reach the total, the credit is taken
///    back (`adjustment`) and it is `issued` again. Credits and reversals are numbered per
///    invoice, so pay → reverse → pay credits it twice and takes back once, never more.
/// 3. Top-ups. With B = the service's ledger sum and P = its unpaid issued top-up invoices (what
///    they will credit: net), both
///    after steps 1 and 2: when `B + P <= threshold`, one invoice of n packs, n the smallest
///    n >= 1 with `B + P + n × topup_amount > threshold`. Pending and active services only
///    (suspended, cancelled and ended ones are still debited and credited), and at most
///    `max_topups_per_day` invoices per service per local day: beyond it the service is
///    reported and invoiced on a later day.
///
/// Invalid data (a price missing, a zero pack price, an entry whose ticket or service belongs to
/// another customer) throws `BillingError.invalidInput` with a reason a person can act on; the
/// job then writes nothing for the customer.
public enum ThresholdTopupPlanner {
    /// The corrections a run makes that a test can switch off
    /// (`ThresholdTopupInput.disabledCorrections`) to show that the convergence property test
    /// catches their absence. Production runs never disable any.
    public enum Correction: String, Sendable, Hashable, CaseIterable {
        /// A debited entry re-dated after the run's as-of is given back until it is worked.
        case redated
        /// A debit made on another plan than the service's now is re-rated at the plan's terms.
        case planCorrected = "plan_corrected"
    }

    public static func plan(_ input: ThresholdTopupInput) throws -> ThresholdTopupPlan {
        var plan = ThresholdTopupPlan(customerID: input.customerID)
        plan.consumedServiceQueueIDs = input.serviceQueueIDs
        let services = Dictionary(input.services.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })

        for change in input.entries.sorted(by: { $0.entryID < $1.entryID }) {
            if try planEntry(change, input, services, &plan) {
                plan.consumedEntryQueueIDs += change.queueIDs
            } else {
                plan.deferredEntryIDs.append(change.entryID)
            }
        }

        var statusAfter: [Int64: ThresholdTopupInput.InvoiceStatus] = [:]
        for invoice in input.invoices.sorted(by: { $0.id < $1.id }) {
            statusAfter[invoice.id] = try reconcile(invoice, input, &plan)
            plan.consumedInvoiceQueueIDs += invoice.queueIDs
        }

        var pending: [Int64: Int64] = [:]
        // P counts what the unpaid invoices will credit (net), like B: a taxed customer gets the
        // same packs as an untaxed one.
        for invoice in input.invoices where statusAfter[invoice.id] == .issued {
            guard let service = invoice.serviceID else { continue }
            pending[service] = try MoneyMath.add(pending[service] ?? 0, invoice.credit)
        }
        var delta: [Int64: Int64] = [:]
        for row in plan.ledger { delta[row.serviceID] = try MoneyMath.add(delta[row.serviceID] ?? 0, row.amount) }

        for service in input.services.sorted(by: { $0.id < $1.id })
        where service.customerID == input.customerID && service.isPrepaid && takesNewPacks(service, on: input.localAsOf) {
            let price = try requirePrice(service)
            guard price.topupAmount > 0 else {
                throw BillingError.invalidInput(
                    "service \(service.id) (plan \(service.planCode)) has topup_amount 0 in \(service.currency.code): "
                    + "a pre-paid plan needs a pack price above 0 (plan_prices)")
            }
            let balance = try MoneyMath.add(service.balance, delta[service.id] ?? 0)
            let open = pending[service.id] ?? 0
            let covered = try MoneyMath.add(balance, open)
            guard covered <= price.threshold else { continue }
            let (gap, overflow) = price.threshold.subtractingReportingOverflow(covered)
            guard !overflow else { throw BillingError.overflow("threshold \(price.threshold) - \(covered)") }
            let packs = gap / price.topupAmount + 1
            let currency = service.currency
            guard service.topupsIssuedToday < input.rules.maxTopupsPerDay else {
                plan.limitReached.append(ThresholdTopupPlan.LimitReached(
                    serviceID: service.id,
                    reason: "service \(service.id): max_topups_per_day = \(input.rules.maxTopupsPerDay) reached on \(input.localAsOf) "
                        + "(\(service.topupsIssuedToday) top-up invoice\(service.topupsIssuedToday == 1 ? "" : "s") issued that day); balance "
                        + "\(currency.format(balance)), unpaid top-ups \(currency.format(open)), threshold "
                        + "\(currency.format(price.threshold)): the next top-up is issued on \(input.localAsOf.adding(days: 1)) "
                        + "(check the service's usage, or raise max_topups_per_day)"))
                continue
            }
            let number = service.topupsIssuedToday + 1
            let amount = try MoneyMath.multiply(packs, price.topupAmount)
            var invoice = ThresholdTopupPlan.TopupInvoice(
                serviceID: service.id, currency: currency.code, packs: packs, packPrice: price.topupAmount,
                amount: amount,
                dueOn: input.localAsOf.adding(days: input.rules.dueDays),
                description: "\(service.planName) for service \(service.id), balance \(currency.format(balance))",
                sourceKey: "tt:inv:\(service.id):\(input.localAsOf):\(number)",
                itemSourceKey: "tt:item:\(service.id):\(input.localAsOf):\(number)",
                balance: balance, pending: open, threshold: price.threshold
            )
            // The pack is invoiced for the first time: the customer's rate; the customer pays
            // the gross total, the service is credited the net amount.
            if let rate = input.tax.rate {
                invoice.taxRate = rate
                invoice.taxes = try InvoiceTaxes(items: [(amount, rate)])
            }
            invoice.taxNote = input.tax.note
            plan.invoices.append(invoice)
        }
        return plan
    }

    /// Suspended and cancelled services, and services whose term has ended, get no new packs.
    static func takesNewPacks(_ service: ThresholdTopupInput.Service, on date: LocalDate) -> Bool {
        guard service.status == .pending || service.status == .active else { return false }
        if let end = service.endsOn, end <= date { return false }
        return true
    }

    private static func requirePrice(_ service: ThresholdTopupInput.Service) throws -> ThresholdTopupInput.Price {
        guard let price = service.price else {
            throw BillingError.invalidInput(
                "service \(service.id) (plan \(service.planCode)) has no price in \(service.currency.code): "
                + "add a plan_prices row for the plan in \(service.currency.code)")
        }
        return price
    }

    /// Plans the ledger rows for one queued entry. Returns false when the entry is not due yet
    /// (worked after as-of): it stays queued and nothing is written for it.
    private static func planEntry(_ change: ThresholdTopupInput.EntryChange, _ input: ThresholdTopupInput,
                                  _ services: [Int64: ThresholdTopupInput.Service], _ plan: inout ThresholdTopupPlan) throws -> Bool {
        let customer = input.customerID
        // What the ledger should hold for the entry now, for this customer: (service, minutes, rate).
        var target: (service: ThresholdTopupInput.Service, minutes: Int64, rate: Int64)?
        var deferred = false
        // Worked before the cut-over: another system billed it (docs/operations.md "Cut-over").
        let beforeCutover = change.entry.map { entry in input.cutover.map { input.timeZone.localDate(of: entry.workedAt) < $0 } ?? false } ?? false
        if let entry = change.entry, entry.customerID == customer, !beforeCutover {
            guard let ticketCustomer = entry.ticketCustomerID else {
                throw BillingError.invalidInput("time entry \(change.entryID) refers to ticket \(entry.ticketID), which does not exist")
            }
            guard ticketCustomer == customer else {
                throw BillingError.invalidInput(
                    "time entry \(change.entryID) belongs to customer \(customer) but its ticket \(entry.ticketID) belongs to customer \(ticketCustomer)")
            }
            if let serviceID = entry.effectiveServiceID {
                guard let service = services[serviceID] else {
                    throw BillingError.invalidInput("time entry \(change.entryID) is charged to service \(serviceID), which does not exist")
                }
                guard service.customerID == customer else {
                    throw BillingError.invalidInput(
                        "time entry \(change.entryID) of customer \(customer) is charged to service \(serviceID), which belongs to customer \(service.customerID)")
                }
                if service.isPrepaid && entry.billable {
                    if entry.workedAt > input.asOf {
                        // Not worked yet: it stays queued. Re-dated after as-of once debited,
                        // its debit is given back below until it is worked (docs/design.md §9).
                        deferred = true
                        if input.disabledCorrections.contains(.redated) { return false }
                    } else {
                        let price = try requirePrice(service)
                        let minutes = try MoneyMath.roundUp(minutes: entry.minutes, toIncrement: service.incrementMinutes)
                        target = (service, minutes, price.hourlyRate)
                    }
                }
            }
        }

        var rowsPlanned = 0
        func key(_ serviceID: Int64, _ rows: Int) -> String {
            "tt:adj:\(change.entryID):\(customer):\(serviceID):\(rows + 1)"
        }
        // Give back what is debited on services the entry no longer belongs to (or while it is
        // dated after as-of).
        for debit in change.debits.sorted(by: { $0.serviceID < $1.serviceID })
        where debit.serviceID != target?.service.id && !debit.isSettled {
            let why: String
            if change.entry == nil {
                why = "entry deleted"
            } else if beforeCutover {
                why = "entry re-dated before the cut-over (\(input.cutover.map(String.init(describing:)) ?? ""))"
            } else if let entry = change.entry, entry.customerID != customer {
                why = "entry moved to customer \(entry.customerID)"
            } else if deferred {
                why = "entry re-dated after as-of (\(change.entry?.workedAt.description ?? "")): not worked yet"
            } else if change.entry?.billable == false {
                why = "entry withdrawn (not billable)"
            } else if let now = change.entry?.effectiveServiceID, now != debit.serviceID {
                why = services[now]?.isPrepaid == true ? "entry moved to service \(now)" : "entry moved to service \(now), which is not pre-paid"
            } else {
                why = "service \(debit.serviceID) is no longer on a pre-paid plan"
            }
            plan.ledger.append(ThresholdTopupPlan.LedgerRow(
                serviceID: debit.serviceID, amount: -debit.netAmount, currency: debit.currency, reason: .adjustment,
                timeEntryID: change.entryID, invoiceID: nil, minutes: -debit.netMinutes, hourlyRate: debit.hourlyRate,
                sourceKey: key(debit.serviceID, debit.rows), planID: debit.planID))
            plan.corrections[key(debit.serviceID, debit.rows)] = why
            rowsPlanned += 1
        }
        if deferred { return false }
        guard let target else { return true }
        let planID: Int64? = target.service.planID == 0 ? nil : target.service.planID
        let existing = change.debits.first { $0.serviceID == target.service.id }
        if let existing, !existing.isSettled {
            // A debit made on another plan than the service's now (its plan was corrected) is
            // re-rated at the plan's terms; a price change of the same plan never re-rates it.
            let replanned = existing.planID != nil && planID != nil && existing.planID != planID
                && !input.disabledCorrections.contains(.planCorrected)
            let rate = replanned ? target.rate : existing.hourlyRate ?? target.rate
            let owed = -(try MoneyMath.amount(minutes: target.minutes, ratePerHour: rate))
            guard existing.netMinutes != target.minutes || (replanned && owed != existing.netAmount) else { return true }
            let (minutes, overflow) = target.minutes.subtractingReportingOverflow(existing.netMinutes)
            guard !overflow else { throw BillingError.overflow("\(target.minutes) - \(existing.netMinutes) minutes") }
            let why = replanned
                ? "service \(target.service.id) moved to plan \(target.service.planCode): \(target.minutes) min at \(target.service.currency.format(rate))/h"
                : "entry edited: \(existing.netMinutes) -> \(target.minutes) rounded minutes"
            plan.ledger.append(ThresholdTopupPlan.LedgerRow(
                serviceID: target.service.id, amount: try MoneyMath.add(owed, -existing.netAmount),
                currency: existing.currency, reason: .adjustment, timeEntryID: change.entryID, invoiceID: nil,
                minutes: minutes, hourlyRate: rate, sourceKey: key(target.service.id, existing.rows),
                planID: replanned ? planID : existing.planID ?? planID))
            plan.corrections[key(target.service.id, existing.rows)] = why
        } else {
            let amount = -(try MoneyMath.amount(minutes: target.minutes, ratePerHour: target.rate))
            let first = change.ledgerRowsAnyCustomer == 0 && rowsPlanned == 0
            plan.ledger.append(ThresholdTopupPlan.LedgerRow(
                serviceID: target.service.id, amount: amount, currency: target.service.currency.code,
                reason: first ? .usage : .adjustment, timeEntryID: change.entryID, invoiceID: nil,
                minutes: target.minutes, hourlyRate: target.rate,
                sourceKey: first ? "tt:usage:\(change.entryID)" : key(target.service.id, existing?.rows ?? 0),
                planID: planID))
            if !first { plan.corrections[key(target.service.id, existing?.rows ?? 0)] = "entry debited again on service \(target.service.id)" }
        }
        return true
    }

    /// Credits or takes back one top-up invoice and moves its status. Returns its status after.
    private static func reconcile(_ invoice: ThresholdTopupInput.TopupInvoice, _ input: ThresholdTopupInput,
                                  _ plan: inout ThresholdTopupPlan) throws -> ThresholdTopupInput.InvoiceStatus {
        guard let serviceID = invoice.serviceID else {
            throw BillingError.invalidInput(
                "top-up invoice \(invoice.id) has no top-up item naming its service, so its payment cannot be credited to a service")
        }
        let billed = invoice.status == .issued || invoice.status == .paid
        let shouldBeCredited = billed && invoice.total > 0 && invoice.isFullyPaid
        let credited = invoice.credits > invoice.reversals
        var credits = invoice.credits
        if shouldBeCredited && !credited {
            credits += 1
            plan.ledger.append(ThresholdTopupPlan.LedgerRow(
                serviceID: serviceID, amount: invoice.credit, currency: invoice.currency, reason: .topup,
                timeEntryID: nil, invoiceID: invoice.id, minutes: nil, hourlyRate: nil,
                sourceKey: "tt:credit:\(invoice.id):\(credits)"))
        } else if !shouldBeCredited && credited {
            plan.ledger.append(ThresholdTopupPlan.LedgerRow(
                serviceID: serviceID, amount: -invoice.netCredited, currency: invoice.currency, reason: .adjustment,
                timeEntryID: nil, invoiceID: invoice.id, minutes: nil, hourlyRate: nil,
                sourceKey: "tt:uncredit:\(invoice.id):\(invoice.credits)"))
        }
        if shouldBeCredited && invoice.status == .issued {
            plan.statusChanges.append(ThresholdTopupPlan.StatusChange(
                invoiceID: invoice.id, from: .issued, to: .paid, serviceID: serviceID, total: invoice.total,
                paid: invoice.completedPaid, currency: invoice.currency, auditSourceKey: "tt:paid:\(invoice.id):\(credits)"))
            return .paid
        }
        if invoice.status == .paid && !invoice.isFullyPaid {
            plan.statusChanges.append(ThresholdTopupPlan.StatusChange(
                invoiceID: invoice.id, from: .paid, to: .issued, serviceID: serviceID, total: invoice.total,
                paid: invoice.completedPaid, currency: invoice.currency, auditSourceKey: "tt:unpaid:\(invoice.id):\(invoice.credits)"))
            return .issued
        }
        return invoice.status
    }
}
