/// One thing the monthly rollup bills exactly once: the setup fee of a service, the recurring
/// fee of one anniversary period, or the usage of one service in one local month.
///
/// Every billable item the rollup writes carries its line (`billable_items.rollup_line`), the
/// original item and every later correction alike, so "what was billed for this line" is the
/// sum of the items carrying it. The text form is stable: it is part of source keys.
public enum RollupLine: Hashable, Comparable, Sendable, CustomStringConvertible {
    case setup(service: Int64)
    /// The recurring fee of the anniversary period starting on `start`.
    case fee(service: Int64, start: LocalDate)
    case usage(service: Int64, month: YearMonth)

    public var serviceID: Int64 {
        switch self {
        case .setup(let service), .fee(let service, _), .usage(let service, _): return service
        }
    }

    /// `setup:12`, `fee:12:2026-10-02`, `usage:12:2026-10`.
    public var key: String {
        switch self {
        case .setup(let service): return "setup:\(service)"
        case .fee(let service, let start): return "fee:\(service):\(start)"
        case .usage(let service, let month): return "usage:\(service):\(month)"
        }
    }

    public init(key: String) throws {
        let parts = key.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 2, let service = Int64(parts[1]) else {
            throw BillingError.invalidInput("not a monthly-rollup line: \(key.debugDescription)")
        }
        switch (parts[0], parts.count) {
        case ("setup", 2): self = .setup(service: service)
        case ("fee", 3): self = .fee(service: service, start: try LocalDate(parts[2]))
        case ("usage", 3): self = .usage(service: service, month: try YearMonth(parts[2]))
        default: throw BillingError.invalidInput("not a monthly-rollup line: \(key.debugDescription)")
        }
    }

    public var description: String { key }

    public static func < (lhs: RollupLine, rhs: RollupLine) -> Bool { lhs.key < rhs.key }
}
