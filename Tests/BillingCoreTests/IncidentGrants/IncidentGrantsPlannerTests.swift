import BillingCore
import Testing

@Suite("incident-grants planner: plan periods, account grants, consumption order, returns, revocations")
struct IncidentGrantsPlannerTests {
    private static let usd = try! CurrencyCode("USD")
    private static let eur = try! CurrencyCode("EUR")
    private func d(_ text: String) -> LocalDate { try! LocalDate(text) }
    private func at(_ text: String) -> Instant { try! Instant(rfc3339: text) }

    private typealias Input = IncidentGrantsInput
    private typealias Plan = IncidentGrantsPlan

    private func input(asOf: String, customer: Int64 = 1, currency: CurrencyCode = usd, registeredOn: String? = nil,
                       services: [Input.Service] = [], grants: [Input.Grant] = [], activeUses: [Input.ActiveUse] = [],
                       tickets: [Input.Ticket] = [], firstPayment: Input.Payment? = nil, fundsPayments: [Input.Payment] = [],
                       fundsTotal: Int64? = nil) -> Input {
        Input(customerID: customer, currency: currency, localAsOf: d(asOf), registeredOn: registeredOn.map(d), services: services,
              grants: grants, activeUses: activeUses, tickets: tickets, firstPayment: firstPayment, fundsPayments: fundsPayments,
              fundsTotal: fundsTotal ?? fundsPayments.filter { $0.currency == currency }.reduce(0) { $0 + $1.amount })
    }

    private func service(_ id: Int64 = 4, months: Int = 1, incidents: Int = 10, starts: String, ends: String? = nil) -> Input.Service {
        Input.Service(id: id, periodMonths: months, incidentsPerPeriod: incidents, startsOn: d(starts), endsOn: ends.map(d))
    }

    private func ticket(_ id: Int64, _ opened: String, uses: Int = 0) -> Input.Ticket {
        Input.Ticket(id: id, openedAt: at(opened + "T10:00:00Z"), openedOn: d(opened), useCount: uses)
    }

    private func payment(_ id: Int64, _ amount: Int64, on date: String, currency: CurrencyCode = usd) -> Input.Payment {
        Input.Payment(id: id, amount: amount, currency: currency, receivedAt: at(date + "T12:00:00Z"), receivedOn: d(date))
    }

    private func periods(_ plan: Plan) -> [String] {
        plan.grants.map { "\($0.validFrom)..\($0.validUntil.map { "\($0)" } ?? "lifetime") x\($0.quantity)" }
    }

    // MARK: - Incident plans

    //   BILLmanager's example: 10 incidents a month, ordered for 3 months on April 11.
    //   Apr 11          May 11          Jun 11          Jul 11 (ends_on)
    //   |---- k=0 ------|---- k=1 ------|---- k=2 ------|
    //   as of May 10: k=0 only; as of Jun 20: k=0..2 (k=2 started Jun 11); as of Aug 1: still 3.
    @Test("10 a month over a 3-month term from Apr 11: Apr 11–May 10, May 11–Jun 10, Jun 11–Jul 10")
    func seedExample() throws {
        let term = service(starts: "2026-04-11", ends: "2026-07-11")
        let early = try IncidentGrantsPlanner.plan(input(asOf: "2026-05-10", services: [term]), rules: .init())
        #expect(periods(early) == ["2026-04-11..2026-05-11 x10"])
        let mid = try IncidentGrantsPlanner.plan(input(asOf: "2026-06-20", services: [term]), rules: .init())
        #expect(periods(mid) == ["2026-04-11..2026-05-11 x10", "2026-05-11..2026-06-11 x10", "2026-06-11..2026-07-11 x10"])
        #expect(mid.grants.map(\.sourceKey) == ["ig:period:4:2026-04-11", "ig:period:4:2026-05-11", "ig:period:4:2026-06-11"])
        #expect(mid.grants.allSatisfy { $0.source == .planPeriod && !$0.lifetime && $0.serviceID == 4 })
        let late = try IncidentGrantsPlanner.plan(input(asOf: "2026-08-01", services: [term]), rules: .init())
        #expect(late.grants.count == 3)
        let before = try IncidentGrantsPlanner.plan(input(asOf: "2026-04-10", services: [term]), rules: .init())
        #expect(before.grants.isEmpty)
    }

