/// Charges a batch's time entries to support contracts (docs/design.md §8, contract-expiry-rollover).
///
/// For a request's first entry the planner looks for a contract in LiveTime's order:
///
///     1 item (valid)   2 customer (valid)   3 org unit (valid)
///     4 item (pending) 5 customer (pending) 6 org unit (pending)
///     none: the request is billed once per incident
///
/// valid on the entry's local date d:  starts_on <= d < end, minutes left (or unlimited)
/// pending on d:                       d < starts_on, minutes left (or unlimited)
///
/// Org units are the customer's and then its parents, nearest first. Within one scope the
/// valid contract ending first is used first (then the earliest start, then the lowest id), and
/// among pending ones the one starting first.
///
/// A request keeps its contract for its later entries while that contract lasts. When it
/// expires during the request (its minutes run out, or an entry is dated on or after its end),
/// the rest of the request follows `expiredTime`:
///
///     contract A (support_hours, 600 min)  request: 120 · 240 · 300
///     120 -> A covered · 240 -> A covered · 300 -> 240 A covered + 60 (rollover: next contract,
///     rolled_over; ignore: A, ignored, deducted nowhere)
///
/// An entry larger than what is left is split into pieces whose minutes add up to the entry's.
/// Under rollover, the part of an entry for which no next contract exists yet waits uncharged
/// (with the request's later entries behind it) and is charged by the first run that finds one;
/// the part its contract could take is charged now. Everything the plan decides is stored as a
/// charge, so a request that waits is bound to its contract by that charge, and a rerun (or the
/// next batch) plans from exactly what this one leaves: nothing is held only in memory.
///
///     contract A (60 min)   request X: 90 on Oct 2    request Y: 60 on Oct 3   (no next contract)
///     X: 60 -> A covered, 30 wait    Y: nothing left anywhere -> per incident
///     later, contract B:   X: 30 -> B rolled_over (piece 2 of the entry)
///
/// Cut-over (docs/operations.md): entries worked before it are charged nowhere; a request
/// opened before it keeps being charged to contracts for its later entries, but is never billed
/// per incident:
///
///     cut-over Oct 15   request opened Oct 10: 30 on Oct 12 · 45 on Oct 16   (no contract)
///     Oct 12: not charged · Oct 16: per_incident charge, no per-incident item
///
/// Customers are planned one after another in id order, each customer's entries in time order,
/// against shared usage: contracts of an item or org unit shared by several customers run out
/// consistently. A customer with invalid data is left out and its usage undone.
public struct ContractExpiryRolloverPlanner: Sendable {
    public let expiredTime: ExpiredTimeRule
    /// Per-incident price per currency, in minor units.
    public let perIncidentPrices: [CurrencyCode: Int64]

    public init(expiredTime: ExpiredTimeRule, perIncidentPrices: [CurrencyCode: Int64]) {
        self.expiredTime = expiredTime
        self.perIncidentPrices = perIncidentPrices
    }

    public func plan(_ customers: [ContractCustomerInput], contracts: [SupportContract]) -> ContractBatchPlan {
        let catalogue = Catalogue(contracts)
        var ledger = Ledger(contracts)
        var plan = ContractBatchPlan()
        for customer in customers.sorted(by: { $0.customerID < $1.customerID }) {
            let mark = ledger.mark
            do {
                let planned = try planCustomer(customer, catalogue, &ledger)
                plan.charges += planned.charges
                plan.incidents += planned.incidents
                plan.waiting += planned.waiting
            } catch {
                ledger.rollback(to: mark)
                let reason = (error as? BillingError)?.message ?? "\(error)"
                plan.skipped.append(ContractBatchPlan.Skip(customerID: customer.customerID, reason: reason))
            }
        }
        plan.minutesUsed = ledger.used
        plan.usedUp = contracts
            .filter { contract in
                guard let limit = contract.limit else { return false }
                return contract.minutesUsed < limit && ledger.minutes(contract.id) >= limit
            }
            .sorted { $0.id < $1.id }
            .map { ContractBatchPlan.UsedUp(contract: $0, minutesUsed: ledger.minutes($0.id)) }
        return plan
    }

    private struct CustomerPlan {
        var charges: [ContractBatchPlan.Charge] = []
        var incidents: [ContractBatchPlan.Incident] = []
        var waiting: [ContractBatchPlan.Waiting] = []
    }

