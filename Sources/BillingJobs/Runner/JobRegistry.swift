/// The jobs this binary can run, built from their parameters.
public enum JobRegistry {
    /// A job the registry knows by name but that is not built yet.
    public struct NotImplemented: Error, CustomStringConvertible, Sendable {
        public let job: JobName
        public var description: String { "\(job) is not implemented yet" }
    }

    /// Builds `job` with its parameters from `source`. Throws `ConfigurationError` (exit 64) for
    /// a bad file and `NotImplemented` (exit 1) for a job not built yet.
    public static func make(_ job: JobName, source: JobConfigurationSource) throws -> any BillingJob {
        switch job {
        case .thresholdTopup:
            return ThresholdTopupJob(parameters: try source.parameters(ThresholdTopupParameters.self, for: job))
        case .monthlyRollup, .suspensionSweep, .incidentGrants, .contractExpiryRollover:
            throw NotImplemented(job: job)
        }
    }

    /// The jobs `make` can build, in daily order.
    public static var implemented: [JobName] {
        JobName.dailyOrder.filter { job in
            do { _ = try make(job, source: JobConfigurationSource(directory: nil)); return true } catch { return false }
        }
    }
}
