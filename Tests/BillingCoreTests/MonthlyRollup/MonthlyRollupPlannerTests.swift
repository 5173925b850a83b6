import BillingCore
import Testing

/// Planner rules with the numbers of issue 3 and the seed documents. Amounts are minor units.
@Suite("monthly-rollup planner: fees, usage, invoices, re-rating")
struct MonthlyRollupPlannerTests {
    static let usd = try! CurrencyCode("USD")
    static let eur = try! CurrencyCode("EUR")
    static let jpy = try! CurrencyCode("JPY")
    static let asOf = try! Instant(rfc3339: "2026-11-01T14:00:00Z")

    private func d(_ text: String) -> LocalDate { try! LocalDate(text) }
    private func ym(_ text: String) -> YearMonth { try! YearMonth(text) }

    // The demo catalogue: the 2 h bundle (200.00 a month, 60.00/h beyond 2 h) and post-paid hourly
    // support (1.00/h, 30.00 one-time fee: HostBill's example).
    private func bundle(id: Int64 = 1, starts: String, ends: String? = nil, currency: CurrencyCode = usd, price: RollupPrice? = RollupPrice(recurringFee: 20000, setupFee: 0, hourlyRate: 6000), status: String = "active") -> RollupService {
        RollupService(id: id, planID: 1, planCode: "bundle-2h", planName: "Priority Support Bundle", billing: .metered, periodMonths: 1,
                      billInAdvance: false, includedMinutes: 120, currency: currency, status: status, startsOn: d(starts),
                      endsOn: ends.map { d($0) }, price: price)
    }

    private func postpaid(id: Int64 = 2, starts: String) -> RollupService {
        RollupService(id: id, planID: 2, planCode: "hourly-postpaid", planName: "Post-paid Support", billing: .metered, periodMonths: 1,
                      billInAdvance: false, includedMinutes: 0, currency: Self.usd, status: "active", startsOn: d(starts), endsOn: nil,
                      price: RollupPrice(recurringFee: 0, setupFee: 3000, hourlyRate: 100))
    }

    private func flat(id: Int64 = 3, starts: String, ends: String? = nil, months: Int = 1, advance: Bool = false, fee: Int64 = 4900, status: String = "active") -> RollupService {
        RollupService(id: id, planID: 6, planCode: "priority-flat", planName: "Priority Support", billing: .recurring, periodMonths: months,
                      billInAdvance: advance, includedMinutes: 0, currency: Self.usd, status: status, startsOn: d(starts),
                      endsOn: ends.map { d($0) }, price: RollupPrice(recurringFee: fee, setupFee: 0, hourlyRate: 0))
    }

    private func input(_ months: [String], _ services: [RollupService], usage: [(Int64, String, Int64)] = [], books: RollupBooks = RollupBooks(), localAsOf: String = "2026-11-01", issue: Bool = true, customer: Int64 = 7) -> MonthlyRollupInput {
        MonthlyRollupInput(
            customerID: customer, localAsOf: d(localAsOf), asOf: Self.asOf, window: RollupWindow(months: months.map { ym($0) }),
            services: services, usage: usage.map { RollupUsage(serviceID: $0.0, month: ym($0.1), minutes: $0.2) },
            invoices: books.invoices, openItems: books.openItems, dueDays: 14, issue: issue
        )
    }

    private func plan(_ input: MonthlyRollupInput, sourceLocation: SourceLocation = #_sourceLocation) -> MonthlyRollupPlan {
        switch MonthlyRollupPlanner.plan(input) {
        case .plan(let plan): return plan
        case .skip(let reason):
            Issue.record("unexpected skip: \(reason)", sourceLocation: sourceLocation)
            return MonthlyRollupPlan(customerID: input.customerID)
        }
    }

    private func skipReason(_ input: MonthlyRollupInput) -> String? {
        if case .skip(let reason) = MonthlyRollupPlanner.plan(input) { return reason }
        return nil
    }

    // MARK: - Usage