    private func planCustomer(_ customer: ContractCustomerInput, _ catalogue: Catalogue, _ ledger: inout Ledger) throws -> CustomerPlan {
        var result = CustomerPlan()
        var states: [Int64: TicketChargeState] = [:]
        var waiting: [Int64: (contract: Int64, entries: Int, minutes: Int64)] = [:]
        let cutover = customer.cutover
        let entries = customer.entries
            .filter { entry in !(cutover.map { entry.localDate < $0 } ?? false) }
            .sorted { ($0.workedAt, $0.id) < ($1.workedAt, $1.id) }
        for entry in entries {
            guard let ticket = customer.tickets[entry.ticketID] else {
                throw BillingError.invalidInput("time entry \(entry.id) is on ticket #\(entry.ticketID), which does not exist")
            }
            guard ticket.customerID == customer.customerID else {
                throw BillingError.invalidInput("time entry \(entry.id) belongs to customer \(customer.customerID) but its ticket #\(ticket.id) belongs to customer \(ticket.customerID)")
            }
            guard entry.minutes > 0 else {
                throw BillingError.invalidInput("time entry \(entry.id) has \(entry.minutes) minutes")
            }
            // A request whose time waits for a contract keeps its order: its later entries wait too.
            if let held = waiting[ticket.id] {
                waiting[ticket.id] = (held.contract, held.entries + 1, held.minutes + entry.minutes)
                continue
            }
            var state = states[ticket.id] ?? ticket.state
            var pieces: [(contract: Int64?, minutes: Int64, outcome: ContractChargeOutcome)] = []
            // An entry that waited in an earlier run has its first pieces stored already.
            var left = entry.minutes - entry.chargedMinutes
            guard left > 0 else { continue }
            var opensIncident = false
            var waitsAfter: Int64?
            charging: while left > 0 {
                switch state {
                case nil:
                    if let found = try catalogue.find(on: entry.localDate, item: ticket.itemID, customer: customer.customerID, orgUnits: customer.orgUnits, ledger) {
                        state = .contract(found, rolledOver: false)
                    } else {
                        state = .perIncident
                        opensIncident = true
                    }
                case .perIncident?:
                    pieces.append((nil, left, .perIncident))
                    left = 0
                case .ignoring(let id)?:
                    pieces.append((id, left, .ignored))
                    left = 0
                case .contract(let id, let rolledOver)?:
                    let contract = try catalogue.contract(id, ticket: ticket.id)
                    if let available = try catalogue.available(contract, on: entry.localDate, ledger) {
                        let take = min(left, available)
                        pieces.append((id, take, rolledOver ? .rolledOver : .covered))
                        ledger.add(id, take)
                        left -= take
                    } else {
                        // The request's contract expired during it.
                        switch expiredTime {
                        case .ignore:
                            state = .ignoring(id)
                        case .rollover:
                            if let next = try catalogue.find(on: entry.localDate, item: ticket.itemID, customer: customer.customerID, orgUnits: customer.orgUnits, ledger) {
                                state = .contract(next, rolledOver: true)
                            } else {
                                waitsAfter = id
                                break charging
                            }
                        }
                    }
                }
            }
            if let expired = waitsAfter {
                // What the contract could take is charged (below); the rest waits, and the
                // request's later entries with it, so its time keeps its order.
                waiting[ticket.id] = (expired, 1, left)
            }
            // A request opened before the cut-over was billed per incident by the other system.
            if opensIncident && !(cutover.map { ticket.openedOn < $0 } ?? false) {
                guard let price = perIncidentPrices[customer.currency] else {
                    throw BillingError.invalidInput("no per_incident_price for \(customer.currency) in jobs/contract-expiry-rollover.toml: ticket #\(ticket.id) has no contract and must be billed per incident")
                }
                result.incidents.append(ContractBatchPlan.Incident(
                    customerID: customer.customerID, ticketID: ticket.id, subject: ticket.subject,
                    month: ticket.openedOn.yearMonth, price: price, currency: customer.currency
                ))
            }
            for (index, piece) in pieces.enumerated() {
                result.charges.append(ContractBatchPlan.Charge(
                    customerID: customer.customerID, entryID: entry.id, ticketID: ticket.id, piece: entry.chargedPieces + index + 1,
                    contractID: piece.contract, minutes: piece.minutes, outcome: piece.outcome
                ))
            }
            states[ticket.id] = state
        }
        result.waiting = waiting.keys.sorted().map { ticketID in
            let held = waiting[ticketID]!
            return ContractBatchPlan.Waiting(customerID: customer.customerID, ticketID: ticketID, expiredContractID: held.contract, entries: held.entries, minutes: held.minutes)
        }
        return result
    }

