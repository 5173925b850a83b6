import BillingCore

/// The rollup's invoices held in memory, for planner tests: applies plans the way the writer
/// applies them to the database, so reruns and re-rating can be tested without one.
struct RollupBooks {
    var invoices: [RollupInvoice] = []
    var openItems: [RollupItem] = []
    private var nextID: Int64 = 1000

    init(openItems: [RollupItem] = []) {
        self.openItems = openItems
    }

    private mutating func newID() -> Int64 {
        nextID += 1
        return nextID
    }

    mutating func apply(_ plan: MonthlyRollupPlan) {
        for invoice in plan.invoices {
            let attached = Set(invoice.items.filter { $0.change == .attach }.compactMap(\.id))
            openItems.removeAll { attached.contains($0.id) }
            if invoice.action == .remove {
                let detached = invoices.first { $0.id == invoice.existingID }?.items.filter { invoice.detachedItemIDs.contains($0.id) } ?? []
                openItems += detached
                invoices.removeAll { $0.id == invoice.existingID }
                continue
            }
            let id = invoice.existingID ?? newID()
            var items: [RollupItem] = []
            for item in invoice.items {
                items.append(RollupItem(
                    id: item.id ?? newID(), serviceID: item.serviceID, kind: item.kind, line: item.line, description: item.description,
                    minutes: item.minutes, quantity: item.quantity, unitPrice: item.unitPrice, amount: item.amount,
                    currency: item.currency, periodStart: item.periodStart, periodEnd: item.periodEnd, sourceKey: item.sourceKey,
                    includedMinutes: item.includedMinutes
                ))
            }
            invoices.removeAll { $0.id == id }
            invoices.append(RollupInvoice(id: id, kind: invoice.kind, currency: invoice.currency, month: invoice.month,
                                          status: invoice.status, total: invoice.total, sourceKey: invoice.sourceKey, items: items))
        }
        invoices.sort { $0.id < $1.id }
    }

    func invoice(_ sourceKey: String) -> RollupInvoice? { invoices.first { $0.sourceKey == sourceKey } }
}
