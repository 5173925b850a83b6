import ArgumentParser

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Reports for staff and the client area.",
        discussion: """
            Examples:
              supportbill report usage --customer 42 --period 2026-10
              supportbill report usage --customer 42 --period 2026-10 --format csv > usage.csv
              supportbill report runs --job monthly-rollup --status partial
            """,
        subcommands: [UsageReportCommand.self, RunsCommand.self]
    )
}
