import BillingCore
import Testing

/// The threshold-topup rules, planner only (plain values, no database). The seed plan: 1 h =
/// 1.00 USD (rate 100), a pack of 10.00 USD (1000), threshold 0.
@Suite("threshold-topup planner: debits, corrections, credits, top-ups")
struct ThresholdTopupPlannerTests {
    typealias Input = ThresholdTopupInput
    static let usd = Currency(code: try! CurrencyCode("USD"), minorUnits: 2)
    static let customer: Int64 = 7
    // as-of 2026-10-14 12:00 UTC; the customer is in UTC.
    static let asOf = try! Instant(rfc3339: "2026-10-14T12:00:00Z")
    static let today = try! LocalDate("2026-10-14")
    static let seed = Input.Price(hourlyRate: 100, topupAmount: 1000, threshold: 0)

    static func service(_ id: Int64 = 30, status: Input.ServiceStatus = .active, endsOn: LocalDate? = nil, price: Input.Price? = seed,
                        balance: Int64 = 0, today: Int = 0, increment: Int64 = 15, prepaid: Bool = true, customer: Int64 = customer) -> Input.Service {
        Input.Service(id: id, customerID: customer, status: status, endsOn: endsOn, planCode: "prepaid-credit", planName: "Pre-paid Support Credit",
                      isPrepaid: prepaid, incrementMinutes: increment, currency: usd, price: price, balance: balance, topupsIssuedToday: today)
    }

    static func entry(_ minutes: Int64, service: Int64? = 30, billable: Bool = true, worked: String = "2026-10-14T09:00:00Z",
                      customer: Int64 = customer, ticketCustomer: Int64? = customer) -> Input.TimeEntry {
        Input.TimeEntry(customerID: customer, ticketID: 900, ticketCustomerID: ticketCustomer, ticketServiceID: nil, serviceID: service,
                        workedAt: try! Instant(rfc3339: worked), minutes: minutes, billable: billable)
    }

    static func change(_ id: Int64, _ entry: Input.TimeEntry?, debits: [Input.EntryDebit] = [], anyRows: Int? = nil, queue: [Int64]? = nil) -> Input.EntryChange {
        Input.EntryChange(entryID: id, queueIDs: queue ?? [id * 10], entry: entry, debits: debits,
                          ledgerRowsAnyCustomer: anyRows ?? debits.reduce(0) { $0 + $1.rows })
    }

    static func debit(service: Int64 = 30, minutes: Int64, amount: Int64, rate: Int64? = 100, rows: Int = 1) -> Input.EntryDebit {
        Input.EntryDebit(serviceID: service, currency: usd.code, netMinutes: minutes, netAmount: amount, hourlyRate: rate, rows: rows)
    }

    static func invoice(_ id: Int64, status: Input.InvoiceStatus = .issued, total: Int64 = 1000, paid: Int64 = 0, credits: Int = 0, reversals: Int = 0,
                        net: Int64 = 0, service: Int64? = 30, queue: [Int64] = []) -> Input.TopupInvoice {
        Input.TopupInvoice(id: id, status: status, total: total, currency: usd.code, serviceID: service, completedPaid: paid,
                           credits: credits, reversals: reversals, netCredited: net, queueIDs: queue)
    }

    static func plan(services: [Input.Service] = [service()], entries: [Input.EntryChange] = [], invoices: [Input.TopupInvoice] = [],
                     serviceQueue: [Int64] = [], maxPerDay: Int = 3) throws -> ThresholdTopupPlan {
        try ThresholdTopupPlanner.plan(Input(customerID: customer, asOf: asOf, localAsOf: today, services: services, entries: entries,
                                             invoices: invoices, serviceQueueIDs: serviceQueue,
                                             rules: ThresholdTopupRules(dueDays: 7, maxTopupsPerDay: maxPerDay)))
    }

    // MARK: - Debits

