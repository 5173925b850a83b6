import BillingStore

/// The jobs this binary can run, built from their parameters.
public enum JobRegistry {
    /// Builds `job` with its parameters from `source`. Throws `ConfigurationError` (exit 64) for
    /// a bad file.
    public static func make(_ job: JobName, source: JobConfigurationSource) throws -> any BillingJob {
        try job.type.make(from: source)
    }
}

extension JobName {
    /// The registration: the type that implements each job. The switch is exhaustive, so a new
    /// case in `JobName` does not compile without its type, and the type does not compile
    /// without the rest of `RegisteredJob`'s checklist (below, one extension per job).
    public var type: any RegisteredJob.Type {
        switch self {
        case .monthlyRollup: return MonthlyRollupJob.self
        case .thresholdTopup: return ThresholdTopupJob.self
        case .suspensionSweep: return SuspensionSweepJob.self
        case .incidentGrants: return IncidentGrantsJob.self
        case .contractExpiryRollover: return ContractExpiryRolloverJob.self
        }
    }
}

extension MonthlyRollupJob: RegisteredJob {
    public static func make(_ parameters: MonthlyRollupParameters) -> Self { Self(parameters: parameters) }
    public static let summary = "recurring fees, setup fees and metered usage into monthly invoices"
    public static let lockObjectID: Int32 = 1
    public static let dailyRank = 40
    public static let defectsSkippedByRunner: Set<DataDefectKind> = [.serviceEndsBeforeStart, .entryFarFuture, .serviceBillingChanged]
}

extension ThresholdTopupJob: RegisteredJob {
    public static func make(_ parameters: ThresholdTopupParameters) -> Self { Self(parameters: parameters) }
    public static let summary = "pre-paid credit: debit time, credit payments, issue top-ups"
    public static let lockObjectID: Int32 = 2
    public static let dailyRank = 30
    public static let defectsSkippedByRunner: Set<DataDefectKind> = [
        .serviceEndsBeforeStart, .entryFarFuture, .paymentCurrencyMismatch, .serviceBillingChanged,
    ]
}

extension SuspensionSweepJob: RegisteredJob {
    public static func make(_ parameters: SuspensionSweepParameters) -> Self { Self(parameters: parameters) }
    public static let summary = "suspend services with overdue invoices, restore paid ones"
    public static let lockObjectID: Int32 = 3
    public static let dailyRank = 50
    public static let defectsSkippedByRunner: Set<DataDefectKind> = []
}

extension IncidentGrantsJob: RegisteredJob {
    public static func make(_ parameters: IncidentGrantsParameters) -> Self { Self(parameters: parameters) }
    public static let summary = "grant and consume per-incident support"
    public static let lockObjectID: Int32 = 4
    public static let dailyRank = 20
    public static let defectsSkippedByRunner: Set<DataDefectKind> = []
}

extension ContractExpiryRolloverJob: RegisteredJob {
    public static func make(_ parameters: ContractExpiryRolloverParameters) -> Self { Self(parameters: parameters) }
    public static let summary = "activate, charge, expire and roll over support contracts"
    public static let lockObjectID: Int32 = 5
    public static let dailyRank = 10
    public static let defectsSkippedByRunner: Set<DataDefectKind> = [.entryFarFuture, .ticketItemOtherCustomer]
}
