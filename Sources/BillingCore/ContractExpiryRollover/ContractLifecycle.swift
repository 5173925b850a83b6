/// Contract status transitions (docs/design.md §8, §9): a pending contract becomes active when its
/// `starts_on` has come; a pending or active one expires when its end has passed or its minutes
/// are used up, whichever first, whatever its kind. A contract this job expired becomes active
/// (pending, before its start) again when neither holds any more: minutes returned to it, or its
/// `ends_on` or `minutes_total` corrected (`contract_reactivated`):
///
///     600 min, ends_on Mar 1     Jan 10: 600 used -> expired (minutes)
///                                Jan 20: an entry of 90 min withdrawn -> 510 used, Mar 1 ahead
///                                -> active again; Mar 1 -> expired (ends_on)
///
/// One expired by staff never moves.
///
/// Contracts of an org unit, or of an item no single customer owns, serve customers in several
/// time zones. Such a contract becomes active when its start has come for the first of them (the
/// latest local date among them) and expires when its end has passed for all of them (the
/// earliest local date):
///
///     ends_on 2026-11-01, as of 2026-11-01T05:00Z:
///       Tokyo     2026-11-01  end passed
///       Warsaw    2026-11-01  end passed
///       New York  2026-10-31  still in the period  -> earliest 10-31: not expired yet
///
/// A contract serving no customer with a valid time zone uses the UTC date.
public enum ContractLifecycle {
    public struct Transition: Sendable, Hashable {
        public enum Reason: String, Sendable, Hashable {
            /// `starts_on` has come.
            case started = "starts_on"
            /// The end date (`ends_on`) has passed.
            case ended = "ends_on"
            /// `minutes_total` is used up.
            case usedUp = "minutes_used_up"
            /// It was expired by this job and neither its end nor its minutes hold any more.
            case reactivated = "minutes_left_and_end_ahead"
        }

        public let contract: SupportContract
        public let from: SupportContract.Status
        public let to: SupportContract.Status
        public let reason: Reason
        public let minutesUsed: Int64
        /// The local as-of date the rule compared with (nil for a usage expiry).
        public let localAsOf: LocalDate?
        /// How many times this job reactivated the contract before: keys after a reactivation
        /// carry it, so that expiring again on the same terms is recorded again.
        public var generation: Int = 0

        /// `contract_activated`, `contract_reactivated` or `contract_expired`.
        public var event: String {
            switch reason {
            case .started: return "contract_activated"
            case .reactivated: return "contract_reactivated"
            case .ended, .usedUp: return "contract_expired"
            }
        }

        /// Once per contract, generation and the facts that moved it: a contract staff reopen and
        /// that expires again on other terms is recorded again.
        public var sourceKey: String {
            let suffix = generation > 0 ? ":\(generation)" : ""
            switch reason {
            case .started: return "ce:activated:\(contract.id):\(contract.startsOn)\(suffix)"
            case .ended: return "ce:expired:\(contract.id):ends:\(contract.end.map(String.init(describing:)) ?? "-")\(suffix)"
            case .usedUp: return "ce:expired:\(contract.id):minutes:\(contract.limit.map(String.init) ?? "-")\(suffix)"
            case .reactivated: return "ce:reactivated:\(contract.id):\(generation + 1)"
            }
        }

        /// `audit_events.detail`: the facts that explain the change.
        public var detail: JSONValue {
            var fields: [(String, JSONValue)] = [
                ("from", .string(from.rawValue)), ("to", .string(to.rawValue)), ("reason", .string(reason.rawValue)),
                ("kind", .string(contract.kind.rawValue)), ("starts_on", .string(contract.startsOn.description)),
                ("ends_on", contract.endsOn.map { .string($0.description) } ?? .null),
                ("minutes_total", contract.minutesTotal.map { .int($0) } ?? .null),
                ("minutes_used", .int(minutesUsed)),
            ]
            if let localAsOf { fields.append(("local_as_of", .string(localAsOf.description))) }
            return .object(fields)
        }
    }

    /// The transition `contract` is due for, given the local as-of dates of the customers it
    /// serves (`earliest` <= `latest`), or nil. Contracts with a defect never move.
    /// `generation`: the contract's earlier reactivations by this job. An expired contract is
    /// reactivated only when `contract.chargeable` (this job expired it).
    public static func transition(of contract: SupportContract, earliest: LocalDate, latest: LocalDate, generation: Int = 0) -> Transition? {
        guard contract.defect == nil else { return nil }
        if contract.status == .expired {
            guard contract.chargeable else { return nil }
            let endAhead = contract.end.map { $0 > earliest } ?? true
            let minutesLeft = contract.limit.map { contract.minutesUsed < $0 } ?? true
            guard endAhead && minutesLeft else { return nil }
            var transition = Transition(contract: contract, from: .expired, to: contract.startsOn <= latest ? .active : .pending,
                                        reason: .reactivated, minutesUsed: contract.minutesUsed, localAsOf: earliest)
            transition.generation = generation
            return transition
        }
        var transition: Transition?
        if let end = contract.end, end <= earliest {
            transition = Transition(contract: contract, from: contract.status, to: .expired, reason: .ended, minutesUsed: contract.minutesUsed, localAsOf: earliest)
        } else if let limit = contract.limit, contract.minutesUsed >= limit {
            transition = Transition(contract: contract, from: contract.status, to: .expired, reason: .usedUp, minutesUsed: contract.minutesUsed, localAsOf: nil)
        } else if contract.status == .pending, contract.startsOn <= latest {
            transition = Transition(contract: contract, from: .pending, to: .active, reason: .started, minutesUsed: contract.minutesUsed, localAsOf: latest)
        }
        transition?.generation = generation
        return transition
    }

    /// The expiry of a contract whose minutes a batch's charges used up.
    public static func usedUp(_ contract: SupportContract, minutesUsed: Int64) -> Transition? {
        guard contract.status != .expired, let limit = contract.limit, minutesUsed >= limit else { return nil }
        return Transition(contract: contract, from: contract.status, to: .expired, reason: .usedUp, minutesUsed: minutesUsed, localAsOf: nil)
    }
}
