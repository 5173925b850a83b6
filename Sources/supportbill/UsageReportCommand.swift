import ArgumentParser
import BillingCore
import BillingJobs
import BillingStore
import Foundation

struct UsageReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "usage",
        abstract: "One customer's support month: tickets, time, hours used, credit, incidents, contracts, billed items.",
        discussion: """
            What the client area and staff show (the seed products' "support report"): every \
            ticket and time entry of the customer's local month with its time rounded up to the \
            plan's increment, hours used against included hours per service, pre-paid credit left, \
            incidents available, contract time left, and the items billed for the month with their \
            invoice status. Read-only.

            --format csv prints one row per time entry (for spreadsheets); json prints everything.

            Examples:
              supportbill report usage --customer 42 --period 2026-10
              supportbill report usage --customer 42 --period 2026-10 --format json
            """
    )

    @Option(help: ArgumentHelp("The customer id.", valueName: "id"))
    var customer: Int64

    @Option(help: ArgumentHelp("The month, in the customer's time zone.", valueName: "YYYY-MM"))
    var period: String

    @Option(help: ArgumentHelp("text, csv or json.", valueName: "format"))
    var format: ReportFormat = .text

    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        guard customer > 0 else { throw ValidationError("--customer: \(customer) is not a customer id") }
        do { _ = try YearMonth(period) } catch { throw ValidationError("--period: \(error)") }
        if format == .summary { throw ValidationError("--format summary is for job reports (run, runs show): use text, csv or json") }
    }

    func run() throws {
        let report: UsageReport
        do {
            let db = try database.target.connect()
            defer { db.close() }
            report = try UsageReportReader.read(db, customerID: customer, month: try YearMonth(period))
        } catch let notFound as UsageReportReader.NotFound {
            FileHandle.standardError.write(Data("supportbill: error: \(notFound)\n".utf8))
            throw ExitCode(BillingJobs.ExitStatus.usage.rawValue)
        } catch {
            throw failure(error)
        }
        switch format {
        case .text, .summary: print(UsageReportRenderer.text(report), terminator: "")
        case .csv: print(UsageReportRenderer.csv(report), terminator: "")
        case .json: print(UsageReportRenderer.json(report).prettyText)
        }
    }
}