    //   Northwind, October: entries 60 + 45 + 90 + 50 (-> 60) = 255 min = 4.25 h (rounded by SQL)
    //   2 h included, 2.25 h beyond at 60.00/h = 135.00, plus the 200.00 package fee.
    @Test("the seed bundle: 4.25 h worked, 2 h included, 2.25 h at 60.00/h = 135.00 plus the package fee")
    func seedBundle() throws {
        let result = plan(input(["2026-10"], [bundle(starts: "2026-08-01")], usage: [(1, "2026-10", 255)]))
        let invoice = try #require(result.invoices.first)
        #expect(result.invoices.count == 1)
        #expect(invoice.action == .create)
        #expect(invoice.kind == .period)
        #expect(invoice.sourceKey == "mr:period:7:USD:2026-10")
        #expect(invoice.total == 33500)
        #expect(invoice.status == "issued")
        #expect(invoice.issuedAt == Self.asOf)
        #expect(invoice.dueOn == d("2026-11-15"))
        let usage = try #require(invoice.items.first { $0.kind == "usage" })
        #expect(usage.minutes == 255)
        #expect(usage.quantity == ExactDecimal(units: 225, scale: 2))
        #expect(usage.unitPrice == 6000)
        #expect(usage.amount == 13500)
        #expect(usage.sourceKey == "mr:usage:1:2026-10")
        #expect(usage.periodStart == d("2026-10-01") && usage.periodEnd == d("2026-11-01"))
        #expect(usage.description == "Support time 2026-10: 4.25 h worked, 2 h included")
        let fee = try #require(invoice.items.first { $0.kind == "recurring_fee" })
        #expect(fee.amount == 20000)
        #expect(fee.quantity == ExactDecimal(1))
        #expect(fee.sourceKey == "mr:fee:1:2026-10-01")
        #expect(fee.periodStart == d("2026-10-01") && fee.periodEnd == d("2026-11-01"))
    }

    @Test("included minutes never roll over: 45 min in October leaves nothing for November")
    func noRollover() throws {
        let result = plan(input(["2026-10", "2026-11"], [bundle(starts: "2026-08-01")], usage: [(1, "2026-10", 45), (1, "2026-11", 180)], localAsOf: "2026-12-01"))
        let october = try #require(result.invoices.first { $0.month == ym("2026-10") })
        let november = try #require(result.invoices.first { $0.month == ym("2026-11") })
        #expect(october.items.first { $0.kind == "usage" }?.amount == 0)
        #expect(october.items.first { $0.kind == "usage" }?.minutes == 45)
        #expect(october.total == 20000)
        // 180 - 120 = 60 min at 60.00/h, not 180 - (120 + 75 unused).
        #expect(november.items.first { $0.kind == "usage" }?.amount == 6000)
        #expect(november.items.first { $0.kind == "usage" }?.quantity == ExactDecimal(1))
    }

    //   Contoso: service from Oct 3. October: 30.00 one-time fee + 135 min at 1.00/h = 2.25.
    //   November: 60 min = 1.00, no fee again.
    @Test("post-paid at 1.00/h with a 30.00 one-time fee: the fee once, in the month of starts_on")
    func postPaid() throws {
        var books = RollupBooks()
        let october = plan(input(["2026-10"], [postpaid(starts: "2026-10-03")], usage: [(2, "2026-10", 135)]))
        let invoice = try #require(october.invoices.first)
        #expect(invoice.total == 3225)
        #expect(invoice.items.map(\.kind) == ["setup_fee", "usage"])
        #expect(invoice.items.map(\.amount) == [3000, 225])
        #expect(invoice.items[0].sourceKey == "mr:setup:2")
        #expect(invoice.items[1].quantity == ExactDecimal(units: 225, scale: 2))
        books.apply(october)
        let november = plan(input(["2026-10", "2026-11"], [postpaid(starts: "2026-10-03")], usage: [(2, "2026-10", 135), (2, "2026-11", 60)], books: books, localAsOf: "2026-12-01"))
        #expect(november.invoices.count == 1)
        #expect(november.invoices.first?.month == ym("2026-11"))
        #expect(november.invoices.first?.items.map(\.kind) == ["usage"])
        #expect(november.invoices.first?.total == 100)
    }

