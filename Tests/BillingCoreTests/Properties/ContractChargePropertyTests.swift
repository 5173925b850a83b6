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

    @Test("each charged entry's pieces add up to its minutes, numbered 1...n, and no contract is charged beyond its minutes")
    func piecesAddUp() {
        PropertyCheck.forAll("contract charges") { g in
            let example = Self.randomCase(&g)
            let planner = ContractExpiryRolloverPlanner(expiredTime: g.chance(50) ? .rollover : .ignore, perIncidentPrices: [Self.usd: 4500])
            let plan = planner.plan(example.customers, contracts: example.contracts)
            let skipped = Set(plan.skipped.map(\.customerID))
            let entries = example.customers.filter { !skipped.contains($0.customerID) }.flatMap(\.entries)
            let byEntry = Dictionary(grouping: plan.charges, by: \.entryID)
            for entry in entries {
                guard let pieces = byEntry[entry.id] else { continue }  // waiting for a contract: charged by a later run, whole
                let charged = pieces.reduce(Int64(0)) { $0 + $1.minutes }
                guard charged == entry.minutes else {
                    return "entry \(entry.id) of \(entry.minutes) min charged \(charged) in \(pieces.map { "\($0.minutes) \($0.outcome.rawValue)" }): \(example)"
                }
                guard pieces.map(\.piece).sorted() == Array(1...pieces.count), pieces.allSatisfy({ $0.minutes > 0 }) else {
                    return "entry \(entry.id) pieces \(pieces.map(\.piece)) / \(pieces.map(\.minutes)): \(example)"
                }
            }
            guard Set(byEntry.keys).isSubset(of: Set(entries.map(\.id))) else { return "charges for entries of skipped customers: \(example)" }
            for contract in example.contracts {
                guard let limit = contract.limit else { continue }
                let added = plan.charges.filter { $0.contractID == contract.id && ($0.outcome == .covered || $0.outcome == .rolledOver) }
                    .reduce(Int64(0)) { $0 + $1.minutes }
                guard added == 0 || contract.minutesUsed + added <= limit else {
                    return "contract \(contract.id) of \(limit) min, \(contract.minutesUsed) used before, charged \(added) more: \(example)"
                }
                // What the plan counts as used: the charges, plus minutes kept for a waiting new request.
                let counted = plan.minutesUsed[contract.id] ?? contract.minutesUsed
                guard counted >= contract.minutesUsed + added, added == 0 || counted <= limit else {
                    return "contract \(contract.id) of \(limit): minutesUsed \(counted), \(contract.minutesUsed) before + \(added) charged: \(example)"
                }
            }
            return nil
        }
    }

    @Test("a second plan over what the first one left (its charges stored, its used-up contracts expired) charges nothing")
    func idempotent() {
        PropertyCheck.forAll("contract rerun") { g in
            let example = Self.randomCase(&g)
            let planner = ContractExpiryRolloverPlanner(expiredTime: g.chance(50) ? .rollover : .ignore, perIncidentPrices: [Self.usd: 4500])
            let first = planner.plan(example.customers, contracts: example.contracts)
            // Store the first plan as the job does: charged entries leave the input, each ticket's
            // last charge becomes its state, contracts count the charged minutes, used up ones expire.
            let charged = Set(first.charges.map(\.entryID))
            var lastCharge: [Int64: ContractBatchPlan.Charge] = [:]
            for charge in first.charges { lastCharge[charge.ticketID] = charge }
            let customers = example.customers.map { customer in
                ContractCustomerInput(customerID: customer.customerID, currency: customer.currency, orgUnits: customer.orgUnits,
                                      entries: customer.entries.filter { !charged.contains($0.id) },
                                      tickets: customer.tickets.values.map { ticket in
                                          guard let last = lastCharge[ticket.id] else { return ticket }
                                          return ContractCustomerInput.Ticket(id: ticket.id, customerID: ticket.customerID, itemID: ticket.itemID,
                                                                              openedOn: ticket.openedOn, subject: ticket.subject,
                                                                              state: TicketChargeState(lastOutcome: last.outcome, contractID: last.contractID))
                                      })
            }
            let expired = Set(first.usedUp.map(\.contract.id))
            let contracts = example.contracts.map { contract in
                let added = first.charges.filter { $0.contractID == contract.id && ($0.outcome == .covered || $0.outcome == .rolledOver) }
                    .reduce(Int64(0)) { $0 + $1.minutes }
                return SupportContract(id: contract.id, scope: contract.scope, kind: contract.kind, startsOn: contract.startsOn,
                                       endsOn: contract.endsOn, minutesTotal: contract.minutesTotal,
                                       status: expired.contains(contract.id) ? .expired : contract.status,
                                       minutesUsed: contract.minutesUsed + added, chargeable: contract.chargeable)
            }
            let second = planner.plan(customers, contracts: contracts)
            guard second.charges.isEmpty, second.incidents.isEmpty else {
                return "the rerun charges \(second.charges.map { "\($0.entryID).\($0.piece) \($0.minutes) \($0.outcome.rawValue)" }), incidents \(second.incidents.map(\.ticketID)); first plan \(first.charges.map { "\($0.entryID).\($0.piece) \($0.contractID.map(String.init) ?? "-") \($0.minutes) \($0.outcome.rawValue)" }), waiting \(first.waiting): \(example)"
            }
            // The same time waits (the contract a notice names may differ: the one the request
            // rolled over to in the first run may have run out since).
            let waitingFirst = first.waiting.map { "\($0.ticketID): \($0.entries) entries, \($0.minutes) min" }
            let waitingSecond = second.waiting.map { "\($0.ticketID): \($0.entries) entries, \($0.minutes) min" }
            guard waitingSecond == waitingFirst else { return "waiting \(waitingFirst) became \(waitingSecond): \(example)" }
            return nil
        }
    }
}
