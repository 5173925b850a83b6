/// U for one service and one local month: the billable minutes worked, each entry already
/// rounded up to the plan's `increment_minutes` (PostgreSQL sums them in one set-based query).
public struct RollupUsage: Sendable, Hashable {
    public let serviceID: Int64
    public let month: YearMonth
    public let minutes: Int64
    /// The increment each entry was rounded up to: the one the month was first issued with, else
    /// the plan's (nil: not known, as in tests that give minutes only).
    public let incrementMinutes: Int64?

    public init(serviceID: Int64, month: YearMonth, minutes: Int64, incrementMinutes: Int64? = nil) {
        self.serviceID = serviceID
        self.month = month
        self.minutes = minutes
        self.incrementMinutes = incrementMinutes
    }
}
