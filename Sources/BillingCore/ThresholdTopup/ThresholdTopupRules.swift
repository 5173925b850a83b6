/// The job's parameters, as the planner sees them (jobs/threshold-topup.toml).
public struct ThresholdTopupRules: Sendable, Equatable {
    public var dueDays: Int
    public var maxTopupsPerDay: Int

    public init(dueDays: Int, maxTopupsPerDay: Int) {
        self.dueDays = dueDays
        self.maxTopupsPerDay = maxTopupsPerDay
    }
}
