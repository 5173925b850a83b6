/// Plans one customer's monthly rollup (docs/design.md §8, monthly-rollup): pure, no clock, no database.
///
/// Every run recomputes every month of its window. Each line (a setup fee, one fee period, one
/// month's usage of a service) has a target from today's data and a billed amount (the sum of
/// the items carrying the line). They are reconciled per (currency, month):
///
/// - month not invoiced yet: one `period` invoice with every line of the month, plus the
///   uninvoiced items other jobs emitted for the month; none when its total is 0;
/// - month on a draft (`issue = false`): the draft is corrected in place (items updated,
///   inserted, deleted; removed altogether when its total becomes 0);
/// - month issued (issued, paid or void: immutable): the difference per line goes on a new
///   `adjustment` invoice as `adjustment` items carrying the service and the month they
///   correct; a negative total makes it a credit note. A draft adjustment invoice (from a run
///   with `issue = false`) is corrected in place instead.
///
/// A line is billed in the month it was first billed in ("home"), so a fee period is never
/// billed twice even when `bill_in_advance` or `starts_on` changes later. Once issued, a line
/// keeps the terms it was issued with (unit price, included minutes, its fee period): re-rating
/// corrects quantities (late or edited time entries, a term that ended earlier), never applies
/// later edits of prices or plans to the past (see `RollupTargets.target`).
///
/// Source keys are deterministic: `mr:period:<customer>:<currency>:<YYYY-MM>` and
/// `mr:adjustment:<customer>:<currency>:<YYYY-MM>:<n>` (n counts the month's adjustment
/// invoices) for invoices; `mr:<line>` for a line's item on a period invoice and
/// `<adjustment invoice key>:<line>` for a correction. With unchanged inputs every target
/// equals what is billed, so a rerun plans nothing.
public enum MonthlyRollupPlanner {
    public enum Outcome: Sendable, Equatable {
        case plan(MonthlyRollupPlan)
        /// The customer cannot be billed; nothing is written for it.
        case skip(String)
    }

    public static func plan(_ input: MonthlyRollupInput) -> Outcome {
        do {
            return .plan(try makePlan(input))
        } catch let error as BillingError {
            return .skip(error.message)
        } catch {
            return .skip("\(error)")
        }
    }

    /// The corrections a run makes, each of which a test can switch off
    /// (`MonthlyRollupInput.disabledCorrections`) to show that the convergence property test
    /// catches its absence. Production runs never disable any.
    public enum Correction: String, Sendable, Hashable, CaseIterable {
        /// Differences of issued months go on adjustment invoices.
        case issuedMonths = "issued_months"
        /// Other jobs' uninvoiced items of months before the window are invoiced.
        case olderOpenItems = "older_open_items"
        /// Uninvoiced items of a month that net to 0 are settled without an invoice.
        case netting
    }

    public static func periodInvoiceKey(customer: Int64, currency: CurrencyCode, month: YearMonth) -> String {
        "mr:period:\(customer):\(currency):\(month)"
    }

    public static func adjustmentInvoiceKey(customer: Int64, currency: CurrencyCode, month: YearMonth, sequence: Int) -> String {
        "mr:adjustment:\(customer):\(currency):\(month):\(sequence)"
    }

    public static func itemKey(_ line: RollupLine) -> String { "mr:" + line.key }

    private struct Group: Hashable, Comparable {
        let currency: CurrencyCode
        let month: YearMonth
        static func < (lhs: Group, rhs: Group) -> Bool { (lhs.month, lhs.currency) < (rhs.month, rhs.currency) }
    }

    /// A line's items on the rollup's invoices, oldest first.
    private struct Billed {
        let home: YearMonth
        let currency: CurrencyCode
        var items: [(invoice: RollupInvoice, item: RollupItem)]
    }