    /// The batch's contracts by scope.
    private struct Catalogue {
        let byID: [Int64: SupportContract]
        let byItem: [Int64: [SupportContract]]
        let byCustomer: [Int64: [SupportContract]]
        let byOrgUnit: [Int64: [SupportContract]]

        init(_ contracts: [SupportContract]) {
            var byID: [Int64: SupportContract] = [:]
            var byItem: [Int64: [SupportContract]] = [:]
            var byCustomer: [Int64: [SupportContract]] = [:]
            var byOrgUnit: [Int64: [SupportContract]] = [:]
            for contract in contracts.sorted(by: { $0.id < $1.id }) {
                byID[contract.id] = contract
                switch contract.scope {
                case .item(let id): byItem[id, default: []].append(contract)
                case .customer(let id): byCustomer[id, default: []].append(contract)
                case .orgUnit(let id): byOrgUnit[id, default: []].append(contract)
                }
            }
            self.byID = byID
            self.byItem = byItem
            self.byCustomer = byCustomer
            self.byOrgUnit = byOrgUnit
        }

        func contract(_ id: Int64, ticket: Int64) throws -> SupportContract {
            guard let contract = byID[id] else {
                throw BillingError.invalidInput("ticket #\(ticket)'s time was charged to contract #\(id), which no longer exists")
            }
            return contract
        }

        /// The minutes `contract` can still take for work on `date` (Int64.max when unlimited),
        /// or nil when it cannot take any: ended by staff, past its end, or used up.
        func available(_ contract: SupportContract, on date: LocalDate, _ ledger: Ledger) throws -> Int64? {
            guard contract.chargeable else { return nil }
            if let defect = contract.defect { throw BillingError.invalidInput(defect + "; fix the contract") }
            if let end = contract.end, date >= end { return nil }
            guard let left = contract.minutesLeft(used: ledger.minutes(contract.id)) else { return Int64.max }
            return left > 0 ? left : nil
        }

        /// The contract a request's time goes to, in LiveTime's order, or nil when there is none.
        func find(on date: LocalDate, item: Int64?, customer: Int64, orgUnits: [Int64], _ ledger: Ledger) throws -> Int64? {
            var scopes: [[SupportContract]] = []
            if let item { scopes.append(byItem[item] ?? []) }
            scopes.append(byCustomer[customer] ?? [])
            for unit in orgUnits { scopes.append(byOrgUnit[unit] ?? []) }

            for scope in scopes {
                var best: SupportContract?
                for contract in scope where contract.startsOn <= date {
                    guard try available(contract, on: date, ledger) != nil else { continue }
                    if best.map({ Catalogue.endsFirst(contract, $0) }) ?? true { best = contract }
                }
                if let best { return best.id }
            }
            for scope in scopes {
                var best: SupportContract?
                for contract in scope where date < contract.startsOn {
                    guard try available(contract, on: date, ledger) != nil else { continue }
                    if best.map({ (contract.startsOn, contract.id) < ($0.startsOn, $0.id) }) ?? true { best = contract }
                }
                if let best { return best.id }
            }
            return nil
        }

        /// Valid contracts are used in the order they run out by date: open-ended ones last.
        static func endsFirst(_ a: SupportContract, _ b: SupportContract) -> Bool {
            switch (a.end, b.end) {
            case let (x?, y?) where x != y: return x < y
            case (_?, nil): return true
            case (nil, _?): return false
            default: return (a.startsOn, a.id) < (b.startsOn, b.id)
            }
        }
    }

    /// Minutes used per contract as the plan goes, with a journal to undo a customer that is
    /// left out.
    private struct Ledger {
        private(set) var used: [Int64: Int64]
        private var journal: [(id: Int64, minutes: Int64)] = []

        init(_ contracts: [SupportContract]) {
            used = Dictionary(contracts.map { ($0.id, $0.minutesUsed) }, uniquingKeysWith: { first, _ in first })
        }

        var mark: Int { journal.count }

        func minutes(_ id: Int64) -> Int64 { used[id] ?? 0 }

        mutating func add(_ id: Int64, _ minutes: Int64) {
            used[id, default: 0] += minutes
            journal.append((id, minutes))
        }

        mutating func rollback(to mark: Int) {
            while journal.count > mark {
                let last = journal.removeLast()
                used[last.id, default: 0] -= last.minutes
            }
        }
    }
}
