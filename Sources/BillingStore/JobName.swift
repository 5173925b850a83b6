/// The jobs. The raw value is the CLI word, the `job_runs.job` value, the TOML file name
/// (`jobs/<name>.toml`) and the systemd instance (`supportbill@<name>.timer`).
///
/// Adding a case is how a job is registered, and the compiler takes it from there: the
/// exhaustive switch `JobName.type` (BillingJobs, JobRegistry.swift) asks for the job's type,
/// whose conformance to `RegisteredJob` asks for everything else (parameters, help line, lock
/// key, place in the day, the defects the runner screens for), and the benchmark's `Floors`
/// asks for a floor. Nothing keeps a list of job names by hand (docs/writing-a-job.md).
///
/// It lives in BillingStore, below the runner, so that what the store reports per job
/// (`supportbill check`: which jobs a defect concerns) is ordered by the same list.
public enum JobName: String, CaseIterable, Sendable, CustomStringConvertible {
    case monthlyRollup = "monthly-rollup"
    case thresholdTopup = "threshold-topup"
    case suspensionSweep = "suspension-sweep"
    case incidentGrants = "incident-grants"
    case contractExpiryRollover = "contract-expiry-rollover"

    public var description: String { rawValue }
}
