import BillingCore
import BillingJobs

/// The one comparison of a dry run's report with the real run's (docs/design.md §11: equal
/// apart from `run_id`, `dry_run`, row ids and timings). It drops the keys simulate already
/// treats as volatile (`Simulation.volatileKeys`: run and row ids, the ids rows refer to each
/// other by, timestamps; and `entity_id` of events about output rows), plus `dry_run`.
enum DryRun {
    static func comparable(_ report: JobReport) -> JSONValue {
        guard case .object(let fields) = Simulation.stripVolatile(report.json) else { return report.json }
        return .object(fields.filter { $0.0 != "dry_run" })
    }
}
