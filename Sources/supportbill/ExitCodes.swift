import ArgumentParser
import BillingJobs
import BillingStore
import Foundation
import Postgres

/// The exit code of docs/design.md §5 for an error that stopped a command.
func exitStatus(for error: Error) -> ExitStatus {
    switch error {
    case let error as PostgresError where error.isUnavailable: .unavailable
    case is ConfigurationError: .usage
    default: .failure
    }
}

/// Prints an error on stderr and picks the exit code of docs/design.md §5 for it.
func failure(_ error: Error) -> ExitCode {
    FileHandle.standardError.write(Data("supportbill: error: \(error)\n".utf8))
    return ExitCode(exitStatus(for: error).rawValue)
}

extension JobName: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument) }
    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}

extension ReportFormat: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument) }
    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}
