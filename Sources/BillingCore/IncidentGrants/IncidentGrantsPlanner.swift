/// Plans one customer's incident grants and their consumption (docs/design.md §8, §9,
/// incident-grants). The target is a pure function of today's inputs; the plan is the difference
/// from what is recorded: grants to make, grants to revoke, uses to return and uses to make.
///
/// Grants (the target):
/// - an active service on an `incidents` plan grants `incidents_per_period` time-limited
///   incidents for each anniversary period that has started (start <= the local as-of date) and
///   starts before `ends_on`, valid for that period; `period_months = 0` grants them once, as
///   lifetime incidents from `starts_on`:
///
///       starts_on Apr 11, monthly, ends_on Jul 11, as of Jun 20:
///       |--- Apr 11..May 10 ---|--- May 11..Jun 10 ---|--- Jun 11..Jul 10 ---|
///       granted                granted                granted (started Jun 11 <= Jun 20)
///
///       ends_on corrected to Jun 11 afterwards: the Jun 11 grant is no longer due -> revoked
///       (grant_revoked); a ticket that used it is served again from another grant or listed.
///
/// - `on_registration` lifetime incidents once, valid from the local registration date;
/// - `on_first_payment` lifetime incidents for the first completed payment; when that payment
///   is reversed (or another, earlier one appears) the grant is revoked and the first completed
///   payment now gets one;
/// - per whole `step` of completed funds (payments without an invoice, in the customer's
///   currency) `incidents` lifetime incidents, each step attributed to the payment that
///   completed it, the remainder carried over. When the payments change (one reversed, deleted,
///   reduced, or an earlier one added), grants that no longer match the walk over today's
///   payments are revoked and the missing ones granted.
///
/// A recorded grant matches a target grant when service, quantity, validity, payment and funds
/// amount are equal; recorded grants that match nothing are revoked (those made by a run with a
/// later as-of, valid from after this as-of date, are left alone), targets that match nothing are
/// granted under their key, or the key with the next free number (`...:2`) when a revoked grant
/// holds it. Manual grants are staff's and never judged. A switch set to 0 in
/// jobs/incident-grants.toml revokes nothing of its kind except for a reversed or deleted payment.
///
/// Cut-over (docs/operations.md): nothing dated before it is granted or used, as if the data
/// began on it:
///
///     cut-over Jun 1, monthly from Apr 11, as of Jun 20:
///     |--- Apr 11..May 10 ---|--- May 11..Jun 10 ---|--- Jun 11..Jul 10 ---|
///     not granted            not granted (started    granted
///                            May 11 < Jun 1)
///     a ticket opened May 30 uses nothing and is not listed; one opened Jun 12 uses the Jun 11 grant
///
/// Consumption (the target): each ticket that requires an incident, opened by as-of (oldest
/// first), uses one incident valid on its opening date: time-limited grants first (earliest
/// `valid_until`, then oldest), then lifetime grants (oldest first), among the grants the target
/// keeps; a ticket keeps the grant it holds when that grant is as good as the first choice. Uses
/// that differ from the target are returned (`incident_returned`, with the reason) and the
/// target's uses made; tickets with no incident available are listed.
public enum IncidentGrantsPlanner {
    /// Which corrections are planned: everything in production; the convergence property test
    /// switches revocation of grants no longer due off to show it catches its absence.
    public struct Enabled: OptionSet, Sendable, Hashable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        /// Revoke service grants for periods no longer due.
        public static let revokeUndue = Enabled(rawValue: 1)
        public static let all: Enabled = [.revokeUndue]
    }

    public static func plan(_ input: IncidentGrantsInput, rules: IncidentGrantRules, enabled: Enabled = .all) throws -> IncidentGrantsPlan {
        try validate(input)
        var planner = Planning(input: input, rules: rules, enabled: enabled)
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
        /// The events' keys name the grant or use by its own source key, not its id: ids differ
        /// between two copies of the same data (a rolled-back `simulate`, a clean replay), keys
        /// do not. `revoked(grant:)` and `returned(use:)` are the keys of rows made before.
        public static func revoked(grantSourceKey: String) -> String { "ig:revoked:\(grantSourceKey.dropPrefix("ig:"))" }
        public static func returned(useSourceKey: String) -> String { "ig:returned:\(useSourceKey.dropPrefix("ig:"))" }
        public static func revoked(grant: Int64) -> String { "ig:revoked:\(grant)" }
        /// `base`, or `base:n` with n = 2, 3, ... for the same grant made again after a revocation.
        public static func numbered(_ base: String, _ number: Int) -> String { number <= 1 ? base : "\(base):\(number)" }
        public static func returned(use: Int64) -> String { "ig:returned:\(use)" }
    }

    private struct Planning {
        let input: IncidentGrantsInput
        let rules: IncidentGrantRules
        let enabled: Enabled
        let taken: Set<String>
        var plan = IncidentGrantsPlan()
        var revoked: Set<Int64>

        init(input: IncidentGrantsInput, rules: IncidentGrantRules, enabled: Enabled) {
            self.input = input
            self.rules = rules
            self.enabled = enabled
            taken = Set(input.grants.map(\.sourceKey))
            revoked = Set(input.grants.filter(\.revoked).map(\.id))
        }

        /// Whether `date` lies before the cut-over (docs/operations.md).
        func beforeCutover(_ date: LocalDate) -> Bool { input.cutover.map { date < $0 } ?? false }

        func isTaken(_ key: String) -> Bool { taken.contains(key) || plan.grants.contains { $0.sourceKey == key } }

        /// `base`, or its first free numbered form.
        func freeKey(_ base: String) -> String {
            var number = 1
            while isTaken(Key.numbered(base, number)) { number += 1 }
            return Key.numbered(base, number)
        }

        /// The first free key of a numbered family, counting from the grants already made.
        func nextKey(after count: Int, _ make: (Int) -> String) -> String {
            var sequence = count + 1
            while isTaken(make(sequence)) { sequence += 1 }
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

        /// A target grant, without its key yet.
        struct Wanted {
            let base: String
            /// For the numbered families (funds): the key takes the family's next free number.
            var family: ((Int) -> String)? = nil
            let grant: (String) -> IncidentGrantsPlan.NewGrant
            let serviceID: Int64?
            let quantity: Int
            let validFrom: LocalDate
            let validUntil: LocalDate?
            let paymentID: Int64?
            let fundsAmount: Int64?
        }

        /// Keeps the recorded grants that match a target, revokes the others (`reason` says why;
        /// grants valid from after the as-of date are left alone), and grants the targets no
        /// recorded grant matches.
        mutating func reconcile(_ made: [IncidentGrantsInput.Grant], _ wanted: [Wanted], revoke allowed: Bool, reason: (IncidentGrantsInput.Grant) -> String) {
            var open = wanted
            for grant in made where !revoked.contains(grant.id) {
                if let index = open.firstIndex(where: {
                    $0.serviceID == grant.serviceID && $0.quantity == grant.quantity && $0.validFrom == grant.validFrom
                        && $0.validUntil == grant.validUntil && $0.paymentID == grant.paymentID && $0.fundsAmount == grant.fundsAmount
                }) {
                    open.remove(at: index)
                } else if let payment = paymentReason(grant) {
                    revoke(grant, reason: payment)
                } else if allowed, grant.validFrom <= input.localAsOf {
                    revoke(grant, reason: reason(grant))
                }
            }
            for target in open {
                plan.grants.append(target.grant(target.family.map { nextKey(after: 0, $0) } ?? freeKey(target.base)))
            }
        }

        mutating func planServiceGrants() {
            var wanted: [Wanted] = []
            for service in input.services.sorted(by: { $0.id < $1.id }) {
                guard service.incidentsPerPeriod > 0, service.startsOn <= input.localAsOf else { continue }
                if let end = service.endsOn, end <= service.startsOn { continue }
                if service.periodMonths == 0 {
                    guard !beforeCutover(service.startsOn) else { continue }
                    wanted.append(Wanted(base: Key.planLifetime(service: service.id), grant: {
                        .init(sourceKey: $0, source: .planLifetime, serviceID: service.id, quantity: service.incidentsPerPeriod,
                              lifetime: true, validFrom: service.startsOn)
                    }, serviceID: service.id, quantity: service.incidentsPerPeriod, validFrom: service.startsOn, validUntil: nil,
                    paymentID: nil, fundsAmount: nil))
                    continue
                }
                let started = DateRange(start: service.startsOn, end: input.localAsOf.adding(days: 1))
                for period in BillingPeriod.anniversaries(anchor: service.startsOn, months: service.periodMonths, startingIn: started, termEnd: service.endsOn) {
                    let range = period.range
                    guard !beforeCutover(range.start) else { continue }
                    wanted.append(Wanted(base: Key.period(service: service.id, start: range.start), grant: {
                        .init(sourceKey: $0, source: .planPeriod, serviceID: service.id, quantity: service.incidentsPerPeriod,
                              lifetime: false, validFrom: range.start, validUntil: range.end)
                    }, serviceID: service.id, quantity: service.incidentsPerPeriod, validFrom: range.start, validUntil: range.end,
                    paymentID: nil, fundsAmount: nil))
                }
            }
            let made = input.grants.filter { $0.source == .planPeriod || $0.source == .planLifetime }
            let services = Set(input.services.map(\.id))
            reconcile(made, wanted, revoke: enabled.contains(.revokeUndue)) { grant in
                guard let service = grant.serviceID, services.contains(service) else {
                    return "service \(grant.serviceID.map(String.init) ?? "-") is no longer an active service on an incidents plan"
                }
                return "its period is no longer due under service \(service)'s corrected term or plan"
            }
        }

        mutating func planRegistration() {
            var wanted: [Wanted] = []
            let quantity = rules.onRegistration
            if quantity > 0, let registeredOn = input.registeredOn, !beforeCutover(registeredOn) {
                wanted.append(Wanted(base: Key.registration(customer: input.customerID), grant: {
                    .init(sourceKey: $0, source: .registration, quantity: quantity, lifetime: true, validFrom: registeredOn)
                }, serviceID: nil, quantity: quantity, validFrom: registeredOn, validUntil: nil, paymentID: nil, fundsAmount: nil))
            }
            reconcile(input.grants.filter { $0.source == .registration }, wanted, revoke: rules.onRegistration > 0) { _ in
                "the customer's registration date changed"
            }
        }

        mutating func planFirstPayment() {
            let made = input.grants.filter { $0.source == .firstPayment }
            var wanted: [Wanted] = []
            let quantity = rules.onFirstPayment
            // A first payment received before the cut-over earned its grant in the other system;
            // no later payment is the first.
            if quantity > 0, let payment = input.firstPayment, !beforeCutover(payment.receivedOn) {
                let customer = input.customerID
                wanted.append(Wanted(base: "ig:first-payment:\(customer)", family: { Key.firstPayment(customer: customer, sequence: $0) }, grant: {
                    .init(sourceKey: $0, source: .firstPayment, quantity: quantity, lifetime: true,
                          validFrom: payment.receivedOn, paymentID: payment.id)
                }, serviceID: nil, quantity: quantity, validFrom: payment.receivedOn, validUntil: nil, paymentID: payment.id, fundsAmount: nil))
            }
            reconcile(made, wanted, revoke: rules.onFirstPayment > 0) { grant in
                "payment \(grant.paymentID.map(String.init) ?? "-") is no longer the first completed payment"
            }
        }

        mutating func planFunds() throws {
            let made = input.grants.filter { $0.source == .funds }
            // Funds received before the cut-over earned their incidents in the other system.
            let own = input.fundsPayments.filter { $0.currency == input.currency && !beforeCutover($0.receivedOn) }
            if rules.fundsIncidents > 0 {
                let foreign = input.fundsPayments.filter { $0.currency != input.currency }
                if !foreign.isEmpty {
                    let list = foreign.map { "payment \($0.id) (\($0.currency))" }.joined(separator: ", ")
                    plan.notices.append("customer \(input.customerID): funds not in the customer's currency \(input.currency) earn no incidents: \(list)")
                }
            }
            let step = rules.fundsStep[input.currency]
            if rules.fundsIncidents > 0, step == nil, !own.isEmpty {
                plan.notices.append("customer \(input.customerID): incident-grants.toml has no [funds] step for \(input.currency): its funds earn no incidents")
            }
            // The walk over today's completed funds: each whole step is attributed to the payment
            // that completed it, the remainder carries over.
            var wanted: [Wanted] = []
            if rules.fundsIncidents > 0, let step {
                var prefix: Int64 = 0
                var reached: Int64 = 0
                for payment in own {
                    prefix = try add(prefix, payment.amount, "funds received")
                    let now = prefix / step
                    guard now > reached else { continue }
                    let newSteps = now - reached
                    reached = now
                    let (incidents, overflow) = newSteps.multipliedReportingOverflow(by: Int64(rules.fundsIncidents))
                    guard !overflow, incidents <= Int64(Int32.max) else {
                        throw BillingError.invalidInput("payment \(payment.id) would grant more than \(Int32.max) incidents: check its amount and the [funds] step")
                    }
                    let amount = newSteps * step
                    let currency = input.currency
                    let base = "ig:funds:\(input.customerID)"
                    wanted.append(Wanted(base: base, grant: {
                        .init(sourceKey: $0, source: .funds, quantity: Int(incidents), lifetime: true, validFrom: payment.receivedOn,
                              paymentID: payment.id, fundsAmount: amount, fundsCurrency: currency)
                    }, serviceID: nil, quantity: Int(incidents), validFrom: payment.receivedOn, validUntil: nil, paymentID: payment.id, fundsAmount: amount))
                }
            }
            // Funds grants in another currency than the customer's (its currency changed) are
            // judged by their payment only.
            let judged = made.filter { $0.fundsCurrency == nil || $0.fundsCurrency == input.currency }
            for grant in made where !judged.contains(where: { $0.id == grant.id }) && !revoked.contains(grant.id) {
                if let reason = paymentReason(grant) { revoke(grant, reason: reason) }
            }
            let total = own.reduce(Int64(0)) { $0 &+ $1.amount }
            let customer = input.customerID
            let currency = input.currency
            let targets = wanted.map { target in
                // Keys of the family are numbered per grant: a target takes the next free number.
                Wanted(base: target.base, family: { Key.funds(customer: customer, sequence: $0) }, grant: target.grant,
                       serviceID: target.serviceID, quantity: target.quantity, validFrom: target.validFrom,
                       validUntil: target.validUntil, paymentID: target.paymentID, fundsAmount: target.fundsAmount)
            }
            reconcile(judged, targets, revoke: rules.fundsIncidents > 0) { _ in
                "the completed funds (\(total) \(currency)) no longer earn this grant: payments changed since it was made"
            }
        }

        private func add(_ a: Int64, _ b: Int64, _ what: String) throws -> Int64 {
            let (sum, overflow) = a.addingReportingOverflow(b)
            if overflow { throw BillingError.overflow(what) }
            return sum
        }

        /// Serves every ticket that requires an incident from the grants the target keeps
        /// (oldest ticket first), then returns the uses that differ and makes the missing ones.
        mutating func consume() {
            typealias Ref = IncidentGrantsPlan.GrantRef
            // A grant's uses that the input does not list (none, when the store loads every use)
            // stay where they are and keep their incidents.
            var listed: [Int64: Int] = [:]
            for use in input.activeUses { listed[use.grantID, default: 0] += 1 }
            var remaining: [Ref: Int] = [:]
            for grant in input.grants where !revoked.contains(grant.id) {
                remaining[.existing(grant.id)] = grant.quantity - max(0, grant.activeUses - (listed[grant.id] ?? 0))
            }
            for grant in plan.grants { remaining[.planned(grant.sourceKey)] = grant.quantity }

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

                /// Grants equally good for any ticket: the same kind and validity.
                func sameClass(_ other: Candidate) -> Bool {
                    lifetime == other.lifetime && validFrom == other.validFrom && validUntil == other.validUntil
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

            // What each ticket holds now (a ticket holds one use at a time; extra ones go back).
            var holding: [Int64: IncidentGrantsInput.ActiveUse] = [:]
            var extra: [IncidentGrantsInput.ActiveUse] = []
            for use in input.activeUses.sorted(by: { $0.id < $1.id }) {
                if holding[use.ticketID] == nil { holding[use.ticketID] = use } else { extra.append(use) }
            }

            // A use made when its ticket had another opened_at (the ticket was re-dated).
            func stale(_ use: IncidentGrantsInput.ActiveUse) -> Bool {
                guard let usedAt = use.usedAt, let ticket = use.ticket else { return false }
                return usedAt != ticket.openedAt
            }

            // The target: oldest ticket first; a ticket keeps its grant when it is as good as the
            // first choice (so equal grants are not swapped back and forth).
            var target: [Int64: Ref] = [:]
            // The tickets that require an incident: those listed, and those holding a use whose
            // ticket still requires one.
            // Tickets opened before the cut-over used their incident in the other system.
            var requiring = Dictionary(input.tickets.filter { !beforeCutover($0.openedOn) }.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            for use in input.activeUses where use.ticketRequiresIncident {
                if let ticket = use.ticket, requiring[ticket.id] == nil, !beforeCutover(ticket.openedOn) { requiring[ticket.id] = ticket }
            }
            let tickets = requiring.values.sorted { ($0.openedAt, $0.id) < ($1.openedAt, $1.id) }
            for ticket in tickets {
                guard let first = candidates.first(where: { remaining[$0.ref, default: 0] > 0 && $0.isValid(on: ticket.openedOn) }) else {
                    plan.unserved.append(.init(ticketID: ticket.id, openedOn: ticket.openedOn))
                    continue
                }
                var chosen = first
                if let held = holding[ticket.id],
                   let kept = candidates.first(where: { $0.ref == .existing(held.grantID) }),
                   kept.sameClass(first), remaining[kept.ref, default: 0] > 0, kept.isValid(on: ticket.openedOn) {
                    chosen = kept
                }
                remaining[chosen.ref, default: 0] -= 1
                target[ticket.id] = chosen.ref
            }

            // The difference.
            var returning: [IncidentGrantsInput.ActiveUse] = extra
            for use in holding.values.sorted(by: { $0.id < $1.id }) {
                if target[use.ticketID] != .existing(use.grantID) || stale(use) { returning.append(use) }
            }
            let byTicket = Dictionary(tickets.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
            for use in returning.sorted(by: { $0.id < $1.id }) {
                let reason: IncidentGrantsPlan.ReturnReason
                if use.ticket == nil {
                    reason = .ticketGone
                } else if !use.ticketRequiresIncident || byTicket[use.ticketID] == nil {
                    reason = .noLongerRequired
                } else if revoked.contains(use.grantID) {
                    reason = .grantRevoked
                } else if stale(use) {
                    reason = .reDated
                } else {
                    reason = .reassigned
                }
                plan.returns.append(.init(useID: use.id, grantID: use.grantID, ticketID: use.ticketID, reason: reason, useSourceKey: use.sourceKey))
            }
            let returned = Set(returning.map(\.id))
            for ticket in tickets {
                guard let ref = target[ticket.id] else { continue }
                if let held = holding[ticket.id], !returned.contains(held.id) { continue }
                // useCount counts every use the ticket had, returned ones included: the next number is free.
                plan.uses.append(.init(sourceKey: Key.use(ticket: ticket.id, sequence: ticket.useCount + 1), grant: ref,
                                       ticketID: ticket.id, usedAt: ticket.openedAt))
            }
        }
    }
}

extension String {
    fileprivate func dropPrefix(_ prefix: String) -> Substring {
        hasPrefix(prefix) ? dropFirst(prefix.count) : self[...]
    }
}
