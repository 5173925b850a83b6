import BillingStore

/// The jobs (declared in BillingStore; see there for what a case is). Every fact about a job
/// beyond its name comes from its registered type, `JobName.type`.
public typealias JobName = BillingStore.JobName

extension JobName {
    /// The order a day's jobs run in (simulate, the demo), by each job's `dailyRank`: contracts
    /// first so per-incident items exist before the rollup, the sweep last so it sees the day's
    /// invoices.
    public static var dailyOrder: [JobName] {
        allCases.sorted { ($0.type.dailyRank, $0.rawValue) < ($1.type.dailyRank, $1.rawValue) }
    }

    /// The object half of the job's advisory lock key (the class half is supportbill's).
    var lockObjectID: Int32 { type.lockObjectID }
}