    //   Sakura: 195 min = 3.25 h; 1.25 h beyond 2 h at 9000 JPY/h = 11250 JPY; fee 30000 JPY.
    @Test("JPY has no minor units: 1.25 h at 9000 JPY/h = 11250 JPY")
    func yen() throws {
        let service = bundle(starts: "2026-06-02", currency: Self.jpy, price: RollupPrice(recurringFee: 30000, setupFee: 0, hourlyRate: 9000))
        let invoice = try #require(plan(input(["2026-10"], [service], usage: [(1, "2026-10", 195)])).invoices.first)
        #expect(invoice.currency == Self.jpy)
        #expect(invoice.sourceKey == "mr:period:7:JPY:2026-10")
        #expect(invoice.items.first { $0.kind == "usage" }?.amount == 11250)
        #expect(invoice.total == 41250)
    }

    //   Three 15-minute entries at 0.01/h: per line 45 min = 0.75 cent -> 1 cent; rounding each
    //   entry (0.25 cent -> 0) would bill nothing. 30 min at 0.01/h = 0.5 cent -> 1 (half up);
    //   20 min at 1.00/h = 33.33 cents -> 33.
    @Test("money is rounded half-up once per line", arguments: [(45, 1, 1), (30, 1, 1), (20, 100, 33), (10, 100, 17), (50, 6000, 5000)] as [(Int64, Int64, Int64)])
    func rounding(minutes: Int64, rate: Int64, expected: Int64) throws {
        let service = RollupService(id: 5, planID: 9, planCode: "p", planName: "P", billing: .metered, periodMonths: 1, billInAdvance: false,
                                    includedMinutes: 0, currency: Self.usd, status: "active", startsOn: d("2026-01-01"), endsOn: nil,
                                    price: RollupPrice(recurringFee: 0, setupFee: 0, hourlyRate: rate))
        let invoice = try #require(plan(input(["2026-10"], [service], usage: [(5, "2026-10", minutes)])).invoices.first)
        #expect(invoice.items.first?.amount == expected)
        #expect(invoice.total == expected)
    }

    // MARK: - Fees

    //   anchor Jan 31, monthly: one fee per period, in the month the period starts:
    //   |-- Jan 31 --|-- Feb 28 --|-- Mar 31 --|-- Apr 30 --|
    //   Jan invoice   Feb invoice  Mar invoice  Apr invoice
    @Test("the recurring fee is billed once per anniversary period, in the month it starts (clamped, never chained)")
    func anniversaries() throws {
        let result = plan(input(["2027-01", "2027-02", "2027-03", "2027-04"], [flat(starts: "2027-01-31")], localAsOf: "2027-05-01"))
        #expect(result.invoices.map(\.month) == [ym("2027-01"), ym("2027-02"), ym("2027-03"), ym("2027-04")])
        #expect(result.invoices.map { $0.items.first?.periodStart } == [d("2027-01-31"), d("2027-02-28"), d("2027-03-31"), d("2027-04-30")])
        #expect(result.invoices.map { $0.items.first?.periodEnd } == [d("2027-02-28"), d("2027-03-31"), d("2027-04-30"), d("2027-05-31")])
        #expect(result.invoices.allSatisfy { $0.total == 4900 })
    }

    //   Starts Oct 20: the whole first period's fee in October, no proration.
    @Test("no proration: a service starting on Oct 20 pays the full fee in October")
    func noProration() throws {
        let invoice = try #require(plan(input(["2026-10"], [flat(starts: "2026-10-20")])).invoices.first)
        #expect(invoice.total == 4900)
        #expect(invoice.items.first?.description == "Priority Support, 2026-10-20..2026-11-19")
    }

    //   starts_on Jul 17, monthly, in advance (Adventure Works):
    //   Jul invoice: Jul 17–Aug 16 and Aug 17–Sep 16 (the first period cannot go before July)
    //   Aug invoice: Sep 17–Oct 16 ... Oct invoice: Nov 17–Dec 16
    @Test("bill_in_advance bills each period in the month before it starts, never before the month of starts_on")
    func inAdvance() throws {
        let result = plan(input(["2026-07", "2026-08", "2026-09", "2026-10"], [flat(starts: "2026-07-17", advance: true)]))
        #expect(result.invoices.map(\.month) == [ym("2026-07"), ym("2026-08"), ym("2026-09"), ym("2026-10")])
        #expect(result.invoices[0].items.map(\.periodStart) == [d("2026-07-17"), d("2026-08-17")])
        #expect(result.invoices[0].total == 9800)
        #expect(result.invoices[1].items.map(\.periodStart) == [d("2026-09-17")])
        #expect(result.invoices[3].items.map(\.description) == ["Priority Support, 2026-11-17..2026-12-16 (in advance)"])
    }