    @Test("each billable entry is debited once: minutes rounded up per entry, money half away from zero")
    func debitsPerEntry() throws {
        // increment 15 at 1.00/h: 7 -> 15 min = -0.25; 16 -> 30 = -0.50; 50 -> 60 = -1.00.
        let plan = try Self.plan(services: [Self.service(balance: 5000)], entries: [
            Self.change(1, Self.entry(7)), Self.change(2, Self.entry(16)), Self.change(3, Self.entry(50)),
            Self.change(4, Self.entry(30, billable: false)),
        ])
        #expect(plan.ledger.map(\.amount) == [-25, -50, -100])
        #expect(plan.ledger.map(\.minutes) == [15, 30, 60])
        #expect(plan.ledger.map(\.reason) == [.usage, .usage, .usage])
        #expect(plan.ledger.map(\.sourceKey) == ["tt:usage:1", "tt:usage:2", "tt:usage:3"])
        #expect(plan.ledger.allSatisfy { $0.hourlyRate == 100 && $0.serviceID == 30 })
        // Every queued change is consumed, the non-billable one too.
        #expect(plan.consumedEntryQueueIDs == [10, 20, 30, 40])
        #expect(plan.invoices.isEmpty)

        // Increment 1 (exact minutes) at 3 minor units per hour: 10 min = 0.5 -> 1 (half away from zero).
        let exact = try Self.plan(services: [Self.service(price: .init(hourlyRate: 3, topupAmount: 1000, threshold: -10_000), increment: 1)],
                                  entries: [Self.change(1, Self.entry(10)), Self.change(2, Self.entry(9))])
        #expect(exact.ledger.map(\.amount) == [-1, 0]) // 9 min = 0.45 -> 0
        #expect(exact.ledger.map(\.minutes) == [10, 9])
    }

    @Test("an entry already debited with unchanged minutes gives nothing (a rerun emits nothing)")
    func unchangedEntry() throws {
        let plan = try Self.plan(services: [Self.service(balance: 900)],
                                 entries: [Self.change(1, Self.entry(50), debits: [Self.debit(minutes: 60, amount: -100)])])
        #expect(plan.ledger.isEmpty)
        #expect(plan.consumedEntryQueueIDs == [10])
    }

    @Test("work recorded after as-of waits in the queue; nothing is written for it yet")
    func futureEntryWaits() throws {
        let plan = try Self.plan(services: [Self.service(balance: 900)],
                                 entries: [Self.change(1, Self.entry(60, worked: "2026-10-14T12:00:01Z")), Self.change(2, Self.entry(60))])
        #expect(plan.ledger.map(\.sourceKey) == ["tt:usage:2"])
        #expect(plan.deferredEntryIDs == [1])
        #expect(plan.consumedEntryQueueIDs == [20])
    }

    // MARK: - Corrections

