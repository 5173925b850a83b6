/// The jobs this binary can run, built from their parameters.
public enum JobRegistry {
    /// Builds `job` with its parameters from `source`. Throws `ConfigurationError` (exit 64) for
    /// a bad file.
    public static func make(_ job: JobName, source: JobConfigurationSource) throws -> any BillingJob {
        switch job {
        case .monthlyRollup:
            return MonthlyRollupJob(parameters: try source.parameters(MonthlyRollupParameters.self, for: job))
        case .thresholdTopup:
            return ThresholdTopupJob(parameters: try source.parameters(ThresholdTopupParameters.self, for: job))
        case .suspensionSweep:
            return SuspensionSweepJob(parameters: try source.parameters(SuspensionSweepParameters.self, for: job))
        case .incidentGrants:
            return IncidentGrantsJob(parameters: try source.parameters(IncidentGrantsParameters.self, for: job))
        case .contractExpiryRollover:
            return ContractExpiryRolloverJob(parameters: try source.parameters(ContractExpiryRolloverParameters.self, for: job))
        }
    }
}