    //   Quarterly from Aug 3, cancelled with ends_on Nov 10 (exclusive):
    //   |-- Aug 3..Nov 2 --|-- Nov 3..Feb 2 --|-- Feb 3 ...
    //   Aug invoice        Nov invoice (started in the term: full fee)   never billed
    @Test("a cancelled service pays for the periods that started within its term")
    func cancelled() throws {
        let service = flat(starts: "2026-08-03", ends: "2026-11-10", months: 3, fee: 45000, status: "cancelled")
        let months = ["2026-08", "2026-09", "2026-10", "2026-11", "2026-12", "2027-01", "2027-02", "2027-03"]
        let result = plan(input(months, [service], localAsOf: "2027-04-01"))
        #expect(result.invoices.map(\.month) == [ym("2026-08"), ym("2026-11")])
        #expect(result.invoices.map(\.total) == [45000, 45000])
        #expect(result.invoices[1].items.first?.periodEnd == d("2027-02-03"))
    }

    //   period_months 0 from Sep 12: one fee for the whole term, in September, never again.
    @Test("period_months = 0 bills one fee for the whole term; suspended services keep paying")
    func lifetimeAndSuspended() throws {
        let lifetime = flat(starts: "2026-09-12", months: 0, fee: 19900)
        let result = plan(input(["2026-08", "2026-09", "2026-10"], [lifetime]))
        #expect(result.invoices.map(\.month) == [ym("2026-09")])
        #expect(result.invoices.first?.items.first?.periodStart == d("2026-09-12"))
        #expect(result.invoices.first?.items.first?.periodEnd == nil)
        #expect(result.invoices.first?.items.first?.description == "Priority Support, from 2026-09-12")
        let suspended = flat(starts: "2026-09-05", status: "suspended")
        #expect(plan(input(["2026-10"], [suspended])).invoices.first?.total == 4900)
    }

    @Test("a cancelled service without ends_on is skipped with a reason")
    func cancelledOpenEnded() {
        let reason = skipReason(input(["2026-10"], [flat(starts: "2026-08-03", status: "cancelled")]))
        #expect(reason == "service 3 (plan priority-flat) is cancelled but has no ends_on: set the date its term ended, then re-run")
    }

    @Test("no price in the service's currency: the customer is skipped with a reason a person can act on")
    func missingPrice() {
        let service = bundle(id: 8, starts: "2026-05-03", currency: Self.eur, price: nil)
        #expect(skipReason(input(["2026-10"], [service])) == "service 8 (plan bundle-2h) has no price in EUR: add a plan_prices row for plan 1 in EUR, then re-run")
        // A service whose term ended before the window needs no price.
        let ended = bundle(id: 8, starts: "2025-05-03", ends: "2026-01-01", currency: Self.eur, price: nil)
        #expect(plan(input(["2026-10"], [ended, flat(starts: "2026-10-01")])).invoices.first?.total == 4900)
    }

    // MARK: - Invoices

    @Test("one period invoice per (customer, currency, month)")
    func perCurrency() throws {
        let euroBundle = bundle(id: 4, starts: "2026-08-01", currency: Self.eur, price: RollupPrice(recurringFee: 18500, setupFee: 0, hourlyRate: 5500))
        let result = plan(input(["2026-10"], [bundle(starts: "2026-08-01"), flat(starts: "2026-09-05"), euroBundle]))
        #expect(result.invoices.map(\.sourceKey) == ["mr:period:7:EUR:2026-10", "mr:period:7:USD:2026-10"])
        #expect(result.invoices.map(\.total) == [18500, 24900])
        #expect(result.invoices[1].items.count == 2)
    }

    @Test("no invoice when the total is 0")
    func zeroTotal() {
        // Post-paid without usage; a bundle at 0.00 with its usage within the included hours.
        let free = bundle(starts: "2026-08-01", price: RollupPrice(recurringFee: 0, setupFee: 0, hourlyRate: 6000))
        #expect(plan(input(["2026-10"], [postpaid(starts: "2026-01-05"), free], usage: [(1, "2026-10", 100)])).isEmpty)
    }