    //   anchor Jan 31, monthly, 2026:  Jan 31 | Feb 28 | Mar 31 | Apr 30 (started on the as-of date)
    @Test("anchor day 31 clamps from the anchor: Jan 31, Feb 28, Mar 31, Apr 30")
    func anchor31() throws {
        let plan = try IncidentGrantsPlanner.plan(input(asOf: "2026-04-30", services: [service(starts: "2026-01-31")]), rules: .init())
        #expect(periods(plan) == ["2026-01-31..2026-02-28 x10", "2026-02-28..2026-03-31 x10", "2026-03-31..2026-04-30 x10", "2026-04-30..2026-05-31 x10"])
    }

    //   anchor Feb 29 2028, yearly: Feb 29 2028 | Feb 28 2029 | Feb 28 2030 (never Feb 29 again until 2032)
    @Test("anchor Feb 29 with 12-month periods clamps to Feb 28 in common years")
    func anchorFeb29() throws {
        let plan = try IncidentGrantsPlanner.plan(input(asOf: "2030-03-01", services: [service(months: 12, incidents: 3, starts: "2028-02-29")]), rules: .init())
        #expect(periods(plan) == ["2028-02-29..2029-02-28 x3", "2029-02-28..2030-02-28 x3", "2030-02-28..2031-02-28 x3"])
    }

    @Test("period_months = 0 grants the plan's incidents once, as lifetime incidents from starts_on")
    func lifetimePlan() throws {
        let life = service(9, months: 0, incidents: 5, starts: "2026-07-17")
        let plan = try IncidentGrantsPlanner.plan(input(asOf: "2026-11-01", services: [life]), rules: .init())
        #expect(plan.grants == [.init(sourceKey: "ig:plan-lifetime:9", source: .planLifetime, serviceID: 9, quantity: 5, lifetime: true, validFrom: d("2026-07-17"))])
        #expect(try IncidentGrantsPlanner.plan(input(asOf: "2026-07-16", services: [life]), rules: .init()).grants.isEmpty)
    }

    @Test("grants already made are not made again; zero incidents per period grant nothing")
    func rerunAndZero() throws {
        let existing = Input.Grant(id: 1, serviceID: 4, quantity: 10, lifetime: false, validFrom: d("2026-04-11"), validUntil: d("2026-05-11"),
                                   source: .planPeriod, sourceKey: "ig:period:4:2026-04-11")
        let plan = try IncidentGrantsPlanner.plan(input(asOf: "2026-05-10", services: [service(starts: "2026-04-11")], grants: [existing]), rules: .init())
        #expect(plan.isEmpty)
        let zero = try IncidentGrantsPlanner.plan(input(asOf: "2026-06-01", services: [service(incidents: 0, starts: "2026-04-11")]), rules: .init())
        #expect(zero.isEmpty)
    }

    // MARK: - Account grants

    @Test("on_registration grants lifetime incidents once, from the local registration date")
    func registration() throws {
        let rules = IncidentGrantRules(onRegistration: 2)
        let plan = try IncidentGrantsPlanner.plan(input(asOf: "2026-11-01", registeredOn: "2026-09-15"), rules: rules)
        #expect(plan.grants == [.init(sourceKey: "ig:registration:1", source: .registration, quantity: 2, lifetime: true, validFrom: d("2026-09-15"))])
        #expect(try IncidentGrantsPlanner.plan(input(asOf: "2026-11-01", registeredOn: "2026-09-15"), rules: .init()).grants.isEmpty)
    }

