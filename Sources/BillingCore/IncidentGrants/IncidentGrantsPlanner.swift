/// Plans one customer's incident grants and their consumption (DESIGN.md §4, incident-grants).
///
/// Grants:
/// - an active service on an `incidents` plan grants `incidents_per_period` time-limited
///   incidents for each anniversary period that has started (start <= the local as-of date) and
///   starts before `ends_on`, valid for that period; `period_months = 0` grants them once, as
///   lifetime incidents from `starts_on`:
///
///       starts_on Apr 11, monthly, ends_on Jul 11, as of Jun 20:
///       |--- Apr 11..May 10 ---|--- May 11..Jun 10 ---|--- Jun 11..Jul 10 ---|
///       granted                granted                granted (started Jun 11 <= Jun 20)
///
/// - `on_registration` lifetime incidents once, valid from the local registration date;
/// - `on_first_payment` lifetime incidents for the first completed payment; revoked when that
///   payment is reversed, after which the next completed payment counts as first;
/// - per whole `step` of completed funds (payments without an invoice, in the customer's
///   currency) `incidents` lifetime incidents, the remainder carried over to the next payment.
///   A funds grant is revoked when its payment is reversed, or when the remaining funds no
///   longer cover the active funds grants (newest first); what the remaining funds still cover
///   is granted again.
///
/// Consumption: each ticket that requires an incident (oldest first) uses one incident valid on
/// its opening date: time-limited grants first (earliest `valid_until`, then oldest), then
/// lifetime grants (oldest first); never a revoked grant, an expired one or one with nothing
/// left. A ticket whose `requires_incident` was cleared returns its incident. A use whose grant
/// is revoked is returned too, and its ticket is served again from the grants left (or listed
/// as unserved): so the active uses never exceed what the active grants hold.
public enum IncidentGrantsPlanner {
    public static func plan(_ input: IncidentGrantsInput, rules: IncidentGrantRules) throws -> IncidentGrantsPlan {
        try validate(input)
        var planner = Planning(input: input, rules: rules)
        planner.planServiceGrants()
        planner.planRegistration()
        planner.planFirstPayment()
        try planner.planFunds()
        planner.consume()
        return planner.plan
    }

    /// Data that cannot be right: the customer is skipped with the reason, nothing is written.
    static func validate(_ input: IncidentGrantsInput) throws {
        for service in input.services {
            if let end = service.endsOn, end < service.startsOn {
                throw BillingError.invalidInput("service \(service.id) ends on \(end) before it starts on \(service.startsOn): fix its term (ends_on is exclusive)")
            }
        }
        let tickets = input.tickets + input.activeUses.compactMap(\.ticket)
        for ticket in tickets {
            if let other = ticket.serviceCustomerID, other != input.customerID, let service = ticket.serviceID {
                throw BillingError.invalidInput("ticket \(ticket.id) names service \(service), which belongs to customer \(other): fix the ticket's service")
            }
        }
    }

    /// Source keys (prefix `ig:`). Account grants and uses carry a sequence number, so that a
    /// revoked grant or a returned use never blocks the next one.
    public enum Key {
        public static func period(service: Int64, start: LocalDate) -> String { "ig:period:\(service):\(start)" }
        public static func planLifetime(service: Int64) -> String { "ig:plan-lifetime:\(service)" }
        public static func registration(customer: Int64) -> String { "ig:registration:\(customer)" }
        public static func firstPayment(customer: Int64, sequence: Int) -> String { "ig:first-payment:\(customer):\(sequence)" }
        public static func funds(customer: Int64, sequence: Int) -> String { "ig:funds:\(customer):\(sequence)" }
        public static func use(ticket: Int64, sequence: Int) -> String { "ig:use:\(ticket):\(sequence)" }
        public static func revoked(grant: Int64) -> String { "ig:revoked:\(grant)" }
        public static func returned(use: Int64) -> String { "ig:returned:\(use)" }
    }

    private struct Planning {
        let input: IncidentGrantsInput
        let rules: IncidentGrantRules
        let taken: Set<String>
        var plan = IncidentGrantsPlan()
        var revoked: Set<Int64>

        init(input: IncidentGrantsInput, rules: IncidentGrantRules) {
            self.input = input
            self.rules = rules
            taken = Set(input.grants.map(\.sourceKey))
            revoked = Set(input.grants.filter(\.revoked).map(\.id))
        }

        mutating func add(_ grant: IncidentGrantsPlan.NewGrant) {
            guard !taken.contains(grant.sourceKey) else { return }
            plan.grants.append(grant)
        }

        /// The first free key of a numbered family, counting from the grants already made.
        func nextKey(after count: Int, _ make: (Int) -> String) -> String {
            var sequence = count + 1
            while taken.contains(make(sequence)) || plan.grants.contains(where: { $0.sourceKey == make(sequence) }) { sequence += 1 }
            return make(sequence)
        }