    private static func makePlan(_ input: MonthlyRollupInput) throws -> MonthlyRollupPlan {
        var plan = MonthlyRollupPlan(customerID: input.customerID)
        let window = input.window
        guard let first = window.months.first else { return plan }
        let targets = RollupTargets(input)
        try targets.validate()

        var billed: [RollupLine: Billed] = [:]
        let stored = input.invoices.flatMap { invoice in invoice.items.map { (invoice: invoice, item: $0) } }
        for entry in stored.sorted(by: { $0.item.id < $1.item.id }) {
            guard let line = entry.item.line else { continue }
            billed[line, default: Billed(home: entry.invoice.month, currency: entry.invoice.currency, items: [])].items.append(entry)
        }

        // The lines this run answers for: those due in the window, and those billed in it.
        let candidates = targets.candidates()
        var relevant = Set(candidates.keys)
        for (line, lineBilled) in billed where window.contains(lineBilled.home) { relevant.insert(line) }

        var groups: [Group: [RollupLine: RollupTarget?]] = [:]
        for line in relevant.sorted() {
            let lineBilled = billed[line]
            let issued = lineBilled?.items.first { !$0.invoice.isDraft }?.item
            let target: RollupTarget?
            switch try targets.target(line, lock: issued.map { RollupLock(unitPrice: $0.unitPrice, includedMinutes: $0.includedMinutes) }) {
            case .bill(let value): target = value
            case .nothing: target = nil
            case .asBilled: continue
            }
            if let lineBilled {
                if let target, target.currency != lineBilled.currency {
                    throw BillingError.invalidInput("service \(line.serviceID) is now billed in \(target.currency) but \(line) was billed in \(lineBilled.currency): a service cannot change currency once billed (end it and create a new service)")
                }
                groups[Group(currency: lineBilled.currency, month: lineBilled.home), default: [:]][line] = target
            } else if let target {
                groups[Group(currency: target.currency, month: target.month), default: [:]][line] = target
            }
        }

        // Other jobs' uninvoiced items of every closed month up to the window's last, whatever
        // their age (docs/design.md §9): a month before the window is visited for them alone (its
        // lines are not re-rated), on its period invoice while it has none issued, else on an
        // adjustment invoice of that month.
        var openItems: [Group: [RollupItem]] = [:]
        for item in input.openItems {
            guard let start = item.periodStart, start.yearMonth <= window.months.last ?? first else { continue }
            if start.yearMonth < first && input.disabledCorrections.contains(.olderOpenItems) { continue }
            let group = Group(currency: item.currency, month: start.yearMonth)
            openItems[group, default: []].append(item)
            if groups[group] == nil { groups[group] = [:] }
        }
        // Drafts of the window are visited even when nothing changed: `issue = true` issues them.
        for invoice in input.invoices where invoice.isDraft && window.contains(invoice.month) {
            if groups[Group(currency: invoice.currency, month: invoice.month)] == nil {
                groups[Group(currency: invoice.currency, month: invoice.month)] = [:]
            }
        }

        for group in groups.keys.sorted() {
            let invoices = input.invoices.filter { $0.currency == group.currency && $0.month == group.month }.sorted { $0.id < $1.id }
            let open = (openItems[group] ?? []).sorted { $0.id < $1.id }
            if let invoicePlan = try reconcile(group, lines: groups[group] ?? [:], invoices: invoices, open: open,
                                               billed: billed, input: input) {
                plan.invoices.append(invoicePlan)
            } else if !open.isEmpty, try MoneyMath.sum(open.map(\.amount)) == 0, !input.disabledCorrections.contains(.netting) {
                // No invoice (its total would be 0) and the items cancel out by themselves: they
                // are settled without one, once.
                plan.netted.append(RollupNetting(currency: group.currency, month: group.month, itemIDs: open.map(\.id)))
                // Kinds, not ids, in the notice: a simulation rolls back and the ids differ.
                let kinds = Set(open.map(\.kind)).sorted().joined(separator: ", ")
                plan.notices.append("customer \(input.customerID): \(open.count) uninvoiced item\(open.count == 1 ? "" : "s") (\(kinds)) of \(group.month) in \(group.currency) net to 0: settled without an invoice (rollup_netted_items)")
            }
        }
        return plan
    }