    //   payments:  #21 Oct 3 (first)   #22 Oct 9
    //   run 1: grant for #21.   #21 reversed -> run 2: revoke it, grant for #22 (key sequence 2)
    @Test("on_first_payment: the first completed payment grants; its reversal revokes, and the next payment counts as first")
    func firstPayment() throws {
        let rules = IncidentGrantRules(onFirstPayment: 3)
        let first = try IncidentGrantsPlanner.plan(input(asOf: "2026-10-10", firstPayment: payment(21, 1000, on: "2026-10-03")), rules: rules)
        #expect(first.grants == [.init(sourceKey: "ig:first-payment:1:1", source: .firstPayment, quantity: 3, lifetime: true, validFrom: d("2026-10-03"), paymentID: 21)])

        let made = Input.Grant(id: 7, quantity: 3, lifetime: true, validFrom: d("2026-10-03"), source: .firstPayment, sourceKey: "ig:first-payment:1:1",
                               paymentID: 21, payment: .completed)
        let kept = try IncidentGrantsPlanner.plan(input(asOf: "2026-10-10", grants: [made], firstPayment: payment(21, 1000, on: "2026-10-03")), rules: rules)
        #expect(kept.isEmpty)

        let reversed = Input.Grant(id: 7, quantity: 3, lifetime: true, validFrom: d("2026-10-03"), source: .firstPayment, sourceKey: "ig:first-payment:1:1",
                                   activeUses: 1, paymentID: 21, payment: .reversed)
        let second = try IncidentGrantsPlanner.plan(input(asOf: "2026-10-10", grants: [reversed], firstPayment: payment(22, 500, on: "2026-10-09")), rules: rules)
        #expect(second.revocations.map(\.grantID) == [7])
        #expect(second.revocations.first?.reason == "payment 21 was reversed")
        #expect(second.revocations.first?.used == 1)
        #expect(second.grants == [.init(sourceKey: "ig:first-payment:1:2", source: .firstPayment, quantity: 3, lifetime: true, validFrom: d("2026-10-09"), paymentID: 22)])

        // Switched off: a reversal still revokes, nothing new is granted.
        let off = try IncidentGrantsPlanner.plan(input(asOf: "2026-10-10", grants: [reversed], firstPayment: payment(22, 500, on: "2026-10-09")), rules: .init())
        #expect(off.revocations.map(\.grantID) == [7])
        #expect(off.grants.isEmpty)
    }

