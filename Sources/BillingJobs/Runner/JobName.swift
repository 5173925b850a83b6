/// The five jobs. The raw value is the CLI word, the `job_runs.job` value, the TOML file name
/// (`jobs/<name>.toml`) and the systemd instance (`supportbill@<name>.timer`).
public enum JobName: String, CaseIterable, Sendable, CustomStringConvertible {
    case monthlyRollup = "monthly-rollup"
    case thresholdTopup = "threshold-topup"
    case suspensionSweep = "suspension-sweep"
    case incidentGrants = "incident-grants"
    case contractExpiryRollover = "contract-expiry-rollover"

    public var description: String { rawValue }

    /// The order a day's jobs run in (simulate, the demo): contracts first so per-incident items
    /// exist before the rollup, the sweep last so it sees the day's invoices.
    public static let dailyOrder: [JobName] = [
        .contractExpiryRollover, .incidentGrants, .thresholdTopup, .monthlyRollup, .suspensionSweep,
    ]

    /// The object half of the job's advisory lock key (the class half is supportbill's).
    var lockObjectID: Int32 {
        switch self {
        case .monthlyRollup: return 1
        case .thresholdTopup: return 2
        case .suspensionSweep: return 3
        case .incidentGrants: return 4
        case .contractExpiryRollover: return 5
        }
    }
}
