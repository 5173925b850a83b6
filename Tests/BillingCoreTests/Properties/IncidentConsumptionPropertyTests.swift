import BillingCore
import Testing

/// incident-grants' consumption over random grants (some revoked, expired, used up, or about to
/// be revoked), tickets and uses.
@Suite("property: incident consumption never uses an expired or revoked grant")
struct IncidentConsumptionPropertyTests {
    typealias Input = IncidentGrantsInput
    static let usd = try! CurrencyCode("USD")
    static let today = try! LocalDate("2026-06-15")

    static func randomInput(_ g: inout SeededGenerator) -> Input {
        var grants: [Input.Grant] = []
        var uses: [Input.ActiveUse] = []
        var nextUse: Int64 = 1
        var nextTicket: Int64 = 1000
        for id in stride(from: Int64(1), through: Int64(g.int(0...6)), by: 1) {
            let lifetime = g.chance(40)
            let from = today.adding(days: g.int(-120...20))
            let until: LocalDate? = lifetime ? nil : from.adding(days: g.int(1...90))
            let quantity = g.int(1...4)
            let kind = g.int(0...3)
            let source: IncidentGrantSource = [.manual, .firstPayment, .funds, .planPeriod][kind]
            let payment: Input.PaymentState = (kind == 1 || kind == 2) ? g.pick([.completed, .completed, .reversed, .missing]) : .none
            let revoked = g.chance(20)
            let active = g.int(0...quantity)
            grants.append(Input.Grant(
                id: id, serviceID: kind == 3 ? 4 : nil, quantity: quantity, lifetime: lifetime, validFrom: from, validUntil: until,
                source: source, sourceKey: "test:\(id)", revoked: revoked, activeUses: active,
                paymentID: kind == 1 || kind == 2 ? 70 + id : nil, payment: payment,
                fundsAmount: kind == 2 ? 5000 : nil, fundsCurrency: kind == 2 ? usd : nil))
            // The store lists the uses that may have to go back: revoked or revocable grants, changed tickets.
            for _ in 0..<active where revoked || payment == .reversed || payment == .missing || g.chance(30) {
                nextTicket += 1
                let opened = from.adding(days: g.int(0...((until.map { from.days(until: $0) } ?? 60) - 1)))
                let ticket = g.chance(10) ? nil : Input.Ticket(id: nextTicket, openedAt: Instant(utc: opened, hour: 9), openedOn: opened, useCount: 1)
                uses.append(Input.ActiveUse(id: nextUse, grantID: id, ticketID: nextTicket, ticket: ticket, ticketRequiresIncident: g.chance(70)))
                nextUse += 1
            }
        }
        let serviceStart = today.adding(days: g.int(-200...10))
        let services = g.chance(50) ? [Input.Service(id: 4, periodMonths: g.pick([0, 1, 3]), incidentsPerPeriod: g.int(1...3),
                                                     startsOn: serviceStart, endsOn: g.chance(30) ? serviceStart.adding(days: g.int(1...250)) : nil)] : []
        let tickets = (0..<g.int(0...8)).map { _ -> Input.Ticket in
            nextTicket += 1
            let opened = today.adding(days: g.int(-150...0))
            return Input.Ticket(id: nextTicket, openedAt: Instant(utc: opened, hour: g.int(0...23)), openedOn: opened)
        }
        let payments = (0..<g.int(0...3)).map { index -> Input.Payment in
            let on = today.adding(days: g.int(-100...0))
            return Input.Payment(id: 90 + Int64(index), amount: g.pick([2500, 5000, 7500, 12_000]), currency: usd, receivedAt: Instant(utc: on), receivedOn: on)
        }
        return Input(customerID: 1, currency: usd, localAsOf: today, registeredOn: g.chance(50) ? today.adding(days: -300) : nil,
                     services: services, grants: grants, activeUses: uses, tickets: tickets, firstPayment: payments.first,
                     fundsPayments: payments, fundsTotal: payments.reduce(0) { $0 + $1.amount } - (g.chance(20) ? 5000 : 0))
    }

    @Test("every use draws on a grant that is neither revoked nor expired on the ticket's date, within what the grant holds; uses of revoked grants go back")
    func neverExpiredOrRevoked() {
        PropertyCheck.forAll("incident consumption") { g in
            let input = Self.randomInput(&g)
            let rules = IncidentGrantRules(onRegistration: g.int(0...2), onFirstPayment: g.int(0...2), fundsStep: [Self.usd: 5000], fundsIncidents: g.int(0...2))
            let plan = try IncidentGrantsPlanner.plan(input, rules: rules)
            let revoked = Set(input.grants.filter(\.revoked).map(\.id)).union(plan.revocations.map(\.grantID))
            let returned = Set(plan.returns.map(\.useID))
            var tickets: [Int64: Input.Ticket] = [:]
            for ticket in input.tickets { tickets[ticket.id] = ticket }
            for use in input.activeUses { if let ticket = use.ticket { tickets[ticket.id] = ticket } }
            var drawn: [IncidentGrantsPlan.GrantRef: Int] = [:]
            let context = "plan \(plan), input \(input)"
            for use in plan.uses {
                guard let ticket = tickets[use.ticketID] else { return "a use for unknown ticket \(use.ticketID): \(context)" }
                let date = ticket.openedOn
                drawn[use.grant, default: 0] += 1
                switch use.grant {
                case .existing(let id):
                    guard let grant = input.grants.first(where: { $0.id == id }) else { return "a use of unknown grant \(id): \(context)" }
                    guard !revoked.contains(id) else { return "ticket \(ticket.id) uses revoked grant \(id): \(context)" }
                    guard grant.validFrom <= date, grant.validUntil.map({ date < $0 }) ?? true else {
                        return "ticket \(ticket.id) opened \(date) uses grant \(id) valid \(grant.validFrom)..<\(grant.validUntil.map { "\($0)" } ?? "lifetime"): \(context)"
                    }
                case .planned(let key):
                    guard let grant = plan.grants.first(where: { $0.sourceKey == key }) else { return "a use of unplanned grant \(key): \(context)" }
                    guard grant.validFrom <= date, grant.validUntil.map({ date < $0 }) ?? true else {
                        return "ticket \(ticket.id) opened \(date) uses new grant \(key) valid \(grant.validFrom)..<\(grant.validUntil.map { "\($0)" } ?? "lifetime"): \(context)"
                    }
                }
            }
            for grant in input.grants where !revoked.contains(grant.id) {
                let back = input.activeUses.filter { $0.grantID == grant.id && returned.contains($0.id) }.count
                let held = grant.activeUses - back + (drawn[.existing(grant.id)] ?? 0)
                guard held <= grant.quantity else { return "grant \(grant.id) of \(grant.quantity) would hold \(held) uses: \(context)" }
            }
            for grant in plan.grants where (drawn[.planned(grant.sourceKey)] ?? 0) > grant.quantity {
                return "new grant \(grant.sourceKey) of \(grant.quantity) serves \(drawn[.planned(grant.sourceKey)] ?? 0) tickets: \(context)"
            }
            for use in input.activeUses where revoked.contains(use.grantID) && !returned.contains(use.id) {
                return "use \(use.id) of revoked grant \(use.grantID) is not returned: \(context)"
            }
            return nil
        }
    }
}