    private static func reconcile(_ group: Group, lines: [RollupLine: RollupTarget?], invoices: [RollupInvoice], open: [RollupItem], billed: [RollupLine: Billed], input: MonthlyRollupInput) throws -> RollupInvoicePlan? {
        let relevant = Set(lines.keys)
        guard invoices.contains(where: { !$0.isDraft }) else {
            // Nothing issued for the month: the period invoice holds the full target.
            let period = invoices.first { $0.kind == .period }
            var desired: [RollupLine: RollupItemPlan] = [:]
            for (line, target) in lines {
                // Not issued yet: the line is invoiced for the first time, at the customer's rate.
                if let target { desired[line] = target.item(sourceKey: itemKey(line)).with(taxRate: input.tax.rate) }
            }
            let key = period?.sourceKey ?? periodInvoiceKey(customer: input.customerID, currency: group.currency, month: group.month)
            return try settle(group, existing: period, kind: .period, sourceKey: key, desired: desired, relevant: relevant, open: open, input: input)
        }

        // The month is issued: differences go on an adjustment invoice.
        if input.disabledCorrections.contains(.issuedMonths) && open.isEmpty { return nil }
        let adjustments = invoices.filter { $0.kind == .adjustment }
        let vehicle = adjustments.last { $0.isDraft }
        let key = vehicle?.sourceKey ?? adjustmentInvoiceKey(customer: input.customerID, currency: group.currency, month: group.month, sequence: adjustments.count + 1)
        var desired: [RollupLine: RollupItemPlan] = [:]
        for (line, target) in lines where !input.disabledCorrections.contains(.issuedMonths) {
            let prior = (billed[line]?.items ?? []).filter { $0.invoice.id != vehicle?.id }.map(\.item)
            let delta = try MoneyMath.add(target?.amount ?? 0, -MoneyMath.sum(prior.map(\.amount)))
            guard delta != 0 else { continue }
            desired[line] = try adjustmentItem(line, target: target, prior: prior, delta: delta, sourceKey: key + ":" + line.key,
                                               month: group.month, currency: group.currency, customerRate: input.tax.rate)
        }
        return try settle(group, existing: vehicle, kind: .adjustment, sourceKey: key, desired: desired, relevant: relevant, open: open, input: input)
    }

    /// Turns the desired items of one invoice into a plan: a new invoice, or the corrections of
    /// an existing draft. Items of lines this run does not answer for are kept as they are.
    private static func settle(_ group: Group, existing: RollupInvoice?, kind: RollupInvoice.Kind, sourceKey: String, desired: [RollupLine: RollupItemPlan], relevant: Set<RollupLine>, open: [RollupItem], input: MonthlyRollupInput) throws -> RollupInvoicePlan? {
        var items: [RollupItemPlan] = []
        var deleted: [Int64] = []
        var changed = false
        var placed = Set<RollupLine>()
        for item in existing?.items.sorted(by: { $0.id < $1.id }) ?? [] {
            guard let line = item.line, relevant.contains(line) else {
                items.append(.stored(item, change: .keep))
                continue
            }
            if let want = desired[line], !placed.contains(line) {
                placed.insert(line)
                if want.sourceKey == item.sourceKey && want.matches(item) {
                    items.append(.stored(item, change: .keep))
                } else {
                    items.append(want.with(change: .update, id: item.id))
                    changed = true
                }
            } else {
                deleted.append(item.id)
                changed = true
            }
        }
        for (line, want) in desired.sorted(by: { $0.key < $1.key }) where !placed.contains(line) {
            items.append(want)
            changed = true
        }
        for item in open {
            // Invoiced for the first time: the customer's rate (unless its job gave it one); a
            // correction of an invoiced item: the rate of that item.
            let rate = item.correctsInvoicedItem ? item.taxRate : item.taxRate ?? input.tax.rate
            items.append(RollupItemPlan.stored(item, change: .attach).with(taxRate: rate))
            changed = true
        }
        items.sort { $0.sourceKey < $1.sourceKey }
        // Net, tax per rate (rounded once per rate) and gross: `total` is what the customer pays.
        let taxes = try InvoiceTaxes(items: items.map { ($0.amount, $0.taxRate) })
        let total = taxes.total
        let nothing = taxes.subtotal == 0 && taxes.taxTotal == 0
        let issue = input.issue
        let status = issue ? "issued" : "draft"
        let issuedAt = issue ? input.asOf : nil
        let dueOn = issue ? input.localAsOf.adding(days: input.dueDays) : nil

        guard let existing else {
            guard !items.isEmpty, !nothing else { return nil }
            return RollupInvoicePlan(action: .create, existingID: nil, sourceKey: sourceKey, kind: kind, currency: group.currency,
                                     month: group.month, status: status, issuedAt: issuedAt, dueOn: dueOn, total: total, previousTotal: 0,
                                     items: items, deletedItemIDs: [], detachedItemIDs: [], taxes: taxes, taxNote: input.tax.note)
        }
        if nothing {
            // No invoice with a total of 0: the draft goes; other jobs' items become uninvoiced again.
            let ours = existing.items.filter { $0.line != nil }.map(\.id).sorted()
            let theirs = existing.items.filter { $0.line == nil }.map(\.id).sorted()
            return RollupInvoicePlan(action: .remove, existingID: existing.id, sourceKey: existing.sourceKey, kind: kind,
                                     currency: group.currency, month: group.month, status: "draft", issuedAt: nil, dueOn: nil,
                                     total: 0, previousTotal: existing.total, items: [], deletedItemIDs: ours, detachedItemIDs: theirs)
        }
        guard changed || issue || existing.total != total else { return nil }
        return RollupInvoicePlan(action: .correct, existingID: existing.id, sourceKey: existing.sourceKey, kind: kind,
                                 currency: group.currency, month: group.month, status: status, issuedAt: issuedAt, dueOn: dueOn,
                                 total: total, previousTotal: existing.total, items: items, deletedItemIDs: deleted.sorted(), detachedItemIDs: [],
                                 taxes: taxes, taxNote: input.tax.note)
    }