        mutating func revoke(_ grant: IncidentGrantsInput.Grant, reason: String) {
            guard !revoked.contains(grant.id) else { return }
            revoked.insert(grant.id)
            plan.revocations.append(IncidentGrantsPlan.Revocation(
                grantID: grant.id, sourceKey: grant.sourceKey, source: grant.source, quantity: grant.quantity,
                used: grant.activeUses, paymentID: grant.paymentID, reason: reason
            ))
        }

        func paymentReason(_ grant: IncidentGrantsInput.Grant) -> String? {
            let payment = grant.paymentID.map { "payment \($0)" } ?? "its payment"
            switch grant.payment {
            case .reversed: return "\(payment) was reversed"
            case .missing: return "\(payment) no longer exists"
            case .completed, .none: return nil
            }
        }

        mutating func planServiceGrants() {
            for service in input.services.sorted(by: { $0.id < $1.id }) {
                guard service.incidentsPerPeriod > 0, service.startsOn <= input.localAsOf else { continue }
                if let end = service.endsOn, end <= service.startsOn { continue }
                if service.periodMonths == 0 {
                    add(.init(sourceKey: Key.planLifetime(service: service.id), source: .planLifetime, serviceID: service.id,
                              quantity: service.incidentsPerPeriod, lifetime: true, validFrom: service.startsOn))
                    continue
                }
                let started = DateRange(start: service.startsOn, end: input.localAsOf.adding(days: 1))
                for period in BillingPeriod.anniversaries(anchor: service.startsOn, months: service.periodMonths, startingIn: started, termEnd: service.endsOn) {
                    add(.init(sourceKey: Key.period(service: service.id, start: period.range.start), source: .planPeriod, serviceID: service.id,
                              quantity: service.incidentsPerPeriod, lifetime: false, validFrom: period.range.start, validUntil: period.range.end))
                }
            }
        }

        mutating func planRegistration() {
            guard rules.onRegistration > 0, let registeredOn = input.registeredOn else { return }
            add(.init(sourceKey: Key.registration(customer: input.customerID), source: .registration,
                      quantity: rules.onRegistration, lifetime: true, validFrom: registeredOn))
        }

        mutating func planFirstPayment() {
            let made = input.grants.filter { $0.source == .firstPayment }
            for grant in made where !grant.revoked {
                if let reason = paymentReason(grant) { revoke(grant, reason: reason) }
            }
            // One first-payment grant at a time: a later payment only counts once the grant of the
            // earlier one is revoked.
            guard !made.contains(where: { !revoked.contains($0.id) }), rules.onFirstPayment > 0, let payment = input.firstPayment else { return }
            let key = nextKey(after: made.count) { Key.firstPayment(customer: input.customerID, sequence: $0) }
            add(.init(sourceKey: key, source: .firstPayment, quantity: rules.onFirstPayment, lifetime: true,
                      validFrom: payment.receivedOn, paymentID: payment.id))
        }

        mutating func planFunds() throws {
            let made = input.grants.filter { $0.source == .funds }
            for grant in made where !grant.revoked {
                if let reason = paymentReason(grant) { revoke(grant, reason: reason) }
            }
            // The active funds grants must stay covered by the completed funds.
            let covering = made.filter { !revoked.contains($0.id) && $0.fundsCurrency == input.currency && $0.fundsAmount != nil }
            var granted: Int64 = 0
            for grant in covering { granted = try add(granted, grant.fundsAmount ?? 0, "funds granted") }
            let newestFirst = covering.sorted { ($0.validFrom, $0.id) > ($1.validFrom, $1.id) }
            for grant in newestFirst where granted > input.fundsTotal {
                let currency = input.currency.rawValue
                revoke(grant, reason: "the completed funds (\(input.fundsTotal) \(currency)) no longer cover the funds grants (\(granted) \(currency))")
                granted -= grant.fundsAmount ?? 0
            }

            guard rules.fundsIncidents > 0 else { return }
            let own = input.fundsPayments.filter { $0.currency == input.currency }
            let foreign = input.fundsPayments.filter { $0.currency != input.currency }
            if !foreign.isEmpty {
                let list = foreign.map { "payment \($0.id) (\($0.currency))" }.joined(separator: ", ")
                plan.notices.append("customer \(input.customerID): funds not in the customer's currency \(input.currency) earn no incidents: \(list)")
            }
            guard let step = rules.fundsStep[input.currency] else {
                if !own.isEmpty {
                    plan.notices.append("customer \(input.customerID): incident-grants.toml has no [funds] step for \(input.currency): its funds earn no incidents")
                }
                return
            }
            var total: Int64 = 0
            for payment in own { total = try add(total, payment.amount, "funds received") }
            guard total > granted else { return }
            let steps = (total - granted) / step
            guard steps > 0 else { return }
            // Each new step is attributed to the payment that completed it: the walk maps the
            // funds already granted onto the first payments, the remainder carries over.
            var prefix: Int64 = 0
            var reached: Int64 = 0
            var sequence = made.count
            for payment in own {
                prefix = try add(prefix, payment.amount, "funds received")
                guard prefix > granted else { continue }
                let now = min(steps, (prefix - granted) / step)
                guard now > reached else { continue }
                let newSteps = now - reached
                reached = now
                let (incidents, overflow) = newSteps.multipliedReportingOverflow(by: Int64(rules.fundsIncidents))
                guard !overflow, incidents <= Int64(Int32.max) else {
                    throw BillingError.invalidInput("payment \(payment.id) would grant more than \(Int32.max) incidents: check its amount and the [funds] step")
                }
                let key = nextKey(after: sequence) { Key.funds(customer: input.customerID, sequence: $0) }
                sequence += 1
                add(.init(sourceKey: key, source: .funds, quantity: Int(incidents), lifetime: true, validFrom: payment.receivedOn,
                          paymentID: payment.id, fundsAmount: newSteps * step, fundsCurrency: input.currency))
            }
        }

