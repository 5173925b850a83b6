import BillingCore
import Testing

private typealias F = ContractPlannerFixture
private typealias P = ContractPlannerFixture.Piece

@Suite("contract-expiry-rollover planner: search order, splitting, rollover, ignore, per incident")
struct ContractExpiryRolloverPlannerTests {
    // The customer (id 1) is in org unit 20, whose parent is 10. Its ticket 7 is on item 5.
    // One contract of each tier; entry 100 (60 min) is worked on 2026-10-15.
    //
    //              2026-10-01          2026-10-15 (entry)        2026-11-01
    //  valid:      |---- 1 item, 2 customer, 3 org unit 20 -------------|
    //  pending:                                                  |-- 4 item, 5 customer, 6 org unit 10 --
    static let tiers: [SupportContract] = [
        F.contract(1, .item(5), starts: "2026-10-01", ends: "2026-11-01"),
        F.contract(2, .customer(1), starts: "2026-10-01", ends: "2026-11-01"),
        F.contract(3, .orgUnit(20), starts: "2026-10-01", ends: "2026-11-01"),
        F.contract(4, .item(5), starts: "2026-11-01", ends: "2026-12-01"),
        F.contract(5, .customer(1), starts: "2026-11-01", ends: "2026-12-01"),
        F.contract(6, .orgUnit(10), starts: "2026-11-01", ends: "2026-12-01"),
    ]

    @Test("the first contract found: item, customer, org unit (valid), then item, customer, org unit (pending), then none",
          arguments: [(0, Int64?(1)), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (6, nil)])
    func searchOrder(removed: Int, expected: Int64?) {
        let contracts = Array(Self.tiers.dropFirst(removed))
        let customer = F.customer(orgUnits: [20, 10], entries: [F.entry(100, ticket: 7, "2026-10-15", 60)], tickets: [F.ticket(7, item: 5)])
        let plan = F.planner().plan([customer], contracts: contracts)
        if let expected {
            #expect(F.pieces(plan) == [P(100, 1, expected, 60, .covered)])
            #expect(plan.incidents.isEmpty)
        } else {
            #expect(F.pieces(plan) == [P(100, 1, nil, 60, .perIncident)])
            #expect(plan.incidents.count == 1)
        }
    }

    @Test("org units: the customer's own first, then its parents, nearest first")
    func orgUnitChain() {
        let customer = F.customer(orgUnits: [20, 10, 1], entries: [F.entry(100, ticket: 7, "2026-10-15", 30)], tickets: [F.ticket(7)])
        let grandparent = F.contract(11, .orgUnit(1))
        let parent = F.contract(12, .orgUnit(10))
        #expect(F.pieces(F.planner().plan([customer], contracts: [grandparent, parent])) == [P(100, 1, 12, 30, .covered)])
        #expect(F.pieces(F.planner().plan([customer], contracts: [grandparent])) == [P(100, 1, 11, 30, .covered)])
        // A valid parent's contract beats a pending contract of the customer itself.
        let pendingOwn = F.contract(13, .customer(1), starts: "2026-12-01")
        #expect(F.pieces(F.planner().plan([customer], contracts: [pendingOwn, grandparent])) == [P(100, 1, 11, 30, .covered)])
    }

    //   contract 1: subscription [2026-10-10, 2026-10-20)
    //   2026-10-09  pending (before its start): charged as a pending contract
    //   2026-10-10  valid (first day)
    //   2026-10-19  valid (last day)
    //   2026-10-20  ended: no contract, per incident
    @Test("valid means starts_on <= local date < ends_on; earlier is pending; later is nothing",
          arguments: [("2026-10-09", Int64?(1)), ("2026-10-10", 1), ("2026-10-19", 1), ("2026-10-20", nil)])
    func validityBoundaries(date: String, expected: Int64?) {
        let contract = F.contract(1, .customer(1), starts: "2026-10-10", ends: "2026-10-20")
        let customer = F.customer(entries: [F.entry(100, ticket: 7, date, 30)], tickets: [F.ticket(7)])
        let plan = F.planner().plan([customer], contracts: [contract])
        #expect(F.pieces(plan) == [P(100, 1, expected, 30, expected == nil ? .perIncident : .covered)])
    }