    /// The correction of one line of an issued month: `delta` = target - what was billed.
    /// It is taxed at the rate of the item it corrects (the line's first billing), whatever the
    /// customer's rate is now: an issued month is never re-taxed. A line never billed before is
    /// invoiced for the first time, at `customerRate`.
    private static func adjustmentItem(_ line: RollupLine, target: RollupTarget?, prior: [RollupItem], delta: Int64, sourceKey: String, month: YearMonth, currency: CurrencyCode, customerRate: TaxRate?) throws -> RollupItemPlan {
        let original = prior.first { $0.kind != "adjustment" } ?? prior.first
        var minutes: Int64?
        var quantity: ExactDecimal
        var unitPrice: Int64
        var description: String
        var included: Int64?
        var increment: Int64?
        switch line {
        case .usage(_, let usageMonth):
            let priorMinutes = try MoneyMath.sum(prior.compactMap(\.minutes))
            let targetMinutes = target?.minutes ?? 0
            minutes = try MoneyMath.add(targetMinutes, -priorMinutes)
            quantity = try RollupDecimal.subtract(target?.quantity ?? ExactDecimal(0), RollupDecimal.sum(prior.map(\.quantity)))
            unitPrice = target?.unitPrice ?? original?.unitPrice ?? 0
            description = "Support time \(usageMonth) re-rated: \(try MoneyMath.hours(minutes: priorMinutes)) h → \(try MoneyMath.hours(minutes: targetMinutes)) h worked"
            included = target?.includedMinutes ?? original?.includedMinutes
            increment = target?.incrementMinutes
        case .setup, .fee:
            unitPrice = target?.unitPrice ?? original?.unitPrice ?? delta
            if unitPrice != 0 && delta % unitPrice == 0 {
                quantity = ExactDecimal(delta / unitPrice)
            } else {
                quantity = ExactDecimal(1)
                unitPrice = delta
            }
            let base = target?.description ?? original?.description ?? "\(line) of service \(line.serviceID)"
            description = (delta < 0 ? "Credit: " : "Late charge: ") + base + (delta < 0 ? " (no longer due)" : "")
        }
        let range = month.dateRange
        return RollupItemPlan(change: .insert, id: nil, sourceKey: sourceKey, line: line, serviceID: line.serviceID, kind: "adjustment",
                              description: description, minutes: minutes, quantity: quantity, unitPrice: unitPrice, amount: delta,
                              currency: currency, periodStart: range.start, periodEnd: range.end, includedMinutes: included,
                              incrementMinutes: increment, taxRate: original.map(\.taxRate) ?? customerRate)
    }
}