    @Test("issue = false leaves drafts without a due date for finance to review")
    func drafts() throws {
        let invoice = try #require(plan(input(["2026-10"], [bundle(starts: "2026-08-01")], usage: [(1, "2026-10", 255)], issue: false)).invoices.first)
        #expect(invoice.status == "draft")
        #expect(invoice.dueOn == nil)
        #expect(invoice.issuedAt == nil)
        #expect(invoice.total == 33500)
    }

    @Test("due_on is the customer's local as-of date plus due_days")
    func dueDate() throws {
        // Kiritimati (UTC+14): 2026-11-01T14:00Z is Nov 2 there.
        let invoice = try #require(plan(input(["2026-10"], [flat(starts: "2026-07-17", advance: true)], localAsOf: "2026-11-02")).invoices.first)
        #expect(invoice.dueOn == d("2026-11-16"))
    }

    @Test("other jobs' uninvoiced items of the month are attached; older ones go on their own month's invoice")
    func openItems() throws {
        let perIncident = RollupItem(id: 501, serviceID: nil, kind: "per_incident", line: nil, description: "Incident: ticket 13", minutes: nil,
                                     quantity: ExactDecimal(1), unitPrice: 2500, amount: 2500, currency: Self.usd,
                                     periodStart: d("2026-10-01"), periodEnd: d("2026-11-01"), sourceKey: "ce:incident:13")
        let old = RollupItem(id: 400, serviceID: nil, kind: "per_incident", line: nil, description: "Incident: ticket 2", minutes: nil,
                             quantity: ExactDecimal(1), unitPrice: 2500, amount: 2500, currency: Self.usd,
                             periodStart: d("2026-05-01"), periodEnd: d("2026-06-01"), sourceKey: "ce:incident:2")
        var books = RollupBooks(openItems: [perIncident, old])
        let result = plan(input(["2026-10"], [flat(starts: "2026-09-05")], books: books))
        // May, before the window, on May's period invoice (docs/design.md §9: whatever its age).
        #expect(result.invoices.map(\.month) == [try YearMonth("2026-05"), try YearMonth("2026-10")])
        #expect(result.invoices.first?.kind == .period && result.invoices.first?.total == 2500)
        #expect(result.invoices.first?.items.map(\.id) == [400])
        let invoice = try #require(result.invoices.last)
        #expect(invoice.total == 7400)
        #expect(invoice.items.first { $0.sourceKey == "ce:incident:13" }?.change == .attach)
        #expect(invoice.items.first { $0.sourceKey == "ce:incident:13" }?.id == 501)
        #expect(result.notices.isEmpty)

        // Only other jobs' items: still one period invoice for the month.
        let alone = plan(input(["2026-10"], [], books: RollupBooks(openItems: [perIncident])))
        #expect(alone.invoices.first?.total == 2500)

        // Emitted after October was issued: attached to an adjustment invoice for October.
        books.apply(result)
        books.openItems = [RollupItem(id: 502, serviceID: nil, kind: "per_incident", line: nil, description: "Incident: ticket 14", minutes: nil,
                                      quantity: ExactDecimal(1), unitPrice: 2500, amount: 2500, currency: Self.usd,
                                      periodStart: d("2026-10-01"), periodEnd: d("2026-11-01"), sourceKey: "ce:incident:14")]
        let late = try #require(plan(input(["2026-10"], [flat(starts: "2026-09-05")], books: books)).invoices.first)
        #expect(late.kind == .adjustment)
        #expect(late.sourceKey == "mr:adjustment:7:USD:2026-10:1")
        #expect(late.total == 2500)
        #expect(late.items.map(\.kind) == ["per_incident"])
    }

    // MARK: - Reruns and re-rating

    @Test("a rerun with unchanged inputs plans nothing")
    func rerun() {
        var books = RollupBooks()
        let services = [bundle(starts: "2026-08-01"), postpaid(starts: "2026-10-03"), flat(starts: "2026-07-17", advance: true)]
        let usage: [(Int64, String, Int64)] = [(1, "2026-09", 30), (1, "2026-10", 255), (2, "2026-10", 135)]
        let first = plan(input(["2026-08", "2026-09", "2026-10"], services, usage: usage))
        #expect(first.invoices.count == 3)
        books.apply(first)
        #expect(plan(input(["2026-08", "2026-09", "2026-10"], services, usage: usage, books: books)).isEmpty)
        #expect(plan(input(["2026-10"], services, usage: usage, books: books)).isEmpty)
    }

