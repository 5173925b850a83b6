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
        case .monthlyRollup:
            return MonthlyRollupJob(parameters: try source.parameters(MonthlyRollupParameters.self, for: job))
        case .suspensionSweep:
            return SuspensionSweepJob(parameters: try source.parameters(SuspensionSweepParameters.self, for: job))
        case .incidentGrants:
            return IncidentGrantsJob(parameters: try source.parameters(IncidentGrantsParameters.self, for: job))
        case .contractExpiryRollover:
            return ContractExpiryRolloverJob(parameters: try source.parameters(ContractExpiryRolloverParameters.self, for: job))
        case .thresholdTopup:
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
