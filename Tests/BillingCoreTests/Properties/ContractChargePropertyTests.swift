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
                guard (plan.minutesUsed[contract.id] ?? contract.minutesUsed) == contract.minutesUsed + added else {
                    return "contract \(contract.id): minutesUsed \(plan.minutesUsed[contract.id] ?? -1), expected \(contract.minutesUsed + added): \(example)"
                }
            }
            return nil
        }
    }
}
