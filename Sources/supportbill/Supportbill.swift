import ArgumentParser
import BillingJobs

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

            Jobs: monthly-rollup, threshold-topup, suspension-sweep, incident-grants, \
            contract-expiry-rollover.

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
        ]
    )
}
