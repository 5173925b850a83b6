/// What happens to time worked on a request after its contract expired during it (LiveTime's
/// "Time Expired Contract" option, `expired_time` in jobs/contract-expiry-rollover.toml).
public enum ExpiredTimeRule: String, Hashable, Sendable, CaseIterable {
    /// Charged to the next contract found, `rolled_over`; when none exists yet, the time waits
    /// for one (it is reported, and charged by the first run that finds a contract).
    case rollover
    /// Recorded `ignored` on the expired contract and deducted nowhere.
    case ignore
}
