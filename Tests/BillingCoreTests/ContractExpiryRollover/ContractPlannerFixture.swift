import BillingCore

/// Small builders for contract planner tests: dates are UTC dates, entries worked at noon UTC.
enum ContractPlannerFixture {
    static let usd = try! CurrencyCode("USD")
    static let jpy = try! CurrencyCode("JPY")

    static func day(_ text: String) -> LocalDate { try! LocalDate(text) }

    static func entry(_ id: Int64, ticket: Int64, _ date: String, _ minutes: Int64, hour: Int = 12) -> ContractCustomerInput.Entry {
        let local = day(date)
        return ContractCustomerInput.Entry(id: id, ticketID: ticket, workedAt: Instant(utc: local, hour: hour), localDate: local, minutes: minutes)
    }

    static func ticket(_ id: Int64, customer: Int64 = 1, item: Int64? = nil, opened: String = "2026-10-01", subject: String = "Request", state: TicketChargeState? = nil) -> ContractCustomerInput.Ticket {
        ContractCustomerInput.Ticket(id: id, customerID: customer, itemID: item, openedOn: day(opened), subject: subject, state: state)
    }

    static func customer(_ id: Int64 = 1, currency: CurrencyCode = usd, orgUnits: [Int64] = [], entries: [ContractCustomerInput.Entry], tickets: [ContractCustomerInput.Ticket]) -> ContractCustomerInput {
        ContractCustomerInput(customerID: id, currency: currency, orgUnits: orgUnits, entries: entries, tickets: tickets)
    }

    static func contract(_ id: Int64, _ scope: SupportContract.Scope, _ kind: SupportContract.Kind = .subscription, starts: String = "2026-01-01", ends: String? = nil, minutes: Int64? = nil, used: Int64 = 0, status: SupportContract.Status = .active, chargeable: Bool = true) -> SupportContract {
        SupportContract(id: id, scope: scope, kind: kind, startsOn: day(starts), endsOn: ends.map(day), minutesTotal: minutes, status: status, minutesUsed: used, chargeable: chargeable)
    }

    static func planner(_ rule: ExpiredTimeRule = .rollover, prices: [CurrencyCode: Int64] = [usd: 4500]) -> ContractExpiryRolloverPlanner {
        ContractExpiryRolloverPlanner(expiredTime: rule, perIncidentPrices: prices)
    }

    /// (entry, piece, contract, minutes, outcome) of each charge, for compact expectations.
    static func pieces(_ plan: ContractBatchPlan) -> [Piece] {
        plan.charges.map { Piece($0.entryID, $0.piece, $0.contractID, $0.minutes, $0.outcome) }
    }

    struct Piece: Equatable, CustomStringConvertible {
        let entry: Int64, piece: Int, contract: Int64?, minutes: Int64, outcome: ContractChargeOutcome
        init(_ entry: Int64, _ piece: Int, _ contract: Int64?, _ minutes: Int64, _ outcome: ContractChargeOutcome) {
            self.entry = entry
            self.piece = piece
            self.contract = contract
            self.minutes = minutes
            self.outcome = outcome
        }
        var description: String { "\(entry).\(piece) -> \(contract.map(String.init) ?? "-") \(minutes) \(outcome.rawValue)" }
    }

    /// Charged minutes per entry: the invariant is that they equal each entry's minutes.
    static func chargedMinutes(_ plan: ContractBatchPlan) -> [Int64: Int64] {
        plan.charges.reduce(into: [:]) { $0[$1.entryID, default: 0] += $1.minutes }
    }
}
