import ArgumentParser
import BillingCore
import BillingJobs
import BillingStore
import EmbeddedPostgres
import Foundation
import Logging
import Postgres

struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Bill a realistic demo month on a throwaway PostgreSQL, and print the invoices.",
        discussion: """
            Starts an embedded PostgreSQL cluster in a temporary directory (initdb and pg_ctl from \
            the system's PostgreSQL; as root it runs as the postgres user), creates the schema, \
            loads a month of a hosting company's support data (a support bundle with included \
            hours and overtime, post-paid hourly support with a one-time fee, pre-paid credit, \
            incident packs, contracts; customers from Los Angeles to Kiritimati), sets the \
            cut-over (the first date supportbill bills: its old system billed what came before), \
            runs every job \
            the way the timers would around the turn of the month, prints what each run emitted \
            and the invoices, and deletes the cluster. After the month, the past is corrected \
            (an entry edited down, a payment reversed, an entry withdrawn) and the jobs run again: \
            they print the corrections they emit (a numbered credit note, an invoice unpaid again \
            and a suspension, contract minutes returned); issued invoices never change.

            Needs the PostgreSQL server programs (Debian/Ubuntu: apt-get install postgresql).

            Examples:
              supportbill demo
              supportbill demo --month 2026-02
              supportbill demo --keep        # leave the cluster running to explore it with psql
            """
    )

    @Option(help: ArgumentHelp("The month to bill, e.g. 2026-10. Default: the last closed month (UTC).", valueName: "YYYY-MM"))
    var month: String?

    @Flag(help: "Leave the cluster running and print how to connect to it and stop it.")
    var keep = false

    @Option(help: ArgumentHelp("How to print each run's report: text or json.", valueName: "format"))
    var format: ViewFormat = .text

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if let month {
            do { _ = try YearMonth(month) } catch { throw ValidationError("--month: \(error)") }
        }
    }

    func run() throws {
        // The demo prints each run's report; log lines on stderr would only interleave with it.
        let logger = logging.makeLogger(default: .error)
        let demoMonth = try month.map { try YearMonth($0) } ?? Instant.now.utcDate.yearMonth.previous
        let cluster: EmbeddedPostgres
        do {
            FileHandle.standardError.write(Data("Starting a throwaway PostgreSQL cluster...\n".utf8))
            cluster = try EmbeddedPostgres.start()
        } catch {
            throw failure(error)
        }
        defer {
            if !keep { try? cluster.stop() }
        }
        do {
            let admin = try cluster.connect()
            try admin.execute("CREATE DATABASE supportbill_demo")
            admin.close()
            let target = cluster.target(database: "supportbill_demo")
            let db = try target.connect()
            _ = try Migrator().migrate(db)
            try db.execute("SELECT set_config('supportbill.demo_month', $1, false)", [demoMonth.firstDay.description])
            for file in EmbeddedDemoFiles.files { try db.executeScript(file.contents) }
            db.close()

            print("supportbill demo: billing \(demoMonth) for a hosting company's support customers")
            print(String(repeating: "=", count: 78))
            let scenario = DemoScenario(month: demoMonth)
            let runner = JobRunner(target: target, logger: logger)
            // The demo's jobs directory: the built-in defaults, except a price for support on a
            // ticket with no contract, so that the per-incident item reaches an invoice.
            let jobsDirectory = cluster.directory + "/jobs"
            try FileManager.default.createDirectory(atPath: jobsDirectory, withIntermediateDirectories: true)
            try DemoScenario.contractParameters.write(toFile: jobsDirectory + "/contract-expiry-rollover.toml", atomically: true, encoding: .utf8)
            let source = JobConfigurationSource(directory: jobsDirectory)
            print("(jobs/*.toml: the built-in defaults, except contract-expiry-rollover's [per_incident_price] USD = 4900)")
            for step in scenario.steps {
                switch step {
                case let .run(job, asOf, period, caption):
                    print("\n## \(caption)\n$ supportbill run \(job) --as-of \(asOf)\(period.map { " --period \($0)" } ?? "")\n")
                    let instance = try JobRegistry.make(job, source: source)
                    let report = runner.run(instance, JobRunRequest(asOf: asOf, period: period, invokedBy: "demo"))
                    print(format.report.render(report), terminator: "")
                case let .change(caption, sql):
                    print("\n## \(caption)")
                    let db = try target.connect()
                    try db.executeScript(sql)
                    db.close()
                case let .cutover(date, caption):
                    print("\n## \(caption)\n$ supportbill cutover --set \(date)\n")
                    let db = try target.connect()
                    defer { db.close() }
                    let setting = try BillingCutover.set(date, db)
                    print("cut-over set to \(setting.date)")
                    print(CutoverCommand.meaning(setting.date))
                case let .creditNotes(caption):
                    print("\n## \(caption)\n")
                    let db = try target.connect()
                    defer { db.close() }
                    print(try DemoCommand.creditNotes(db), terminator: "")
                }
            }
            let db2 = try target.connect()
            let invoices = try InvoiceReader.invoices(db2)
            let currencies = try CurrencyTable.load(db2)
            db2.close()
            print("\n" + String(repeating: "=", count: 78))
            print(InvoicePrinter.render(invoices, currencies: currencies), terminator: "")
            if keep {
                print("""

                    The cluster is still running. Connect with:
                      psql "\(cluster.conninfo(database: "supportbill_demo"))"
                      supportbill runs --database "\(cluster.conninfo(database: "supportbill_demo"))"
                    Stop it with:
                      pg_ctl stop -D \(cluster.dataDirectory)\(geteuid() == 0 ? "   (as the postgres user: runuser -u postgres -- pg_ctl ...)" : "")
                    """)
            }
        } catch let error as ExitCode {
            throw error
        } catch {
            throw failure(error)
        }
    }

    /// One line per credit note: its number, the invoice it corrects (by number and id), and
    /// its total. Invoice numbers are given by the database when an invoice is issued
    /// (sql/180_invoice_documents.sql).
    static func creditNotes(_ db: PostgresConnection) throws -> String {
        let currencies = try CurrencyTable.load(db)
        let rows = try db.query("""
            SELECT n.number, n.id, n.customer_id, n.kind, n.total, n.currency, o.number, n.corrects_invoice_id
              FROM invoices n LEFT JOIN invoices o ON o.customer_id = n.customer_id AND o.id = n.corrects_invoice_id
             WHERE n.number_credit_note
             ORDER BY n.number_value, n.id
            """)
        guard !rows.isEmpty else { return "No credit notes.\n" }
        return try rows.map { row in
            let code = try row.decode(5, as: CurrencyCode.self)
            let total = (currencies[code] ?? Currency(code: code, minorUnits: 2)).format(try row.decode(4, as: Int64.self))
            let corrects = try row.decode(7, as: Int64?.self).map { id in
                "  corrects \(try row.decode(6, as: String?.self) ?? "invoice") (invoice \(id))"
            } ?? ""
            return "  \(try row.decode(0, as: String.self))  invoice \(try row.decode(1, as: Int64.self))  customer \(try row.decode(2, as: Int64.self))  "
                + "\(try row.decode(3, as: String.self))\(corrects)  total \(total)\n"
        }.joined()
    }
}