        private func add(_ a: Int64, _ b: Int64, _ what: String) throws -> Int64 {
            let (sum, overflow) = a.addingReportingOverflow(b)
            if overflow { throw BillingError.overflow(what) }
            return sum
        }

        /// Returns the uses that must go back, then serves the tickets oldest first.
        mutating func consume() {
            typealias Ref = IncidentGrantsPlan.GrantRef
            var remaining: [Ref: Int] = [:]
            for grant in input.grants where !revoked.contains(grant.id) {
                remaining[.existing(grant.id)] = grant.quantity - grant.activeUses
            }
            for grant in plan.grants { remaining[.planned(grant.sourceKey)] = grant.quantity }

            var queue = input.tickets
            for use in input.activeUses.sorted(by: { $0.id < $1.id }) {
                if use.ticket == nil || !use.ticketRequiresIncident {
                    plan.returns.append(.init(useID: use.id, grantID: use.grantID, ticketID: use.ticketID,
                                              reason: use.ticket == nil ? .ticketGone : .noLongerRequired))
                    if !revoked.contains(use.grantID) { remaining[.existing(use.grantID), default: 0] += 1 }
                } else if revoked.contains(use.grantID), let ticket = use.ticket {
                    plan.returns.append(.init(useID: use.id, grantID: use.grantID, ticketID: use.ticketID, reason: .grantRevoked))
                    queue.append(ticket)
                }
            }

            struct Candidate {
                let ref: Ref
                let lifetime: Bool
                let validFrom: LocalDate
                let validUntil: LocalDate?
                let id: Int64
                let key: String

                func isValid(on date: LocalDate) -> Bool {
                    validFrom <= date && (validUntil.map { date < $0 } ?? true)
                }

                /// Time-limited first (earliest valid_until, then oldest), then lifetime (oldest
                /// first); grants already recorded before the ones this run makes.
                static func precedes(_ a: Candidate, _ b: Candidate) -> Bool {
                    if a.lifetime != b.lifetime { return !a.lifetime }
                    if let x = a.validUntil, let y = b.validUntil, x != y { return x < y }
                    if a.validFrom != b.validFrom { return a.validFrom < b.validFrom }
                    if a.id != b.id { return a.id < b.id }
                    return a.key < b.key
                }
            }
            var candidates: [Candidate] = input.grants.filter { !revoked.contains($0.id) }.map {
                Candidate(ref: .existing($0.id), lifetime: $0.lifetime, validFrom: $0.validFrom, validUntil: $0.validUntil, id: $0.id, key: $0.sourceKey)
            }
            candidates += plan.grants.map {
                Candidate(ref: .planned($0.sourceKey), lifetime: $0.lifetime, validFrom: $0.validFrom, validUntil: $0.validUntil, id: .max, key: $0.sourceKey)
            }
            candidates.sort(by: Candidate.precedes)

            for ticket in queue.sorted(by: { ($0.openedAt, $0.id) < ($1.openedAt, $1.id) }) {
                guard let chosen = candidates.first(where: { remaining[$0.ref, default: 0] > 0 && $0.isValid(on: ticket.openedOn) }) else {
                    plan.unserved.append(.init(ticketID: ticket.id, openedOn: ticket.openedOn))
                    continue
                }
                remaining[chosen.ref, default: 0] -= 1
                plan.uses.append(.init(sourceKey: Key.use(ticket: ticket.id, sequence: ticket.useCount + 1), grant: chosen.ref,
                                       ticketID: ticket.id, usedAt: ticket.openedAt))
            }
        }
    }
}
