import ArgumentParser
import BillingJobs
import Foundation

@main
struct Supportbill: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "supportbill",
        abstract: "Batch billing jobs for paid technical support.",
        discussion: """
            supportbill turns the tickets, time entries, services and payments that a helpdesk and \
            a billing platform keep in PostgreSQL into billable items and invoices. It runs discrete, \
            idempotent jobs: re-running a job with unchanged data emits nothing.

            Jobs: \(JobName.allCases.map(\.rawValue).joined(separator: ", ")).

            Connection: libpq's environment and defaults (PGHOST, PGPORT, PGDATABASE, PGUSER, \
            PGPASSFILE, PGSERVICE, ...) or --database with a conninfo string or a postgresql:// URI.

            Exit codes: 0 done (also: nothing to do), 64 usage error, 65 some customers skipped or a \
            safety limit hit, 69 database unavailable, 75 another run holds the lock, 1 anything else.

            Try it without a database of your own:  supportbill demo
            """,
        version: version,
        subcommands: [
            RunCommand.self, MigrateCommand.self, RunsCommand.self, SimulateCommand.self,
            ReportCommand.self, IncidentsCommand.self, ContractsCommand.self, CheckCommand.self, DemoCommand.self, BalanceCommand.self,
            CutoverCommand.self,
        ]
    )

    /// argument-parser answers `help NAME` for an unknown NAME with the root help and exit 0;
    /// a script asking for help on a misspelt command must learn that it does not exist (64).
    static func main() {
        Supportbill.usePasswordCredential()
        if let unknown = unknownHelpTopic(Array(CommandLine.arguments.dropFirst())) {
            let names = configuration.subcommands.compactMap { $0.configuration.commandName }
            FileHandle.standardError.write(Data("supportbill: error: no command '\(unknown)' (commands: \(names.joined(separator: ", ")))\n".utf8))
            Foundation.exit(64)
        }
        let arguments: [String] = Array(CommandLine.arguments.dropFirst())
        Supportbill.main(arguments)
    }

    /// systemd (247+) hands the unit's `LoadCredential=pgpass:...` to the process in
    /// $CREDENTIALS_DIRECTORY; libpq reads only PGPASSFILE, and the `%d` specifier that could
    /// name it in the unit needs a newer systemd. So the credential, when present, becomes
    /// libpq's passfile here, ahead of a PGPASSFILE from the env file (the fallback).
    static func usePasswordCredential() {
        guard let directory = ProcessInfo.processInfo.environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty else { return }
        let path = directory + "/pgpass"
        if FileManager.default.isReadableFile(atPath: path) { setenv("PGPASSFILE", path, 1) }
    }

    /// The first name after `help` that is not a (sub)command, if any.
    static func unknownHelpTopic(_ arguments: [String]) -> String? {
        guard arguments.first == "help" else { return nil }
        var command: any ParsableCommand.Type = Supportbill.self
        for name in arguments.dropFirst() where !name.hasPrefix("-") {
            guard let next = command.configuration.subcommands.first(where: { $0.configuration.commandName == name }) else { return name }
            command = next
        }
        return nil
    }
}