    //   issue = false. October drafted with 255 min; a late 45-minute entry arrives:
    //   the draft itself becomes 300 min = 3 h beyond 2 h = 180.00 (same invoice, same item).
    @Test("a late entry corrects a draft in place")
    func draftCorrection() throws {
        var books = RollupBooks()
        books.apply(plan(input(["2026-10"], [bundle(starts: "2026-08-01")], usage: [(1, "2026-10", 255)], issue: false)))
        let draft = try #require(books.invoice("mr:period:7:USD:2026-10"))
        let usageItem = try #require(draft.items.first { $0.kind == "usage" })

        let corrected = try #require(plan(input(["2026-10"], [bundle(starts: "2026-08-01")], usage: [(1, "2026-10", 300)], books: books, issue: false)).invoices.first)
        #expect(corrected.action == .correct)
        #expect(corrected.existingID == draft.id)
        #expect(corrected.previousTotal == 33500)
        #expect(corrected.total == 38000)
        let item = try #require(corrected.items.first { $0.kind == "usage" })
        #expect(item.change == .update)
        #expect(item.id == usageItem.id)
        #expect(item.amount == 18000)
        #expect(item.minutes == 300)
        #expect(corrected.items.first { $0.kind == "recurring_fee" }?.change == .keep)
        books.apply(plan(input(["2026-10"], [bundle(starts: "2026-08-01")], usage: [(1, "2026-10", 300)], books: books, issue: false)))
        #expect(plan(input(["2026-10"], [bundle(starts: "2026-08-01")], usage: [(1, "2026-10", 300)], books: books, issue: false)).isEmpty)

        // The next run with issue = true issues the draft as it stands.
        let issued = try #require(plan(input(["2026-10"], [bundle(starts: "2026-08-01")], usage: [(1, "2026-10", 300)], books: books)).invoices.first)
        #expect(issued.action == .correct)
        #expect(issued.status == "issued")
        #expect(issued.dueOn == d("2026-11-15"))
        #expect(issued.items.allSatisfy { $0.change == .keep })
    }

    @Test("a draft whose total becomes 0 is removed, other jobs' items become uninvoiced again")
    func draftRemoved() throws {
        let perIncident = RollupItem(id: 501, serviceID: nil, kind: "per_incident", line: nil, description: "Incident", minutes: nil,
                                     quantity: ExactDecimal(1), unitPrice: 0, amount: 0, currency: Self.usd,
                                     periodStart: d("2026-10-01"), periodEnd: d("2026-11-01"), sourceKey: "ce:incident:13")
        var books = RollupBooks(openItems: [perIncident])
        books.apply(plan(input(["2026-10"], [postpaid(starts: "2026-01-05")], usage: [(2, "2026-10", 90)], books: books, issue: false)))
        let draft = try #require(books.invoice("mr:period:7:USD:2026-10"))
        #expect(draft.total == 150)
        // The entries were withdrawn.
        let removal = try #require(plan(input(["2026-10"], [postpaid(starts: "2026-01-05")], books: books, issue: false)).invoices.first)
        #expect(removal.action == .remove)
        #expect(removal.existingID == draft.id)
        #expect(removal.deletedItemIDs == draft.items.filter { $0.kind == "usage" }.map(\.id))
        #expect(removal.detachedItemIDs == [501])
    }

