/// A support contract (LiveTime's customer contracts) as the planners see it: whom it covers,
/// the period and the hours its kind counts, and how many minutes it has used so far.
///
/// Every limit a contract sets counts, whatever its kind (docs/design.md §8: "12 hours,
/// used within a year"): it lapses when its `ends_on` has passed or its `minutes_total` is used
/// up, whichever comes first. The kind says which limits it must set:
///
///     subscription   [starts_on, ends_on)            a period; minutes_total optional (counted when set)
///     time_limited   [starts_on, ends_on) + hours    both required, whichever runs out first
///     support_hours  from starts_on + hours          hours required; ends_on optional (counted when set)
///
///     support_hours 600 min, ends_on Mar 1          subscription to Mar 1, minutes_total 120
///     Jan 1 ........ Mar 1 |                         Jan 1 ..... 120 used | ..... Mar 1
///     ^ valid, hours left  ^ expired (date)           ^ valid            ^ expired (minutes)
public struct SupportContract: Sendable, Hashable {
    /// Exactly one of item, customer or org unit (the schema's `contracts_one_scope`).
    public enum Scope: Hashable, Sendable {
        case item(Int64)
        case customer(Int64)
        case orgUnit(Int64)
    }

    public enum Kind: String, Hashable, Sendable, CaseIterable {
        case subscription
        case timeLimited = "time_limited"
        case supportHours = "support_hours"
    }

    public enum Status: String, Hashable, Sendable, CaseIterable {
        case pending, active, expired
    }

    public let id: Int64
    public let scope: Scope
    public let kind: Kind
    public let startsOn: LocalDate
    /// Exclusive, as stored.
    public let endsOn: LocalDate?
    public let minutesTotal: Int64?
    public let status: Status
    /// Minutes charged to it so far (`covered` and `rolled_over`; `ignored` time deducts nothing).
    public let minutesUsed: Int64
    /// False for a contract that someone other than this job set to `expired` (ended early by
    /// staff): it takes no time. A contract this job expired keeps covering late entries dated
    /// within its period, as long as it has minutes left.
    public let chargeable: Bool

    public init(id: Int64, scope: Scope, kind: Kind, startsOn: LocalDate, endsOn: LocalDate? = nil, minutesTotal: Int64? = nil, status: Status = .active, minutesUsed: Int64 = 0, chargeable: Bool = true) {
        self.id = id
        self.scope = scope
        self.kind = kind
        self.startsOn = startsOn
        self.endsOn = endsOn
        self.minutesTotal = minutesTotal
        self.status = status
        self.minutesUsed = minutesUsed
        self.chargeable = chargeable
    }

    /// The exclusive end date, or nil when it never lapses by date. Set on any kind, it counts.
    public var end: LocalDate? { endsOn }

    /// The minutes it may use, or nil for unlimited time within the period. Set on any kind, it
    /// counts.
    public var limit: Int64? { minutesTotal }

    /// Why the contract cannot be used as it stands (a person must fix it), or nil.
    public var defect: String? {
        switch kind {
        case .supportHours where minutesTotal == nil:
            return "contract #\(id) is support_hours but has no minutes_total (a support_hours contract is a number of hours)"
        case .timeLimited where minutesTotal == nil || endsOn == nil:
            return "contract #\(id) is time_limited but lacks \(endsOn == nil ? "ends_on" : "minutes_total") (a time_limited contract needs both an end date and minutes_total, whichever runs out first)"
        default:
            break
        }
        if let end, end <= startsOn {
            return "contract #\(id) ends (ends_on \(end)) on or before it starts (starts_on \(startsOn))"
        }
        return nil
    }

    /// Minutes left given `used` minutes charged, or nil when unlimited.
    public func minutesLeft(used: Int64) -> Int64? {
        limit.map { max(0, $0 - used) }
    }

    /// The customer the contract belongs to, when it belongs to one customer (audit events of
    /// item and org-unit contracts carry no customer).
    public var customerID: Int64? {
        if case .customer(let id) = scope { return id }
        return nil
    }
}
