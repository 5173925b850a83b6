import BillingCore
import Testing

/// threshold-topup's planner over random balances, thresholds, packs, payments and new time.
@Suite("property: a top-up always ends strictly above the threshold")
struct TopupPropertyTests {
    typealias Input = ThresholdTopupInput
    static let usd = Currency(code: try! CurrencyCode("USD"), minorUnits: 2)
    static let customer: Int64 = 7
    static let asOf = try! Instant(rfc3339: "2026-10-14T12:00:00Z")
    static let today = try! LocalDate("2026-10-14")

    static func randomInput(_ g: inout SeededGenerator) -> Input {
        let statuses: [Input.ServiceStatus] = [.active, .active, .active, .pending, .suspended, .cancelled]
        let services = (1...Int64(g.int(1...3))).map { id in
            Input.Service(
                id: id, customerID: customer, status: g.pick(statuses),
                endsOn: g.chance(15) ? today.adding(days: g.int(-30...30)) : nil,
                planCode: "prepaid", planName: "Pre-paid", isPrepaid: true, incrementMinutes: g.pick([1, 6, 15, 30]), currency: usd,
                price: Input.Price(hourlyRate: g.int64(0...20_000), topupAmount: g.chance(70) ? g.pick([1000, 5000, 10_000]) : g.int64(1...100_000),
                                   threshold: g.chance(60) ? 0 : g.int64(-20_000...50_000)),
                balance: g.chance(30) ? 0 : g.int64(-200_000...200_000), topupsIssuedToday: g.chance(70) ? 0 : g.int(0...4))
        }
        var invoices: [Input.TopupInvoice] = []
        for id in 1...Int64(g.int(1...5)) where g.chance(70) {
            let total = g.int64(100...60_000)
            let status = g.pick([Input.InvoiceStatus.issued, .issued, .paid, .void])
            let paid = g.pick([0, total, total / 2, total + 100])
            // Ledger history consistent with the status: a paid invoice was credited once.
            let credited = status == .paid || (status == .issued && g.chance(10))
            let reversals = g.chance(20) ? 1 : 0
            invoices.append(Input.TopupInvoice(id: 100 + id, status: status, total: total, currency: usd.code,
                                               serviceID: services[g.int(0...(services.count - 1))].id, completedPaid: paid,
                                               credits: reversals + (credited ? 1 : 0), reversals: reversals,
                                               netCredited: credited ? total : 0, queueIDs: [id]))
        }
        var entries: [Input.EntryChange] = []
        for id in 1...Int64(g.int(1...6)) where g.chance(60) {
            let service = services[g.int(0...(services.count - 1))].id
            let entry = Input.TimeEntry(customerID: customer, ticketID: 900, ticketCustomerID: customer, ticketServiceID: nil,
                                        serviceID: service, workedAt: asOf.adding(seconds: -Int64(g.int(0...86_400))),
                                        minutes: g.int64(1...600), billable: g.chance(90))
            entries.append(Input.EntryChange(entryID: 500 + id, queueIDs: [id], entry: entry, debits: [], ledgerRowsAnyCustomer: 0))
        }
        return Input(customerID: customer, asOf: asOf, localAsOf: today, services: services, entries: entries, invoices: invoices,
                     serviceQueueIDs: [], rules: ThresholdTopupRules(dueDays: 7, maxTopupsPerDay: g.int(1...3)))
    }

    @Test("every top-up lifts balance + unpaid top-ups strictly above the threshold with the fewest packs; no service is left at or below it unreported")
    func strictlyAbove() {
        PropertyCheck.forAll("top-up above threshold") { g in
            let input = Self.randomInput(&g)
            let plan = try ThresholdTopupPlanner.plan(input)
            // B and P after this plan, computed from the input and the plan's own rows.
            var balance: [Int64: Int64] = [:]
            for service in input.services { balance[service.id] = service.balance }
            for row in plan.ledger { balance[row.serviceID, default: 0] += row.amount }
            var statusAfter: [Int64: Input.InvoiceStatus] = [:]
            for invoice in input.invoices { statusAfter[invoice.id] = invoice.status }
            for change in plan.statusChanges { statusAfter[change.invoiceID] = change.to }
            var pending: [Int64: Int64] = [:]
            for invoice in input.invoices where statusAfter[invoice.id] == .issued {
                if let service = invoice.serviceID { pending[service, default: 0] += invoice.total }
            }
            for service in input.services {
                guard let price = service.price else { continue }
                let covered = (balance[service.id] ?? 0) + (pending[service.id] ?? 0)
                let topups = plan.invoices.filter { $0.serviceID == service.id }
                let eligible = (service.status == .active || service.status == .pending) && (service.endsOn.map { $0 > Self.today } ?? true)
                let limited = plan.limitReached.contains { $0.serviceID == service.id }
                let context = "service \(service.id) \(service.status) B+P \(covered) threshold \(price.threshold) pack \(price.topupAmount): invoices \(topups.map { "\($0.packs)x\($0.packPrice)" }), input \(input)"
                guard eligible else {
                    if !topups.isEmpty || limited { return "an ineligible service got a top-up: \(context)" }
                    continue
                }
                guard topups.count <= 1 else { return "more than one top-up: \(context)" }
                if let topup = topups.first {
                    guard topup.packs >= 1, topup.amount == topup.packs * price.topupAmount, topup.packPrice == price.topupAmount else {
                        return "inconsistent top-up: \(context)"
                    }
                    guard covered <= price.threshold else { return "a top-up although B+P is above the threshold: \(context)" }
                    guard covered + topup.amount > price.threshold else { return "the top-up does not end above the threshold: \(context)" }
                    guard covered + topup.amount - price.topupAmount <= price.threshold else { return "more packs than needed: \(context)" }
                    guard !limited, service.topupsIssuedToday < input.rules.maxTopupsPerDay else { return "a top-up beyond max_topups_per_day: \(context)" }
                } else if limited {
                    guard covered <= price.threshold, service.topupsIssuedToday >= input.rules.maxTopupsPerDay else {
                        return "reported as limited without reason: \(context)"
                    }
                } else {
                    guard covered > price.threshold else { return "left at or below the threshold, unreported: \(context)" }
                }
            }
            return nil
        }
    }
}