    //   October issued: 255 min -> 335.00.
    //   A late 45-minute entry: 300 min -> 3 h beyond 2 h = 180.00; billed 135.00 -> +45.00
    //   on adjustment invoice 1. Then an edit leaves 180 min -> 1 h = 60.00; billed 180.00 ->
    //   -120.00: adjustment invoice 2 is a credit note. The issued invoices never change.
    @Test("an issued month gets adjustment invoices: a late entry charges, an edited entry credits")
    func adjustments() throws {
        var books = RollupBooks()
        let services = [bundle(starts: "2026-08-01")]
        books.apply(plan(input(["2026-10"], services, usage: [(1, "2026-10", 255)])))
        let issued = try #require(books.invoice("mr:period:7:USD:2026-10"))

        let late = plan(input(["2026-10"], services, usage: [(1, "2026-10", 300)], books: books))
        let charge = try #require(late.invoices.first)
        #expect(late.invoices.count == 1)
        #expect(charge.action == .create)
        #expect(charge.kind == .adjustment)
        #expect(charge.sourceKey == "mr:adjustment:7:USD:2026-10:1")
        #expect(charge.total == 4500)
        #expect(charge.status == "issued")
        let item = try #require(charge.items.first)
        #expect(item.kind == "adjustment")
        #expect(item.serviceID == 1)
        #expect(item.line == .usage(service: 1, month: ym("2026-10")))
        #expect(item.periodStart == d("2026-10-01") && item.periodEnd == d("2026-11-01"))
        #expect(item.minutes == 45)
        #expect(item.quantity == ExactDecimal(units: 75, scale: 2))
        #expect(item.unitPrice == 6000)
        #expect(item.amount == 4500)
        #expect(item.sourceKey == "mr:adjustment:7:USD:2026-10:1:usage:1:2026-10")
        #expect(item.description == "Support time 2026-10 re-rated: 4.25 h → 5 h worked")
        books.apply(late)
        #expect(plan(input(["2026-10"], services, usage: [(1, "2026-10", 300)], books: books)).isEmpty)

        let edited = plan(input(["2026-10"], services, usage: [(1, "2026-10", 180)], books: books))
        let credit = try #require(edited.invoices.first)
        #expect(credit.sourceKey == "mr:adjustment:7:USD:2026-10:2")
        #expect(credit.total == -12000)
        #expect(credit.items.first?.minutes == -120)
        #expect(credit.items.first?.quantity == ExactDecimal(-2))
        books.apply(edited)
        #expect(plan(input(["2026-10"], services, usage: [(1, "2026-10", 180)], books: books)).isEmpty)
        #expect(books.invoice("mr:period:7:USD:2026-10") == issued)
    }

    //   issue = false throughout: October issued earlier, then a late entry. The adjustment
    //   invoice stays a draft; a second late entry corrects that draft in place.
    @Test("with issue = false an adjustment invoice is a draft, corrected in place by later runs")
    func adjustmentDraft() throws {
        var books = RollupBooks()
        let services = [bundle(starts: "2026-08-01")]
        books.apply(plan(input(["2026-10"], services, usage: [(1, "2026-10", 255)])))
        let first = plan(input(["2026-10"], services, usage: [(1, "2026-10", 300)], books: books, issue: false))
        let draft = try #require(first.invoices.first)
        #expect(draft.kind == .adjustment && draft.status == "draft" && draft.total == 4500)
        books.apply(first)
        let second = try #require(plan(input(["2026-10"], services, usage: [(1, "2026-10", 330)], books: books, issue: false)).invoices.first)
        #expect(second.action == .correct)
        #expect(second.existingID == books.invoice("mr:adjustment:7:USD:2026-10:1")?.id)
        #expect(second.sourceKey == "mr:adjustment:7:USD:2026-10:1")
        // 330 min -> 210 min beyond = 210.00; 135.00 issued -> the draft now says +75.00.
        #expect(second.total == 7500)
        #expect(second.items.first?.change == .update)
        #expect(second.items.first?.minutes == 75)
    }

    @Test("re-rating an issued month keeps the unit price it was issued at")
    func lockedPrice() throws {
        var books = RollupBooks()
        books.apply(plan(input(["2026-10"], [bundle(starts: "2026-08-01")], usage: [(1, "2026-10", 255)])))
        let raised = RollupPrice(recurringFee: 25000, setupFee: 0, hourlyRate: 7000)
        // A price change alone re-rates nothing already issued.
        #expect(plan(input(["2026-10"], [bundle(starts: "2026-08-01", price: raised)], usage: [(1, "2026-10", 255)], books: books)).isEmpty)
        // A late entry is charged at the issued 60.00/h: 300 min -> 180.00 - 135.00.
        let late = try #require(plan(input(["2026-10"], [bundle(starts: "2026-08-01", price: raised)], usage: [(1, "2026-10", 300)], books: books)).invoices.first)
        #expect(late.total == 4500)
        #expect(late.items.first?.unitPrice == 6000)
    }

