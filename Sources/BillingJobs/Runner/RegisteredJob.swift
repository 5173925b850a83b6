import BillingStore

/// A job the binary offers: a `BillingJob` plus everything the rest of the product needs to know
/// about it. Each requirement is one item of the checklist a new job used to keep by hand
/// (docs/writing-a-job.md); a job type that leaves one out does not compile. The conformances of
/// the five jobs are together in JobRegistry.swift, next to the switch that names them.
public protocol RegisteredJob: BillingJob {
    /// The job's keys in `jobs/<name>.toml`, beyond `schedule`.
    associatedtype Parameters: JobParameters

    /// The job built from its validated parameters (the runner's only way to build it).
    static func make(_ parameters: Parameters) -> Self

    /// One line for `supportbill run --help`, after the job's name.
    static var summary: String { get }

    /// The object half of the job's advisory lock key: unique among the jobs and never changed,
    /// so that an old binary still running during an upgrade and a new one exclude each other.
    static var lockObjectID: Int32 { get }

    /// Where the job runs in a day's sequence (simulate, the demo): lower first.
    static var dailyRank: Int { get }

    /// The defects (docs/data-defects.md) for which the runner skips a customer before the job
    /// sees it, because the job would otherwise bill around them silently. Empty when the job
    /// detects every defect it cares about itself, where it reads the row.
    static var defectsSkippedByRunner: Set<DataDefectKind> { get }
}

extension RegisteredJob {
    /// Builds the job with its parameters from `source`. Throws `ConfigurationError` (exit 64)
    /// for a bad file.
    public static func make(from source: JobConfigurationSource) throws -> Self {
        make(try source.parameters(Parameters.self, for: name))
    }

    /// The job's schedule in `source`.
    public static func schedule(from source: JobConfigurationSource) throws -> String {
        try source.parameters(Parameters.self, for: name).schedule
    }
}
