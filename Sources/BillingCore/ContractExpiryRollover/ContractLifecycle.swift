/// Contract status transitions (DESIGN.md §4): a pending contract becomes active when its
/// `starts_on` has come; a pending or active one expires when its end has passed or its minutes
/// are used up (time_limited: whichever first). Status only moves forward.
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
        }

        public let contract: SupportContract
        public let from: SupportContract.Status
        public let to: SupportContract.Status
        public let reason: Reason
        public let minutesUsed: Int64
        /// The local as-of date the rule compared with (nil for a usage expiry).
        public let localAsOf: LocalDate?

        /// `contract_activated` or `contract_expired`.
        public var event: String { to == .active ? "contract_activated" : "contract_expired" }

        /// Once per contract and the facts that moved it: a contract staff reopen and that
        /// expires again on other terms is recorded again.
        public var sourceKey: String {
            switch reason {
            case .started: return "ce:activated:\(contract.id):\(contract.startsOn)"
            case .ended: return "ce:expired:\(contract.id):ends:\(contract.end.map(String.init(describing:)) ?? "-")"
            case .usedUp: return "ce:expired:\(contract.id):minutes:\(contract.limit.map(String.init) ?? "-")"
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
    public static func transition(of contract: SupportContract, earliest: LocalDate, latest: LocalDate) -> Transition? {
        guard contract.defect == nil, contract.status != .expired else { return nil }
        if let end = contract.end, end <= earliest {
            return Transition(contract: contract, from: contract.status, to: .expired, reason: .ended, minutesUsed: contract.minutesUsed, localAsOf: earliest)
        }
        if let limit = contract.limit, contract.minutesUsed >= limit {
            return Transition(contract: contract, from: contract.status, to: .expired, reason: .usedUp, minutesUsed: contract.minutesUsed, localAsOf: nil)
        }
        if contract.status == .pending, contract.startsOn <= latest {
            return Transition(contract: contract, from: .pending, to: .active, reason: .started, minutesUsed: contract.minutesUsed, localAsOf: latest)
        }
        return nil
    }

    /// The expiry of a contract whose minutes a batch's charges used up.
    public static func usedUp(_ contract: SupportContract, minutesUsed: Int64) -> Transition? {
        guard contract.status != .expired, let limit = contract.limit, minutesUsed >= limit else { return nil }
        return Transition(contract: contract, from: contract.status, to: .expired, reason: .usedUp, minutesUsed: minutesUsed, localAsOf: nil)
    }
}
