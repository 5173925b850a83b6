import ArgumentParser
import BillingJobs
import BillingStore
import Foundation
import Postgres

/// Prints an error on stderr and picks the exit code of DESIGN.md §5 for it.
func failure(_ error: Error) -> ExitCode {
    let status: ExitStatus
    switch error {
    case let error as PostgresError where error.isUnavailable: status = .unavailable
    case is ConfigurationError: status = .usage
    default: status = .failure
    }
    FileHandle.standardError.write(Data("supportbill: error: \(error)\n".utf8))
    return ExitCode(status.rawValue)
}

extension JobName: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument) }
    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}

extension ReportFormat: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument) }
    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}
