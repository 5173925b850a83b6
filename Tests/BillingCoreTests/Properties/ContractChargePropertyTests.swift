import BillingCore
import Testing

/// contract-expiry-rollover's planner over random contracts (every kind and scope, some used
/// up, pending, expired or defective) and random requests.
@Suite("property: charged contract minutes always sum to the entry's minutes")
struct ContractChargePropertyTests {
    static let usd = try! CurrencyCode("USD")
    static let start = try! LocalDate("2026-09-01")

    struct Case: CustomStringConvertible {
        var customers: [ContractCustomerInput]
        var contracts: [SupportContract]
        var description: String { "contracts \(contracts), customers \(customers)" }
    }

    static func randomCase(_ g: inout SeededGenerator) -> Case {
        var contracts: [SupportContract] = []
        for id in stride(from: Int64(1), through: Int64(g.int(0...6)), by: 1) {
            let scope: SupportContract.Scope = g.pick([.customer(1), .customer(2), .item(10), .item(11), .orgUnit(20), .orgUnit(21)])
            let kind = g.pick(SupportContract.Kind.allCases)
            let starts = start.adding(days: g.int(-60...40))
            let minutes: Int64? = kind == .subscription && g.chance(50) ? nil : g.int64(15...900)
            let ends: LocalDate? = kind == .supportHours && g.chance(50) ? nil : starts.adding(days: g.int(1...60))
            contracts.append(SupportContract(id: id, scope: scope, kind: kind, startsOn: starts, endsOn: ends, minutesTotal: minutes,
                                             status: g.pick([.active, .active, .pending, .expired]),
                                             minutesUsed: g.chance(60) ? 0 : g.int64(0...(minutes ?? 600)), chargeable: g.chance(90)))
        }
        var nextEntry: Int64 = 100
        let customers = (1...Int64(g.int(1...2))).map { customer -> ContractCustomerInput in
            var tickets: [ContractCustomerInput.Ticket] = []
            var entries: [ContractCustomerInput.Entry] = []
            for index in 0..<g.int(1...4) {
                let ticketID = customer * 1000 + Int64(index)
                let opened = start.adding(days: g.int(-10...30))
                let state: TicketChargeState? = g.chance(80) ? nil : g.pick([.perIncident, .contract(Int64(g.int(1...6)), rolledOver: false), .ignoring(Int64(g.int(1...6)))])
                tickets.append(ContractCustomerInput.Ticket(id: ticketID, customerID: customer, itemID: g.chance(40) ? g.pick([10, 11]) : nil,
                                                            openedOn: opened, subject: "Request \(ticketID)", state: state))
                for _ in 0..<g.int(1...4) {
                    nextEntry += 1
                    let day = opened.adding(days: g.int(0...20))
                    entries.append(ContractCustomerInput.Entry(id: nextEntry, ticketID: ticketID, workedAt: Instant(utc: day, hour: g.int(0...23)),
                                                               localDate: day, minutes: g.int64(1...400)))
                }
            }
            return ContractCustomerInput(customerID: customer, currency: usd, orgUnits: g.chance(50) ? [20, 21] : [], entries: entries, tickets: tickets)
        }
        return Case(customers: customers, contracts: contracts)
    }