    //   October issued with 2 h included (255 min -> 135.00). The plan is then edited to 1 h
    //   included, and the flat plan from monthly to quarterly: the issued months stand. A late
    //   entry is still re-rated with the 2 h October was issued with: 300 min -> +45.00.
    @Test("edits of a plan after a month was issued do not re-rate that month")
    func planEdits() throws {
        var books = RollupBooks()
        books.apply(plan(input(["2026-08", "2026-09", "2026-10"], [bundle(starts: "2026-08-01"), flat(starts: "2026-07-17")], usage: [(1, "2026-10", 255)])))
        #expect(books.invoice("mr:period:7:USD:2026-10")?.items.first { $0.kind == "usage" }?.includedMinutes == 120)
        let editedBundle = RollupService(id: 1, planID: 1, planCode: "bundle-2h", planName: "Priority Support Bundle", billing: .metered, periodMonths: 1,
                                         billInAdvance: false, includedMinutes: 60, currency: Self.usd, status: "active", startsOn: d("2026-08-01"),
                                         endsOn: nil, price: RollupPrice(recurringFee: 20000, setupFee: 0, hourlyRate: 6000))
        let quarterly = flat(starts: "2026-07-17", months: 3)
        let months = ["2026-08", "2026-09", "2026-10"]
        #expect(plan(input(months, [editedBundle, quarterly], usage: [(1, "2026-10", 255)], books: books)).isEmpty)
        let late = try #require(plan(input(months, [editedBundle, quarterly], usage: [(1, "2026-10", 300)], books: books)).invoices.first)
        #expect(late.total == 4500)
        #expect(late.items.first?.includedMinutes == 120)
        // A service moved to a plan the rollup does not bill (pre-paid) keeps what was issued.
        #expect(plan(input(months, [quarterly], books: books)).isEmpty)
    }

    //   Billed in advance: October's invoice holds Nov 17–Dec 16. The service then ends on Nov 1
    //   (backdated cancellation): that period no longer starts within the term -> credit 49.00.
    @Test("a term that ends earlier credits the fee period that is no longer due")
    func backdatedCancellation() throws {
        var books = RollupBooks()
        books.apply(plan(input(["2026-10"], [flat(starts: "2026-07-17", advance: true)])))
        #expect(books.invoice("mr:period:7:USD:2026-10")?.total == 4900)
        let ended = flat(starts: "2026-07-17", ends: "2026-11-01", advance: true, status: "cancelled")
        let credit = try #require(plan(input(["2026-10"], [ended], books: books)).invoices.first)
        #expect(credit.kind == .adjustment)
        #expect(credit.total == -4900)
        let item = try #require(credit.items.first)
        #expect(item.quantity == ExactDecimal(-1))
        #expect(item.unitPrice == 4900)
        #expect(item.line == .fee(service: 3, start: d("2026-11-17")))
        #expect(item.description == "Credit: Priority Support, 2026-11-17..2026-12-16 (in advance) (no longer due)")
    }

    //   Billed in arrears in November (Nov 17 period); then bill_in_advance is switched on. The
    //   Nov 17 period is now "due in October", but it was billed: it is not billed again.
    @Test("a fee period already billed is never billed again when bill_in_advance changes")
    func advanceToggled() {
        var books = RollupBooks()
        books.apply(plan(input(["2026-10", "2026-11"], [flat(starts: "2026-07-17")], localAsOf: "2026-12-01")))
        let result = plan(input(["2026-10", "2026-11"], [flat(starts: "2026-07-17", advance: true)], books: books, localAsOf: "2026-12-01"))
        // Only the Dec 17 period is new (billed in advance in November): on a November adjustment.
        #expect(result.invoices.count == 1)
        #expect(result.invoices.first?.items.map(\.line) == [.fee(service: 3, start: d("2026-12-17"))])
        #expect(result.invoices.first?.total == 4900)
    }

    @Test("a service whose currency changed after billing is skipped, not re-billed")
    func currencyChanged() {
        var books = RollupBooks()
        books.apply(plan(input(["2026-10"], [flat(starts: "2026-09-05")])))
        let euro = RollupService(id: 3, planID: 6, planCode: "priority-flat", planName: "Priority Support", billing: .recurring, periodMonths: 1,
                                 billInAdvance: false, includedMinutes: 0, currency: Self.eur, status: "active", startsOn: d("2026-09-05"),
                                 endsOn: nil, price: RollupPrice(recurringFee: 4500, setupFee: 0, hourlyRate: 0))
        #expect(skipReason(input(["2026-10"], [euro], books: books))?.contains("was billed in USD") == true)
    }
}
