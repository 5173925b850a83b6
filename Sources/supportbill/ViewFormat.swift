import ArgumentParser
import BillingJobs

/// The formats of the commands that print one view rather than a job's report (runs, simulate,
/// incidents, contracts, demo). Their output is nested, so it has no honest CSV form; a type of
/// its own keeps `--help` and the parser from offering one (`run` and `check` take ReportFormat).
enum ViewFormat: String, CaseIterable, ExpressibleByArgument {
    case text
    case json

    /// The job-report format it stands for, where a view prints job reports (the demo).
    var report: ReportFormat {
        switch self {
        case .text: .text
        case .json: .json
        }
    }
}