    @Test("an edited entry is corrected by an adjustment at the rate it was debited at, even after a price change")
    func editAfterPriceChange() throws {
        // Debited 60 min at 1.00/h (-1.00); the plan now costs 2.00/h; the entry is edited to 80 min (-> 90).
        // Owed at the debit's rate: 90 min x 1.00/h = -1.50, so the adjustment is -0.50 for +30 min.
        let repriced = Self.service(price: .init(hourlyRate: 200, topupAmount: 1000, threshold: 0), balance: 900)
        let plan = try Self.plan(services: [repriced], entries: [Self.change(1, Self.entry(80), debits: [Self.debit(minutes: 60, amount: -100)])])
        #expect(plan.ledger == [ThresholdTopupPlan.LedgerRow(
            serviceID: 30, amount: -50, currency: Self.usd.code, reason: .adjustment, timeEntryID: 1, invoiceID: nil,
            minutes: 30, hourlyRate: 100, sourceKey: "tt:adj:1:7:30:2")])

        // Shortened to 20 min (-> 30): 0.50 given back.
        let shorter = try Self.plan(services: [repriced], entries: [Self.change(1, Self.entry(20), debits: [Self.debit(minutes: 60, amount: -100)])])
        #expect(shorter.ledger.map(\.amount) == [50])
        #expect(shorter.ledger.map(\.minutes) == [-30])
    }

    @Test("a withdrawn (non-billable) or deleted entry is given back in full; the debit itself is never edited")
    func withdrawnAndDeleted() throws {
        let debited = [Self.debit(minutes: 90, amount: -150)]
        let withdrawn = try Self.plan(services: [Self.service(balance: 850)], entries: [Self.change(1, Self.entry(90, billable: false), debits: debited)])
        #expect(withdrawn.ledger.map(\.amount) == [150])
        #expect(withdrawn.ledger.map(\.minutes) == [-90])
        #expect(withdrawn.ledger.map(\.reason) == [.adjustment])
        #expect(withdrawn.ledger.map(\.sourceKey) == ["tt:adj:1:7:30:2"])

        let deleted = try Self.plan(services: [Self.service(balance: 850)], entries: [Self.change(1, nil, debits: debited)])
        #expect(deleted.ledger.map(\.amount) == [150])
        #expect(deleted.consumedEntryQueueIDs == [10])
    }

    @Test("an entry moved to another service: given back on the old one, debited on the new one at its price")
    func movedEntry() throws {
        let expensive = Self.service(31, price: .init(hourlyRate: 300, topupAmount: 5000, threshold: 0), balance: 10_000)
        let plan = try Self.plan(services: [Self.service(balance: 900), expensive],
                                 entries: [Self.change(1, Self.entry(60, service: 31), debits: [Self.debit(minutes: 60, amount: -100)])])
        #expect(plan.ledger.map(\.serviceID) == [30, 31])
        #expect(plan.ledger.map(\.amount) == [100, -300])
        #expect(plan.ledger.map(\.reason) == [.adjustment, .adjustment])
        #expect(plan.ledger.map(\.sourceKey) == ["tt:adj:1:7:30:2", "tt:adj:1:7:31:1"])
        // Moved to a metered service: only the give-back.
        let metered = Self.service(32, price: nil, prepaid: false)
        let away = try Self.plan(services: [Self.service(balance: 900), metered],
                                 entries: [Self.change(1, Self.entry(60, service: 32), debits: [Self.debit(minutes: 60, amount: -100)])])
        #expect(away.ledger.map(\.amount) == [100])
    }

    @Test("a debit fully given back starts afresh at today's rate when the entry becomes billable again")
    func redebitAfterSettled() throws {
        // Debited at 1.00/h, withdrawn (net 0 over 2 rows); billable again at today's 2.00/h.
        let plan = try Self.plan(services: [Self.service(price: .init(hourlyRate: 200, topupAmount: 1000, threshold: 0), balance: 900)],
                                 entries: [Self.change(1, Self.entry(60), debits: [Self.debit(minutes: 0, amount: 0, rate: 100, rows: 2)])])
        #expect(plan.ledger.map(\.amount) == [-200])
        #expect(plan.ledger.map(\.reason) == [.adjustment])
        #expect(plan.ledger.map(\.hourlyRate) == [200])
        #expect(plan.ledger.map(\.sourceKey) == ["tt:adj:1:7:30:3"])
    }

    @Test("an entry that moved to another customer is given back for the customer that was debited")
    func entryMovedToAnotherCustomer() throws {
        let plan = try Self.plan(services: [Self.service(balance: 900)],
                                 entries: [Self.change(1, Self.entry(60, customer: 8, ticketCustomer: 8), debits: [Self.debit(minutes: 60, amount: -100)])])
        #expect(plan.ledger.map(\.amount) == [100])
        #expect(plan.ledger.map(\.sourceKey) == ["tt:adj:1:7:30:2"])
    }

    // MARK: - Top-ups

    @Test("the seed: ten hours per pack; the tenth hour used issues the next pack; with it unpaid, nothing more")
    func seedCase() throws {
        // B = 10.00 - 9 h = 1.00 > 0: no top-up.
        let ninth = try Self.plan(services: [Self.service(balance: 200)], entries: [Self.change(9, Self.entry(60))])
        #expect(ninth.ledger.map(\.amount) == [-100])
        #expect(ninth.invoices.isEmpty)
        // The tenth hour: B = 0 <= 0, one pack: 0 + 1 x 10.00 > 0.
        let tenth = try Self.plan(services: [Self.service(balance: 100)], entries: [Self.change(10, Self.entry(60))])
        #expect(tenth.invoices == [ThresholdTopupPlan.TopupInvoice(
            serviceID: 30, currency: Self.usd.code, packs: 1, packPrice: 1000, amount: 1000,
            dueOn: try LocalDate("2026-10-21"), description: "Pre-paid Support Credit for service 30, balance 0.00 USD",
            sourceKey: "tt:inv:30:2026-10-14:1", itemSourceKey: "tt:item:30:2026-10-14:1", balance: 0, pending: 0, threshold: 0)])
        // Next run: the pack is issued and unpaid, B + P = 0 + 10.00 > 0: nothing.
        let rerun = try Self.plan(services: [Self.service(balance: 0, today: 1)], invoices: [Self.invoice(1)])
        #expect(rerun.invoices.isEmpty)
        #expect(rerun.ledger.isEmpty)
        #expect(rerun.statusChanges.isEmpty)
    }

    @Test("n is the smallest n >= 1 with B + P + n x pack > threshold: a deep negative balance is closed by one invoice", arguments: [
        // (balance, pending, threshold, packs)
        (Int64(0), Int64(0), Int64(0), Int64(1)),
        (-2500, 0, 0, 3),        // -25.00 + 30.00 = 5.00 > 0; two packs leave -5.00
        (-2000, 0, 0, 3),        // -20.00 + 20.00 = 0 is not above 0
        (-1500, 1000, 0, 1),     // an unpaid pack counts: -15.00 + 10.00 + 10.00 = 5.00
        (500, 0, 500, 1),        // at the threshold: 5.00 <= 5.00
        (-500, 0, -500, 1),      // a negative threshold (credit may run into debt)
        (-12_345, 0, 2000, 15),  // -123.45 + 150.00 = 26.55 > 20.00; 14 packs: 16.55
    ])
    func packsNeeded(balance: Int64, pending: Int64, threshold: Int64, packs: Int64) throws {
        let price = Input.Price(hourlyRate: 100, topupAmount: 1000, threshold: threshold)
        let plan = try Self.plan(services: [Self.service(price: price, balance: balance)],
                                 invoices: pending > 0 ? [Self.invoice(1, total: pending)] : [])
        #expect(plan.invoices.map(\.packs) == [packs])
        #expect(plan.invoices.map(\.amount) == [packs * 1000])
        #expect(balance + pending + packs * 1000 > threshold)
        #expect(balance + pending + (packs - 1) * 1000 <= threshold)
    }

    @Test("above the threshold (counting unpaid top-ups) nothing is issued", arguments: [
        (Int64(1), Int64(0), Int64(0)), (-499, 0, -500), (-900, 1000, 0), (501, 0, 500),
    ])
    func noPackNeeded(balance: Int64, pending: Int64, threshold: Int64) throws {
        let plan = try Self.plan(services: [Self.service(price: .init(hourlyRate: 100, topupAmount: 1000, threshold: threshold), balance: balance)],
                                 invoices: pending > 0 ? [Self.invoice(1, total: pending)] : [])
        #expect(plan.invoices.isEmpty)
    }

    @Test("the decision uses the balance after this run's debits and credits")
    func decisionAfterThisRun() throws {
        // B before = 3.00; 3 h debited -> 0.00: a pack. The same with a paid 10.00 invoice credited -> 10.00: none.
        let debited = try Self.plan(services: [Self.service(balance: 300)], entries: [Self.change(1, Self.entry(180))])
        #expect(debited.invoices.map(\.balance) == [0])
        let credited = try Self.plan(services: [Self.service(balance: 300)], entries: [Self.change(1, Self.entry(180))],
                                     invoices: [Self.invoice(5, paid: 1000)])
        #expect(credited.invoices.isEmpty)
        #expect(credited.ledger.map(\.amount) == [-300, 1000])
    }

    @Test("pending services get their first pack; suspended, cancelled and ended services are debited but get none")
    func statuses() throws {
        let pending = try Self.plan(services: [Self.service(status: .pending)])
        #expect(pending.invoices.map(\.packs) == [1])
        for status in [Input.ServiceStatus.suspended, .cancelled] {
            let plan = try Self.plan(services: [Self.service(status: status, balance: 0)], entries: [Self.change(1, Self.entry(60))])
            #expect(plan.ledger.map(\.amount) == [-100], "\(status)")
            #expect(plan.invoices.isEmpty, "\(status)")
        }
        // Term ended on the 14th (exclusive end): no pack on the 14th; still running on the 13th's end.
        //   ... 13 | 14 ...
        //          ^ ends_on = as-of date: ended
        let ended = try Self.plan(services: [Self.service(endsOn: Self.today)])
        #expect(ended.invoices.isEmpty)
        let running = try Self.plan(services: [Self.service(endsOn: Self.today.adding(days: 1))])
        #expect(running.invoices.count == 1)
    }

    @Test("at most max_topups_per_day invoices per service and local day; beyond, the service is reported and its debits still recorded")
    func dailyLimit() throws {
        // Third invoice of the day allowed with max 3, numbered :3.
        let third = try Self.plan(services: [Self.service(today: 2)], maxPerDay: 3)
        #expect(third.invoices.map(\.sourceKey) == ["tt:inv:30:2026-10-14:3"])
        // A fourth is not: reported, and the debit is still planned.
        let fourth = try Self.plan(services: [Self.service(balance: 0, today: 3)], entries: [Self.change(1, Self.entry(60))], serviceQueue: [5, 6], maxPerDay: 3)
        #expect(fourth.invoices.isEmpty)
        #expect(fourth.ledger.map(\.amount) == [-100])
        #expect(fourth.limitReached.map(\.serviceID) == [30])
        #expect(fourth.limitReached.first?.reason.contains("service 30: max_topups_per_day = 3 reached on 2026-10-14 (3 top-up invoices issued that day)") == true)
        #expect(fourth.limitReached.first?.reason.contains("balance -1.00 USD") == true)
        #expect(fourth.limitReached.first?.reason.contains("issued on 2026-10-15") == true)
        // Its service-queue rows are consumed (the writer queues the service again).
        #expect(fourth.consumedServiceQueueIDs == [5, 6])
    }

    @Test("the invoice is due due_days after the local as-of date")
    func dueDate() throws {
        let plan = try ThresholdTopupPlanner.plan(Input(
            customerID: Self.customer, asOf: Self.asOf, localAsOf: try LocalDate("2026-12-28"), services: [Self.service()], entries: [],
            invoices: [], rules: ThresholdTopupRules(dueDays: 10, maxTopupsPerDay: 3)))
        #expect(plan.invoices.map(\.dueOn) == [try LocalDate("2027-01-07")])
    }

    // MARK: - Payments

    @Test("a fully paid top-up is credited once and marked paid; partly paid, nothing")
    func paidInvoice() throws {
        let plan = try Self.plan(services: [Self.service(balance: 500)], invoices: [Self.invoice(5, paid: 1000, queue: [77])])
        #expect(plan.ledger == [ThresholdTopupPlan.LedgerRow(
            serviceID: 30, amount: 1000, currency: Self.usd.code, reason: .topup, timeEntryID: nil, invoiceID: 5,
            minutes: nil, hourlyRate: nil, sourceKey: "tt:credit:5:1")])
        #expect(plan.statusChanges.map { [$0.from, $0.to] } == [[.issued, .paid]])
        #expect(plan.statusChanges.map(\.auditSourceKey) == ["tt:paid:5:1"])
        #expect(plan.consumedInvoiceQueueIDs == [77])

        let partly = try Self.plan(services: [Self.service(balance: 500)], invoices: [Self.invoice(5, paid: 999)])
        #expect(partly.ledger.isEmpty)
        #expect(partly.statusChanges.isEmpty)
        // Already credited and paid: nothing twice.
        let again = try Self.plan(services: [Self.service(balance: 1500)], invoices: [Self.invoice(5, status: .paid, paid: 1000, credits: 1, net: 1000)])
        #expect(again.ledger.isEmpty)
        #expect(again.statusChanges.isEmpty)
        // suspension-sweep marked it paid first: credited, no status move.
        let sweptFirst = try Self.plan(services: [Self.service(balance: 500)], invoices: [Self.invoice(5, status: .paid, paid: 1000)])
        #expect(sweptFirst.ledger.map(\.sourceKey) == ["tt:credit:5:1"])
        #expect(sweptFirst.statusChanges.isEmpty)
    }

    @Test("a reversed payment takes the credit back and unpays the invoice; a later payment credits it again")
    func reversal() throws {
        // pay (credit 1) -> reversed: taken back under the credit's number, invoice issued again.
        let reversed = try Self.plan(services: [Self.service(balance: 1500)], invoices: [Self.invoice(5, status: .paid, paid: 0, credits: 1, net: 1000)])
        #expect(reversed.ledger.map(\.amount) == [-1000])
        #expect(reversed.ledger.map(\.reason) == [.adjustment])
        #expect(reversed.ledger.map(\.sourceKey) == ["tt:uncredit:5:1"])
        #expect(reversed.statusChanges.map { [$0.from, $0.to] } == [[.paid, .issued]])
        #expect(reversed.statusChanges.map(\.auditSourceKey) == ["tt:unpaid:5:1"])
        #expect(reversed.statusChanges.map(\.auditEvent) == ["invoice_unpaid"])
        // B = 5.00, and the unpaid invoice counts again as P = 10.00: no new pack.
        #expect(reversed.invoices.isEmpty)

        // paid again: credit number 2, audit number 2.
        let repaid = try Self.plan(services: [Self.service(balance: 500)], invoices: [Self.invoice(5, status: .issued, paid: 1000, credits: 1, reversals: 1, net: 0)])
        #expect(repaid.ledger.map(\.sourceKey) == ["tt:credit:5:2"])
        #expect(repaid.ledger.map(\.amount) == [1000])
        #expect(repaid.statusChanges.map(\.auditSourceKey) == ["tt:paid:5:2"])

        // A void invoice is never credited; a credited one that was voided is taken back.
        let void = try Self.plan(services: [Self.service(balance: 1500)], invoices: [Self.invoice(5, status: .void, paid: 1000, credits: 1, net: 1000)])
        #expect(void.ledger.map(\.amount) == [-1000])
        #expect(void.statusChanges.isEmpty)
    }

    // MARK: - Invalid data

    @Test("invalid data throws a reason a person can act on", arguments: [
        ("no price", "service 30 (plan prepaid-credit) has no price in USD"),
        ("zero pack", "service 30 (plan prepaid-credit) has topup_amount 0 in USD"),
        ("ticket of another customer", "time entry 1 belongs to customer 7 but its ticket 900 belongs to customer 8"),
        ("missing ticket", "time entry 1 refers to ticket 900, which does not exist"),
        ("service of another customer", "time entry 1 of customer 7 is charged to service 40, which belongs to customer 8"),
        ("unknown service", "time entry 1 is charged to service 41, which does not exist"),
        ("invoice without service", "top-up invoice 5 has no top-up item naming its service"),
    ])
    func invalid(name: String, reason: String) throws {
        var services = [Self.service()]
        var entries: [Input.EntryChange] = []
        var invoices: [Input.TopupInvoice] = []
        switch name {
        case "no price": services = [Self.service(price: nil)]
        case "zero pack": services = [Self.service(price: .init(hourlyRate: 100, topupAmount: 0, threshold: 0))]
        case "ticket of another customer": entries = [Self.change(1, Self.entry(60, ticketCustomer: 8))]
        case "missing ticket": entries = [Self.change(1, Self.entry(60, ticketCustomer: nil))]
        case "service of another customer":
            services.append(Self.service(40, customer: 8))
            entries = [Self.change(1, Self.entry(60, service: 40))]
        case "unknown service": entries = [Self.change(1, Self.entry(60, service: 41))]
        default: invoices = [Self.invoice(5, paid: 1000, service: nil)]
        }
        let error = #expect(throws: BillingError.self) {
            _ = try Self.plan(services: services, entries: entries, invoices: invoices)
        }
        #expect(error?.message.hasPrefix(reason) == true, "\(String(describing: error))")
    }

    @Test("a zero pack price on a service that takes no packs does not block its debits")
    func zeroPackOnCancelledService() throws {
        let plan = try Self.plan(services: [Self.service(status: .cancelled, price: .init(hourlyRate: 100, topupAmount: 0, threshold: 0))],
                                 entries: [Self.change(1, Self.entry(60))])
        #expect(plan.ledger.map(\.amount) == [-100])
    }
}