    /// What the job stores of `plan` and what the next run then loads: completely charged
    /// entries leave the input, an entry part of which waits keeps its charged minutes and
    /// pieces, each ticket's last charge becomes its state, contracts count the charged minutes,
    /// used-up ones expire.
    static func stored(_ plan: ContractBatchPlan, over example: Case) -> Case {
        var chargedMinutes: [Int64: Int64] = [:]
        var chargedPieces: [Int64: Int] = [:]
        var lastCharge: [Int64: ContractBatchPlan.Charge] = [:]
        for charge in plan.charges {
            chargedMinutes[charge.entryID, default: 0] += charge.minutes
            chargedPieces[charge.entryID, default: 0] += 1
            lastCharge[charge.ticketID] = charge
        }
        let customers = example.customers.map { customer in
            ContractCustomerInput(
                customerID: customer.customerID, currency: customer.currency, orgUnits: customer.orgUnits,
                entries: customer.entries.compactMap { entry in
                    let charged = entry.chargedMinutes + (chargedMinutes[entry.id] ?? 0)
                    guard charged < entry.minutes else { return nil }
                    return ContractCustomerInput.Entry(id: entry.id, ticketID: entry.ticketID, workedAt: entry.workedAt, localDate: entry.localDate,
                                                       minutes: entry.minutes, chargedMinutes: charged,
                                                       chargedPieces: entry.chargedPieces + (chargedPieces[entry.id] ?? 0))
                },
                tickets: customer.tickets.values.map { ticket in
                    guard let last = lastCharge[ticket.id] else { return ticket }
                    return ContractCustomerInput.Ticket(id: ticket.id, customerID: ticket.customerID, itemID: ticket.itemID,
                                                        openedOn: ticket.openedOn, subject: ticket.subject,
                                                        state: TicketChargeState(lastOutcome: last.outcome, contractID: last.contractID))
                })
        }
        let expired = Set(plan.usedUp.map(\.contract.id))
        let contracts = example.contracts.map { contract in
            let added = plan.charges.filter { $0.contractID == contract.id && ($0.outcome == .covered || $0.outcome == .rolledOver) }
                .reduce(Int64(0)) { $0 + $1.minutes }
            return SupportContract(id: contract.id, scope: contract.scope, kind: contract.kind, startsOn: contract.startsOn,
                                   endsOn: contract.endsOn, minutesTotal: contract.minutesTotal,
                                   status: expired.contains(contract.id) ? .expired : contract.status,
                                   minutesUsed: contract.minutesUsed + added, chargeable: contract.chargeable)
        }
        return Case(customers: customers, contracts: contracts)
    }

    static func describe(_ plan: ContractBatchPlan) -> String {
        "charges \(plan.charges.map { "\($0.entryID).\($0.piece) \($0.contractID.map(String.init) ?? "-") \($0.minutes) \($0.outcome.rawValue)" }), "
            + "incidents \(plan.incidents.map(\.ticketID)), waiting \(plan.waiting.map { "\($0.ticketID): \($0.entries) entries, \($0.minutes) min" })"
    }

    @Test("each entry's pieces add up to its minutes, or to less while the rest of its request waits; numbered 1...n; no contract charged beyond its minutes")
    func piecesAddUp() {
        PropertyCheck.forAll("contract charges") { g in
            let example = Self.randomCase(&g)
            let planner = ContractExpiryRolloverPlanner(expiredTime: g.chance(50) ? .rollover : .ignore, perIncidentPrices: [Self.usd: 4500])
            let plan = planner.plan(example.customers, contracts: example.contracts)
            let skipped = Set(plan.skipped.map(\.customerID))
            let byEntry = Dictionary(grouping: plan.charges, by: \.entryID)
            let waiting = Dictionary(plan.waiting.map { ($0.ticketID, $0.minutes) }, uniquingKeysWith: +)
            for customer in example.customers where !skipped.contains(customer.customerID) {
                var uncharged: [Int64: Int64] = [:]
                for entry in customer.entries {
                    let pieces = byEntry[entry.id] ?? []
                    let charged = pieces.reduce(Int64(0)) { $0 + $1.minutes }
                    guard charged <= entry.minutes else {
                        return "entry \(entry.id) of \(entry.minutes) min charged \(charged) in \(pieces.map { "\($0.minutes) \($0.outcome.rawValue)" }): \(example)"
                    }
                    if charged < entry.minutes { uncharged[entry.ticketID, default: 0] += entry.minutes - charged }
                    guard pieces.map(\.piece).sorted() == Array(stride(from: 1, through: pieces.count, by: 1)), pieces.allSatisfy({ $0.minutes > 0 }) else {
                        return "entry \(entry.id) pieces \(pieces.map(\.piece)) / \(pieces.map(\.minutes)): \(example)"
                    }
                }
                // Every minute is charged, or reported waiting with its request.
                for (ticket, minutes) in uncharged where waiting[ticket] != minutes {
                    return "ticket \(ticket): \(minutes) min uncharged, \(waiting[ticket] ?? 0) reported waiting; \(Self.describe(plan)): \(example)"
                }
            }
            let entries = Set(example.customers.filter { !skipped.contains($0.customerID) }.flatMap(\.entries).map(\.id))
            guard Set(byEntry.keys).isSubset(of: entries) else { return "charges for entries of skipped customers: \(example)" }
            for contract in example.contracts {
                guard let limit = contract.limit else { continue }
                let added = plan.charges.filter { $0.contractID == contract.id && ($0.outcome == .covered || $0.outcome == .rolledOver) }
                    .reduce(Int64(0)) { $0 + $1.minutes }
                guard added == 0 || contract.minutesUsed + added <= limit else {
                    return "contract \(contract.id) of \(limit) min, \(contract.minutesUsed) used before, charged \(added) more: \(example)"
                }
                // What the plan counts as used is exactly what it stores: nothing is held in memory only.
                let counted = plan.minutesUsed[contract.id] ?? contract.minutesUsed
                guard counted == contract.minutesUsed + added else {
                    return "contract \(contract.id) of \(limit): minutesUsed \(counted), \(contract.minutesUsed) before + \(added) charged: \(example)"
                }
            }
            return nil
        }
    }