    //   step 50.00 USD, 1 incident per step:
    //   #31 Oct 2  30.00  -> total  30.00  0 steps (30.00 carried)
    //   #32 Oct 5  30.00  -> total  60.00  1 step  (10.00 carried)  grant 1 from Oct 5
    //   #33 Oct 9  60.00  -> total 120.00  2 steps (20.00 carried)  grant 1 from Oct 9
    @Test("funds: one step of incidents per whole step of funds, the remainder carried over to the next payment")
    func funds() throws {
        let rules = IncidentGrantRules(fundsStep: [Self.usd: 5000], fundsIncidents: 1)
        let payments = [payment(31, 3000, on: "2026-10-02"), payment(32, 3000, on: "2026-10-05"), payment(33, 6000, on: "2026-10-09")]
        let plan = try IncidentGrantsPlanner.plan(input(asOf: "2026-10-10", fundsPayments: payments), rules: rules)
        #expect(plan.grants == [
            .init(sourceKey: "ig:funds:1:1", source: .funds, quantity: 1, lifetime: true, validFrom: d("2026-10-05"), paymentID: 32, fundsAmount: 5000, fundsCurrency: Self.usd),
            .init(sourceKey: "ig:funds:1:2", source: .funds, quantity: 1, lifetime: true, validFrom: d("2026-10-09"), paymentID: 33, fundsAmount: 5000, fundsCurrency: Self.usd),
        ])
        // A big payment grants several steps at once: 3 incidents per step, 2 steps (the 10.00 rest carried).
        let big = try IncidentGrantsPlanner.plan(input(asOf: "2026-10-10", fundsPayments: [payment(34, 11000, on: "2026-10-03")]),
                                                 rules: IncidentGrantRules(fundsStep: [Self.usd: 5000], fundsIncidents: 3))
        #expect(big.grants.map(\.quantity) == [6])
        #expect(big.grants.map(\.fundsAmount) == [10000])
    }

    private func fundsGrant(_ id: Int64, payment: Int64, on date: String, _ state: Input.PaymentState = .completed, key: Int) -> Input.Grant {
        Input.Grant(id: id, quantity: 1, lifetime: true, validFrom: d(date), source: .funds, sourceKey: "ig:funds:1:\(key)",
                    paymentID: payment, payment: state, fundsAmount: 5000, fundsCurrency: Self.usd)
    }

    //   #31 30.00 reversed; #32 30.00 and #33 60.00 remain: 90.00 covers one step of 50.00 only.
    //   The walk over today's payments attributes that step to #33 (30 + 60 crosses 50 there),
    //   as a clean run would: #33's grant stays, #32's is revoked; 40.00 is carried.
    @Test("funds: a reversal revokes the grants today's payments no longer earn, as a clean run attributes them")
    func fundsReversalUncovers() throws {
        let rules = IncidentGrantRules(fundsStep: [Self.usd: 5000], fundsIncidents: 1)
        let grants = [fundsGrant(1, payment: 32, on: "2026-10-05", key: 1), fundsGrant(2, payment: 33, on: "2026-10-09", key: 2)]
        let plan = try IncidentGrantsPlanner.plan(input(asOf: "2026-10-12", grants: grants,
                                                        fundsPayments: [payment(32, 3000, on: "2026-10-05"), payment(33, 6000, on: "2026-10-09")]), rules: rules)
        #expect(plan.revocations.map(\.grantID) == [1])
        #expect(plan.revocations.first?.reason == "the completed funds (9000 USD) no longer earn this grant: payments changed since it was made")
        #expect(plan.grants.isEmpty)
    }

    //   #32 (behind grant 1) reversed: grant 1 is revoked. #31 30.00 + #33 60.00 = 90.00 still cover
    //   grant 2 (50.00); 40.00 carried.  Then #34 20.00 arrives: 60.00 above what is granted ->
    //   one more step, attributed to #34, key sequence 3 (keys 1 and 2 are taken).
    @Test("funds: the reversed payment's own grant is revoked; later funds grant again under a new key")
    func fundsReversalOwnGrant() throws {
        let rules = IncidentGrantRules(fundsStep: [Self.usd: 5000], fundsIncidents: 1)
        let grants = [fundsGrant(1, payment: 32, on: "2026-10-05", .reversed, key: 1), fundsGrant(2, payment: 33, on: "2026-10-09", key: 2)]
        let remaining = [payment(31, 3000, on: "2026-10-02"), payment(33, 6000, on: "2026-10-09")]
        let plan = try IncidentGrantsPlanner.plan(input(asOf: "2026-10-12", grants: grants, fundsPayments: remaining), rules: rules)
        #expect(plan.revocations.map(\.grantID) == [1])
        #expect(plan.revocations.first?.reason == "payment 32 was reversed")
        #expect(plan.grants.isEmpty)

        let revoked = [fundsGrant(1, payment: 32, on: "2026-10-05", .reversed, key: 1).revokedCopy(), fundsGrant(2, payment: 33, on: "2026-10-09", key: 2)]
        let later = try IncidentGrantsPlanner.plan(input(asOf: "2026-10-20", grants: revoked, fundsPayments: remaining + [payment(34, 2000, on: "2026-10-19")]), rules: rules)
        #expect(later.revocations.isEmpty)
        #expect(later.grants == [.init(sourceKey: "ig:funds:1:3", source: .funds, quantity: 1, lifetime: true, validFrom: d("2026-10-19"), paymentID: 34, fundsAmount: 5000, fundsCurrency: Self.usd)])
    }

    @Test("funds in another currency, or in a currency without a step, earn nothing and are reported")
    func fundsForeignCurrency() throws {
        let rules = IncidentGrantRules(fundsStep: [Self.usd: 5000], fundsIncidents: 1)
        let plan = try IncidentGrantsPlanner.plan(input(asOf: "2026-10-12", fundsPayments: [payment(41, 9000, on: "2026-10-03", currency: Self.eur)]), rules: rules)
        #expect(plan.grants.isEmpty)
        #expect(plan.notices == ["customer 1: funds not in the customer's currency USD earn no incidents: payment 41 (EUR)"])
        let noStep = try IncidentGrantsPlanner.plan(input(asOf: "2026-10-12", currency: Self.eur, fundsPayments: [payment(42, 9000, on: "2026-10-03", currency: Self.eur)]), rules: rules)
        #expect(noStep.grants.isEmpty)
        #expect(noStep.notices == ["customer 1: incident-grants.toml has no [funds] step for EUR: its funds earn no incidents"])
    }

    // MARK: - Consumption

    //   grants valid on Oct 20:      A period Oct 11..Nov 10 (until Nov 11)   B period Oct 1..Oct 31 (until Nov 1)
    //                                C lifetime from Jul 17 (id 3)            D lifetime from Jan 5 (id 4)
    //   order: B (earliest valid_until), A, then D (oldest lifetime), C
    @Test("a ticket uses time-limited incidents first (earliest valid_until), then lifetime ones (oldest first)")
    func consumptionOrder() throws {
        let grants = [
            Input.Grant(id: 1, quantity: 1, lifetime: false, validFrom: d("2026-10-11"), validUntil: d("2026-11-11"), source: .manual, sourceKey: "a"),
            Input.Grant(id: 2, quantity: 1, lifetime: false, validFrom: d("2026-10-01"), validUntil: d("2026-11-01"), source: .manual, sourceKey: "b"),
            Input.Grant(id: 3, quantity: 1, lifetime: true, validFrom: d("2026-07-17"), source: .manual, sourceKey: "c"),
            Input.Grant(id: 4, quantity: 1, lifetime: true, validFrom: d("2026-01-05"), source: .manual, sourceKey: "d"),
        ]
        let tickets = (1...5).map { ticket(Int64(100 + $0), "2026-10-2\($0)") }
        let plan = try IncidentGrantsPlanner.plan(input(asOf: "2026-10-31", grants: grants, tickets: tickets), rules: .init())
        #expect(plan.uses.map(\.grant) == [.existing(2), .existing(1), .existing(4), .existing(3)])
        #expect(plan.uses.map(\.ticketID) == [101, 102, 103, 104])
        #expect(plan.uses.map(\.sourceKey) == ["ig:use:101:1", "ig:use:102:1", "ig:use:103:1", "ig:use:104:1"])
        #expect(plan.uses.first?.usedAt == at("2026-10-21T10:00:00Z"))
        #expect(plan.unserved == [.init(ticketID: 105, openedOn: d("2026-10-25"))])
    }

    //   period Apr 11..May 10 (5 left after 5 uses), expired for a ticket of May 11; revoked lifetime
    //   grant; a used-up lifetime grant; a lifetime grant valid only from May 20.
    @Test("never an expired, revoked, used-up or not-yet-valid grant")
    func neverInvalidGrants() throws {
        let grants = [
            Input.Grant(id: 1, quantity: 10, lifetime: false, validFrom: d("2026-04-11"), validUntil: d("2026-05-11"), source: .manual, sourceKey: "p", activeUses: 5),
            Input.Grant(id: 2, quantity: 3, lifetime: true, validFrom: d("2026-01-01"), source: .manual, sourceKey: "r", revoked: true),
            Input.Grant(id: 3, quantity: 2, lifetime: true, validFrom: d("2026-01-01"), source: .manual, sourceKey: "u", activeUses: 2),
            Input.Grant(id: 4, quantity: 2, lifetime: true, validFrom: d("2026-05-20"), source: .manual, sourceKey: "f"),
        ]
        let plan = try IncidentGrantsPlanner.plan(input(asOf: "2026-05-31", grants: grants, tickets: [ticket(7, "2026-05-11"), ticket(8, "2026-05-10"), ticket(9, "2026-05-21")]), rules: .init())
        #expect(plan.uses.map { "\($0.ticketID)->\($0.grant)" } == ["8->grant 1", "9->grant 4"])
        #expect(plan.unserved == [.init(ticketID: 7, openedOn: d("2026-05-11"))])
    }

    @Test("grants made in the same run serve tickets in the same run")
    func newGrantsServe() throws {
        let plan = try IncidentGrantsPlanner.plan(input(asOf: "2026-11-01", services: [service(starts: "2026-10-11", ends: "2027-01-11")],
                                                        tickets: [ticket(8, "2026-10-12"), ticket(9, "2026-10-19"), ticket(10, "2026-10-25")]), rules: .init())
        #expect(plan.uses.map(\.grant) == Array(repeating: .planned("ig:period:4:2026-10-11"), count: 3))
    }

    @Test("a ticket whose requires_incident was cleared returns its incident, which serves another ticket")
    func returns() throws {
        let grant = Input.Grant(id: 1, quantity: 1, lifetime: true, validFrom: d("2026-01-01"), source: .manual, sourceKey: "m", activeUses: 1)
        let cleared = Input.ActiveUse(id: 50, grantID: 1, ticketID: 7, ticket: ticket(7, "2026-05-01", uses: 1), ticketRequiresIncident: false)
        let gone = Input.ActiveUse(id: 51, grantID: 1, ticketID: 6, ticket: nil, ticketRequiresIncident: false)
        let plan = try IncidentGrantsPlanner.plan(input(asOf: "2026-05-31", grants: [grant], activeUses: [cleared, gone], tickets: [ticket(8, "2026-05-02")]), rules: .init())
        #expect(plan.returns == [.init(useID: 50, grantID: 1, ticketID: 7, reason: .noLongerRequired), .init(useID: 51, grantID: 1, ticketID: 6, reason: .ticketGone)])
        #expect(plan.uses.map(\.ticketID) == [8])
        #expect(plan.uses.map(\.grant) == [.existing(1)])
    }

    @Test("a ticket that requires an incident again after a return uses a new one under a new key")
    func reRequire() throws {
        let grant = Input.Grant(id: 1, quantity: 5, lifetime: true, validFrom: d("2026-01-01"), source: .manual, sourceKey: "m")
        let plan = try IncidentGrantsPlanner.plan(input(asOf: "2026-05-31", grants: [grant], tickets: [ticket(7, "2026-05-01", uses: 1)]), rules: .init())
        #expect(plan.uses.map(\.sourceKey) == ["ig:use:7:2"])
    }

    //   first-payment grant (3 incidents, 1 used by ticket 7) revoked; the use goes back and ticket 7
    //   is served again from the lifetime plan grant.
    @Test("the uses of a revoked grant are returned and their tickets served from the grants left")
    func revokedUsesMove() throws {
        let fp = Input.Grant(id: 1, quantity: 3, lifetime: true, validFrom: d("2026-04-01"), source: .firstPayment, sourceKey: "ig:first-payment:1:1",
                             activeUses: 1, paymentID: 21, payment: .reversed)
        let life = Input.Grant(id: 2, quantity: 5, lifetime: true, validFrom: d("2026-04-02"), source: .manual, sourceKey: "staff:9")
        let use = Input.ActiveUse(id: 60, grantID: 1, ticketID: 7, ticket: ticket(7, "2026-05-01", uses: 1), ticketRequiresIncident: true)
        let plan = try IncidentGrantsPlanner.plan(input(asOf: "2026-05-31", grants: [fp, life], activeUses: [use]), rules: .init())
        #expect(plan.revocations.map(\.grantID) == [1])
        #expect(plan.returns == [.init(useID: 60, grantID: 1, ticketID: 7, reason: .grantRevoked)])
        #expect(plan.uses.map { "\($0.sourceKey)->\($0.grant)" } == ["ig:use:7:2->grant 2"])
    }

    @Test("a grant revoked by staff gives its uses back; their tickets are served from the grants left, or listed")
    func revokedByStaff() throws {
        let manual = Input.Grant(id: 1, quantity: 2, lifetime: true, validFrom: d("2026-01-01"), source: .manual, sourceKey: "staff:1", revoked: true, activeUses: 2)
        let other = Input.Grant(id: 2, quantity: 1, lifetime: true, validFrom: d("2026-01-01"), source: .manual, sourceKey: "staff:2")
        let uses = [
            Input.ActiveUse(id: 70, grantID: 1, ticketID: 7, ticket: ticket(7, "2026-02-01", uses: 1), ticketRequiresIncident: true),
            Input.ActiveUse(id: 71, grantID: 1, ticketID: 8, ticket: ticket(8, "2026-02-02", uses: 1), ticketRequiresIncident: true),
        ]
        let plan = try IncidentGrantsPlanner.plan(input(asOf: "2026-03-01", grants: [manual, other], activeUses: uses), rules: .init())
        #expect(plan.revocations.isEmpty)
        #expect(plan.returns.map(\.useID) == [70, 71])
        #expect(plan.uses.map { "\($0.sourceKey)->\($0.grant)" } == ["ig:use:7:2->grant 2"])
        #expect(plan.unserved == [.init(ticketID: 8, openedOn: d("2026-02-02"))])
    }

    // MARK: - When the past changes (docs/design.md §9)

    //   monthly from Apr 11, granted for Apr 11, May 11, Jun 11 (Jun 11 used by ticket 7 of Jun 15);
    //   ends_on corrected to Jun 11 -> the Jun 11 grant is no longer due: revoked, ticket 7's use
    //   returned (grant revoked); no grant left is valid on Jun 15 (May's ends Jun 10) -> listed.
    //   Corrected back (Jun 11 grant revoked, key taken) -> granted again as ig:period:4:2026-06-11:2.
    @Test("grants of periods no longer due are revoked, their uses returned; a period due again is granted under the next key")
    func termCorrected() throws {
        func period(_ id: Int64, _ from: String, _ until: String, revoked: Bool = false, uses: Int = 0) -> Input.Grant {
            Input.Grant(id: id, serviceID: 4, quantity: 10, lifetime: false, validFrom: d(from), validUntil: d(until), source: .planPeriod,
                        sourceKey: "ig:period:4:\(from)", revoked: revoked, activeUses: uses)
        }
        let grants = [period(1, "2026-04-11", "2026-05-11"), period(2, "2026-05-11", "2026-06-11"), period(3, "2026-06-11", "2026-07-11", uses: 1)]
        let use = Input.ActiveUse(id: 90, grantID: 3, ticketID: 7, ticket: ticket(7, "2026-06-15", uses: 1), ticketRequiresIncident: true)
        let shortened = try IncidentGrantsPlanner.plan(input(asOf: "2026-06-20", services: [service(starts: "2026-04-11", ends: "2026-06-11")],
                                                             grants: grants, activeUses: [use]), rules: .init())
        #expect(shortened.revocations.map(\.grantID) == [3])
        #expect(shortened.revocations.first?.reason == "its period is no longer due under service 4's corrected term or plan")
        #expect(shortened.returns == [.init(useID: 90, grantID: 3, ticketID: 7, reason: .grantRevoked)])
        #expect(shortened.uses.isEmpty && shortened.unserved == [.init(ticketID: 7, openedOn: d("2026-06-15"))])
        #expect(shortened.grants.isEmpty)

        // Without the correction switched on, nothing is revoked (the property tests rely on it).
        let off = try IncidentGrantsPlanner.plan(input(asOf: "2026-06-20", services: [service(starts: "2026-04-11", ends: "2026-06-11")],
                                                       grants: grants, activeUses: [use]), rules: .init(), enabled: [])
        #expect(off.revocations.isEmpty)

        let back = try IncidentGrantsPlanner.plan(input(asOf: "2026-06-21", services: [service(starts: "2026-04-11", ends: "2026-07-11")],
                                                        grants: [grants[0], grants[1], period(3, "2026-06-11", "2026-07-11", revoked: true)],
                                                        tickets: [ticket(7, "2026-06-15", uses: 1)]), rules: .init())
        #expect(back.grants.map(\.sourceKey) == ["ig:period:4:2026-06-11:2"])
        #expect(back.uses.map { "\($0.sourceKey)->\($0.grant)" } == ["ig:use:7:2->ig:period:4:2026-06-11:2"])

        // A grant of a service no longer listed (cancelled, or its plan no longer incidents).
        let gone = try IncidentGrantsPlanner.plan(input(asOf: "2026-06-20", grants: grants, activeUses: [use]), rules: .init())
        #expect(gone.revocations.map(\.grantID) == [1, 2, 3])
        #expect(gone.revocations.first?.reason == "service 4 is no longer an active service on an incidents plan")
    }

    // MARK: - Invalid data

    @Test("invalid data throws a reason a person can act on")
    func invalid() {
        #expect(throws: BillingError.invalidInput("service 4 ends on 2026-03-01 before it starts on 2026-04-11: fix its term (ends_on is exclusive)")) {
            try IncidentGrantsPlanner.plan(input(asOf: "2026-05-01", services: [service(starts: "2026-04-11", ends: "2026-03-01")]), rules: .init())
        }
        let foreign = Input.Ticket(id: 12, openedAt: at("2026-05-01T10:00:00Z"), openedOn: d("2026-05-01"), serviceID: 9, serviceCustomerID: 8)
        #expect(throws: BillingError.invalidInput("ticket 12 names service 9, which belongs to customer 8: fix the ticket's service")) {
            try IncidentGrantsPlanner.plan(input(asOf: "2026-05-01", tickets: [foreign]), rules: .init())
        }
    }
}

private extension IncidentGrantsInput.Grant {
    func revokedCopy() -> Self {
        .init(id: id, serviceID: serviceID, quantity: quantity, lifetime: lifetime, validFrom: validFrom, validUntil: validUntil, source: source,
              sourceKey: sourceKey, revoked: true, activeUses: activeUses, paymentID: paymentID, payment: payment, fundsAmount: fundsAmount,
              fundsCurrency: fundsCurrency)
    }
}