    // Contract 1 (support_hours, 600 min) on item 5 with 500 used; contract 2 of the customer.
    //   entry 100: 150 min -> 100 covered on 1 (used up), 50 rolled over to 2
    //   entry 101 (same request): 40 min -> 2, rolled_over (the request moved there)
    //   entry 102 (a new request): 30 min -> 2, covered
    @Test("an entry larger than what is left is split; the rest rolls over to the next contract found")
    func splitAndRollover() {
        let hours = F.contract(1, .item(5), .supportHours, minutes: 600, used: 500)
        let backstop = F.contract(2, .customer(1))
        let customer = F.customer(entries: [
            F.entry(100, ticket: 7, "2026-10-05", 150), F.entry(101, ticket: 7, "2026-10-06", 40), F.entry(102, ticket: 8, "2026-10-07", 30),
        ], tickets: [F.ticket(7, item: 5), F.ticket(8)])
        let plan = F.planner(.rollover).plan([customer], contracts: [hours, backstop])
        #expect(F.pieces(plan) == [
            P(100, 1, 1, 100, .covered), P(100, 2, 2, 50, .rolledOver), P(101, 1, 2, 40, .rolledOver), P(102, 1, 2, 30, .covered),
        ])
        #expect(F.chargedMinutes(plan) == [100: 150, 101: 40, 102: 30])
        #expect(plan.minutesUsed[1] == 600)
        #expect(plan.usedUp.map(\.contract.id) == [1])
        #expect(plan.usedUp.first?.minutesUsed == 600)
        #expect(plan.charges.map(\.sourceKey) == ["ce:charge:100:1", "ce:charge:100:2", "ce:charge:101:1", "ce:charge:102:1"])
    }

    // The same with expired_time = ignore: the rest of request 7 is recorded on contract 1,
    // deducted nowhere; request 8 is new and finds contract 2.
    @Test("ignore: time after the contract expired during the request is recorded ignored on it and deducted nowhere")
    func ignore() {
        let hours = F.contract(1, .item(5), .supportHours, minutes: 600, used: 500)
        let backstop = F.contract(2, .customer(1), .supportHours, minutes: 120)
        let customer = F.customer(entries: [
            F.entry(100, ticket: 7, "2026-10-05", 150), F.entry(101, ticket: 7, "2026-10-06", 40), F.entry(102, ticket: 8, "2026-10-07", 30),
        ], tickets: [F.ticket(7, item: 5), F.ticket(8)])
        let plan = F.planner(.ignore).plan([customer], contracts: [hours, backstop])
        #expect(F.pieces(plan) == [
            P(100, 1, 1, 100, .covered), P(100, 2, 1, 50, .ignored), P(101, 1, 1, 40, .ignored), P(102, 1, 2, 30, .covered),
        ])
        #expect(F.chargedMinutes(plan) == [100: 150, 101: 40, 102: 30])
        #expect(plan.minutesUsed[1] == 600)
        #expect(plan.minutesUsed[2] == 30)
    }

    //   contract 1: subscription on item 5 [2026-10-01, 2026-10-20)   contract 2: customer, open-ended
    //   request 7: 2026-10-18 60 min -> 1 covered
    //              2026-10-22 45 min -> after 1's end: rolled over to 2
    @Test("entries after the end of the request's contract follow expired_time",
          arguments: [(ExpiredTimeRule.rollover, P(101, 1, 2, 45, .rolledOver)), (.ignore, P(101, 1, 1, 45, .ignored))])
    func afterTheEnd(rule: ExpiredTimeRule, expected: ContractPlannerFixture.Piece) {
        let subscription = F.contract(1, .item(5), starts: "2026-10-01", ends: "2026-10-20")
        let backstop = F.contract(2, .customer(1))
        let customer = F.customer(entries: [F.entry(100, ticket: 7, "2026-10-18", 60), F.entry(101, ticket: 7, "2026-10-22", 45)],
                                  tickets: [F.ticket(7, item: 5)])
        let plan = F.planner(rule).plan([customer], contracts: [subscription, backstop])
        #expect(F.pieces(plan) == [P(100, 1, 1, 60, .covered), expected])
    }

    @Test("a request keeps its contract: a better contract appearing later does not take it over")
    func requestKeepsItsContract() {
        // Request 7 started on the customer's contract 2; item 5 gets contract 1 from 2026-10-10.
        let itemContract = F.contract(1, .item(5), starts: "2026-10-10")
        let customerContract = F.contract(2, .customer(1), starts: "2026-10-01")
        let customer = F.customer(entries: [F.entry(100, ticket: 7, "2026-10-05", 30), F.entry(101, ticket: 7, "2026-10-12", 30), F.entry(102, ticket: 8, "2026-10-12", 30)],
                                  tickets: [F.ticket(7, item: 5), F.ticket(8, item: 5)])
        #expect(F.pieces(F.planner().plan([customer], contracts: [itemContract, customerContract])) == [
            P(100, 1, 2, 30, .covered), P(101, 1, 2, 30, .covered), P(102, 1, 1, 30, .covered),
        ])
    }

    @Test("a request charged in an earlier run continues where it stood")
    func earlierState() {
        let contract = F.contract(2, .customer(1), .supportHours, minutes: 600, used: 100)
        let customer = F.customer(entries: [F.entry(100, ticket: 7, "2026-10-05", 30), F.entry(101, ticket: 8, "2026-10-05", 20), F.entry(102, ticket: 9, "2026-10-05", 10)],
                                  tickets: [F.ticket(7, state: .contract(2, rolledOver: true)), F.ticket(8, state: .ignoring(1)), F.ticket(9, state: .perIncident)])
        let plan = F.planner().plan([customer], contracts: [contract, F.contract(1, .customer(1), .supportHours, minutes: 60, used: 60)])
        #expect(F.pieces(plan) == [P(100, 1, 2, 30, .rolledOver), P(101, 1, 1, 20, .ignored), P(102, 1, nil, 10, .perIncident)])
        // Ticket 9 was billed per incident before: no second incident.
        #expect(plan.incidents.isEmpty)
    }

    // Ticket 7 opened 2026-09-30 (the customer's local date), first worked 2026-10-02: the
    // incident is dated in September. Ticket 8 opened and worked in October.
    @Test("a request with no contract at all is billed once per incident, in the month it was opened; all its time is per_incident")
    func perIncident() {
        let customer = F.customer(entries: [
            F.entry(100, ticket: 7, "2026-10-02", 30), F.entry(101, ticket: 7, "2026-10-03", 45), F.entry(102, ticket: 8, "2026-10-09", 15),
        ], tickets: [F.ticket(7, opened: "2026-09-30", subject: "Mail bounces"), F.ticket(8, opened: "2026-10-09", subject: "")])
        let plan = F.planner(prices: [F.usd: 4500]).plan([customer], contracts: [])
        #expect(F.pieces(plan) == [P(100, 1, nil, 30, .perIncident), P(101, 1, nil, 45, .perIncident), P(102, 1, nil, 15, .perIncident)])
        #expect(plan.incidents.map(\.ticketID) == [7, 8])
        #expect(plan.incidents.map(\.month.description) == ["2026-09", "2026-10"])
        #expect(plan.incidents.map(\.price) == [4500, 4500])
        #expect(plan.incidents.map(\.currency) == [F.usd, F.usd])
        #expect(plan.incidents.map(\.sourceKey) == ["ce:incident:7", "ce:incident:8"])
        #expect(plan.incidents.map(\.description) == ["Per-incident support: ticket #7 Mail bounces", "Per-incident support: ticket #8"])
    }

    // Customers 1 (JPY, no price) and 2 (USD) share org unit 20's 100-minute contract.
    // Customer 1's request 7 would take all 100 minutes, leaving its request 8 with no contract
    // at all; a per-incident price in JPY is missing: customer 1 is left out, and its 100
    // minutes are not taken from the contract, so customer 2's 90 minutes are covered.
    @Test("no per-incident price for the customer's currency: the customer is skipped with the reason, its usage undone, the others planned")
    func missingPrice() {
        let shared = F.contract(1, .orgUnit(20), .supportHours, minutes: 100)
        let yen = F.customer(1, currency: F.jpy, orgUnits: [20], entries: [F.entry(100, ticket: 7, "2026-10-01", 100), F.entry(101, ticket: 8, "2026-10-02", 30)],
                             tickets: [F.ticket(7, customer: 1), F.ticket(8, customer: 1)])
        let dollars = F.customer(2, orgUnits: [20], entries: [F.entry(200, ticket: 9, "2026-10-03", 90)], tickets: [F.ticket(9, customer: 2)])
        let plan = F.planner(prices: [F.usd: 4500]).plan([yen, dollars], contracts: [shared])
        #expect(plan.skipped.map(\.customerID) == [1])
        #expect(plan.skipped.first?.reason == "no per_incident_price for JPY in jobs/contract-expiry-rollover.toml: ticket #8 has no contract and must be billed per incident")
        #expect(F.pieces(plan) == [P(200, 1, 1, 90, .covered)])
        #expect(plan.minutesUsed[1] == 90)
        #expect(plan.incidents.isEmpty)
    }

    // Org unit 20's contract has 100 minutes; customers 1 and 2 both work on 2026-10-05, customer
    // 2 earlier in the day. Customers are served in id order: 1 takes 80, 2 gets the last 20
    // and the rest of its entry rolls over to its own contract, pending (it starts in December).
    @Test("a contract shared by several customers runs out consistently: customers in id order, usage shared")
    func sharedContract() {
        let shared = F.contract(1, .orgUnit(20), .supportHours, minutes: 100)
        let own = F.contract(2, .customer(2), starts: "2026-12-01")
        let first = F.customer(1, orgUnits: [20], entries: [F.entry(100, ticket: 7, "2026-10-05", 80, hour: 15)], tickets: [F.ticket(7, customer: 1)])
        let second = F.customer(2, orgUnits: [20], entries: [F.entry(200, ticket: 9, "2026-10-05", 80, hour: 9)], tickets: [F.ticket(9, customer: 2)])
        let plan = F.planner().plan([second, first], contracts: [shared, own])
        #expect(F.pieces(plan) == [P(100, 1, 1, 80, .covered), P(200, 1, 1, 20, .covered), P(200, 2, 2, 60, .rolledOver)])
        #expect(plan.usedUp.map(\.contract.id) == [1])
    }

    // Request 7's contract 1 has 50 minutes left and nothing to roll over to:
    //
    //     contract 1   |######################  550 used  |.. 50 left ..|
    //     entry 100 (80, Oct 5)                  50 covered | 30 wait
    //     entry 101 (10, Oct 6)                             | 10 wait (behind 100)
    //     entry 102 (50, Oct 7, request 8, new)  contract 1 used up: per incident
    //
    // The 50 minutes are charged now: the charge binds request 7 to contract 1 in the database,
    // so nothing is held in memory that a rerun or the next batch would not see.
    @Test("rollover with no next contract: what the contract can take is charged, the rest of the request waits in order")
    func waitsForAContract() {
        let hours = F.contract(1, .customer(1), .supportHours, minutes: 600, used: 550)
        let customer = F.customer(entries: [
            F.entry(100, ticket: 7, "2026-10-05", 80), F.entry(101, ticket: 7, "2026-10-06", 10), F.entry(102, ticket: 8, "2026-10-07", 50),
        ], tickets: [F.ticket(7, state: .contract(1, rolledOver: false)), F.ticket(8)])
        let plan = F.planner(.rollover).plan([customer], contracts: [hours])
        #expect(F.pieces(plan) == [P(100, 1, 1, 50, .covered), P(102, 1, nil, 50, .perIncident)])
        #expect(plan.waiting == [ContractBatchPlan.Waiting(customerID: 1, ticketID: 7, expiredContractID: 1, entries: 2, minutes: 40)])
        #expect(plan.incidents.map(\.ticketID) == [8])
        #expect(plan.minutesUsed[1] == 600)
        #expect(plan.usedUp.map(\.contract.id) == [1])
    }

    // The next run after `waitsForAContract`, once contract 2 exists: entry 100 has 50 of its 80
    // minutes charged (piece 1); its 30 roll over as piece 2, and entry 101 follows.
    @Test("an entry part of which waited continues: the rest rolls over as its next piece, the request's later entries follow")
    func waitedEntryContinues() {
        let hours = F.contract(1, .customer(1), .supportHours, minutes: 600, used: 600, status: .expired)
        let next = F.contract(2, .customer(1), .supportHours, minutes: 120)
        let customer = F.customer(entries: [
            ContractCustomerInput.Entry(id: 100, ticketID: 7, workedAt: Instant(utc: F.day("2026-10-05"), hour: 12), localDate: F.day("2026-10-05"),
                                        minutes: 80, chargedMinutes: 50, chargedPieces: 1),
            F.entry(101, ticket: 7, "2026-10-06", 10),
        ], tickets: [F.ticket(7, state: .contract(1, rolledOver: false))])
        let plan = F.planner(.rollover).plan([customer], contracts: [hours, next])
        #expect(F.pieces(plan) == [P(100, 2, 2, 30, .rolledOver), P(101, 1, 2, 10, .rolledOver)])
        #expect(plan.waiting.isEmpty)
        #expect(plan.minutesUsed[2] == 40)
    }

    @Test("a contract staff set to expired takes no time; one the job expired still covers its period")
    func chargeable() {
        let endedByStaff = F.contract(1, .customer(1), starts: "2026-10-01", ends: "2026-12-01", status: .expired, chargeable: false)
        let expiredByJob = F.contract(2, .orgUnit(20), starts: "2026-09-01", ends: "2026-10-10", status: .expired, chargeable: true)
        // A late entry dated 2026-10-09, within contract 2's period, recorded after it expired.
        let customer = F.customer(orgUnits: [20], entries: [F.entry(100, ticket: 7, "2026-10-09", 30)], tickets: [F.ticket(7)])
        #expect(F.pieces(F.planner().plan([customer], contracts: [endedByStaff, expiredByJob])) == [P(100, 1, 2, 30, .covered)])
    }

    // Every limit a contract sets counts, whatever its kind (docs/design.md §8):
    //
    //     subscription  1  [Oct 1 ........................ Nov 1)  minutes_total 10
    //     support_hours 2  [Oct 1, Oct 2)                           600 min
    //     time_limited  3  [Oct 1, Oct 2)                           600 min
    //     one 60-minute entry per customer on Oct 20                  ^
    //
    //     1: 10 covered, then used up; no next contract: 50 wait (rollover)
    //     2, 3: past their end on Oct 20 -> per incident
    @Test("every kind counts the limits it sets: a subscription's minutes_total and a support_hours contract's ends_on")
    func kinds() {
        let subscription = F.contract(1, .customer(1), .subscription, starts: "2026-10-01", ends: "2026-11-01", minutes: 10)
        let hours = F.contract(2, .customer(2), .supportHours, starts: "2026-10-01", ends: "2026-10-02", minutes: 600)
        let limited = F.contract(3, .customer(3), .timeLimited, starts: "2026-10-01", ends: "2026-10-02", minutes: 600)
        let customers = (1...3).map { id in
            F.customer(Int64(id), entries: [F.entry(Int64(id) * 100, ticket: Int64(id), "2026-10-20", 60)], tickets: [F.ticket(Int64(id), customer: Int64(id))])
        }
        let plan = F.planner().plan(customers, contracts: [subscription, hours, limited])
        #expect(F.pieces(plan) == [P(100, 1, 1, 10, .covered), P(200, 1, nil, 60, .perIncident), P(300, 1, nil, 60, .perIncident)])
        #expect(plan.waiting == [ContractBatchPlan.Waiting(customerID: 1, ticketID: 1, expiredContractID: 1, entries: 1, minutes: 50)])
        #expect(plan.minutesUsed[1] == 10)
        // Before its end the support_hours contract covers.
        let early = F.customer(2, entries: [F.entry(200, ticket: 2, "2026-10-01", 60)], tickets: [F.ticket(2, customer: 2)])
        #expect(F.pieces(F.planner().plan([early], contracts: [hours])) == [P(200, 1, 2, 60, .covered)])
    }

    @Test("among valid contracts of one scope the one ending first is used first; among pending ones the one starting first")
    func orderWithinScope() {
        let openEnded = F.contract(1, .customer(1), starts: "2026-01-01")
        let endsLate = F.contract(2, .customer(1), starts: "2026-09-01", ends: "2027-01-01")
        let endsSoon = F.contract(3, .customer(1), starts: "2026-10-01", ends: "2026-11-01")
        let customer = F.customer(entries: [F.entry(100, ticket: 7, "2026-10-15", 30)], tickets: [F.ticket(7)])
        #expect(F.pieces(F.planner().plan([customer], contracts: [openEnded, endsLate, endsSoon])) == [P(100, 1, 3, 30, .covered)])
        let startsLater = F.contract(4, .customer(1), starts: "2027-03-01")
        let startsSooner = F.contract(5, .customer(1), starts: "2027-02-01")
        #expect(F.pieces(F.planner().plan([customer], contracts: [startsLater, startsSooner])) == [P(100, 1, 5, 30, .covered)])
    }

    @Test("invalid data skips the customer with a reason a person can act on", arguments: [
        ("missing ticket", "time entry 100 is on ticket #99, which does not exist"),
        ("another customer's ticket", "time entry 100 belongs to customer 1 but its ticket #7 belongs to customer 2"),
        ("support_hours without minutes", "contract #1 is support_hours but has no minutes_total (a support_hours contract is a number of hours); fix the contract"),
        ("time_limited without an end", "contract #1 is time_limited but lacks ends_on (a time_limited contract needs both an end date and minutes_total, whichever runs out first); fix the contract"),
        ("ends before it starts", "contract #1 ends (ends_on 2026-10-01) on or before it starts (starts_on 2026-10-05); fix the contract"),
    ])
    func invalidData(kind: String, reason: String) {
        var contracts: [SupportContract] = []
        var tickets = [F.ticket(7)]
        var ticketID: Int64 = 7
        switch kind {
        case "missing ticket": ticketID = 99
        case "another customer's ticket": tickets = [F.ticket(7, customer: 2)]
        case "support_hours without minutes": contracts = [F.contract(1, .customer(1), .supportHours)]
        case "time_limited without an end": contracts = [F.contract(1, .customer(1), .timeLimited, minutes: 60)]
        default: contracts = [F.contract(1, .customer(1), starts: "2026-10-05", ends: "2026-10-01")]
        }
        let bad = F.customer(1, entries: [F.entry(100, ticket: ticketID, "2026-10-15", 30)], tickets: tickets)
        let good = F.customer(2, entries: [F.entry(200, ticket: 8, "2026-10-15", 30)], tickets: [F.ticket(8, customer: 2)])
        let plan = F.planner().plan([bad, good], contracts: contracts)
        #expect(plan.skipped == [ContractBatchPlan.Skip(customerID: 1, reason: reason)])
        #expect(F.pieces(plan) == [P(200, 1, nil, 30, .perIncident)])
    }

    // Entries arrive in any order; each customer's are charged in time order (then by id).
    @Test("entries are charged in the order they were worked")
    func timeOrder() {
        let hours = F.contract(1, .customer(1), .supportHours, minutes: 60)
        let customer = F.customer(entries: [F.entry(102, ticket: 8, "2026-10-07", 45), F.entry(101, ticket: 7, "2026-10-05", 45)],
                                  tickets: [F.ticket(7), F.ticket(8)])
        let plan = F.planner(.ignore).plan([customer], contracts: [hours])
        // Request 7 (first worked) gets 45; request 8 gets the last 15 and the rest is ignored.
        #expect(F.pieces(plan) == [P(101, 1, 1, 45, .covered), P(102, 1, 1, 15, .covered), P(102, 2, 1, 30, .ignored)])
    }
}