    @Test("a second plan over what the first one stored charges nothing, and the same time waits")
    func idempotent() {
        PropertyCheck.forAll("contract rerun") { g in
            let example = Self.randomCase(&g)
            let planner = ContractExpiryRolloverPlanner(expiredTime: g.chance(50) ? .rollover : .ignore, perIncidentPrices: [Self.usd: 4500])
            let first = planner.plan(example.customers, contracts: example.contracts)
            let second = planner.plan(Self.stored(first, over: example).customers, contracts: Self.stored(first, over: example).contracts)
            guard second.charges.isEmpty, second.incidents.isEmpty else {
                return "the rerun: \(Self.describe(second)); first plan: \(Self.describe(first)): \(example)"
            }
            // The same time waits (the contract a notice names may differ: the one the request
            // rolled over to in the first run may have run out since).
            let waitingFirst = first.waiting.map { "\($0.ticketID): \($0.entries) entries, \($0.minutes) min" }
            let waitingSecond = second.waiting.map { "\($0.ticketID): \($0.entries) entries, \($0.minutes) min" }
            guard waitingSecond == waitingFirst else { return "waiting \(waitingFirst) became \(waitingSecond): \(example)" }
            return nil
        }
    }

    // The runner plans batches of customers, each from what the earlier batches stored. A
    // customer planned alone (batch size 1) must get exactly what it gets planned with the others,
    // and a rerun after the batches charges nothing.
    @Test("batches of one customer each charge exactly what one batch of all of them charges, and a rerun charges nothing")
    func batchSizeIndependent() {
        PropertyCheck.forAll("contract batches") { g in
            var example = Self.randomCase(&g)
            if example.customers.count < 2 { return nil }
            let planner = ContractExpiryRolloverPlanner(expiredTime: g.chance(50) ? .rollover : .ignore, perIncidentPrices: [Self.usd: 4500])
            let together = planner.plan(example.customers, contracts: example.contracts)
            var charges: [ContractBatchPlan.Charge] = []
            var incidents: [ContractBatchPlan.Incident] = []
            var waiting: [ContractBatchPlan.Waiting] = []
            for customerID in example.customers.map(\.customerID).sorted() {
                let alone = planner.plan(example.customers.filter { $0.customerID == customerID }, contracts: example.contracts)
                charges += alone.charges
                incidents += alone.incidents
                waiting += alone.waiting
                example = Self.stored(alone, over: example)
            }
            let key = { (c: ContractBatchPlan.Charge) in "\(c.entryID).\(c.piece) \(c.contractID.map(String.init) ?? "-") \(c.minutes) \(c.outcome.rawValue)" }
            guard charges.map(key) == together.charges.map(key), incidents.map(\.ticketID) == together.incidents.map(\.ticketID),
                  waiting == together.waiting else {
                return "one batch: \(Self.describe(together)); one customer at a time: charges \(charges.map(key)), incidents \(incidents.map(\.ticketID)), waiting \(waiting): \(example)"
            }
            let rerun = planner.plan(example.customers, contracts: example.contracts)
            guard rerun.charges.isEmpty, rerun.incidents.isEmpty else { return "the rerun after the batches: \(Self.describe(rerun)): \(example)" }
            return nil
        }
    }
}
