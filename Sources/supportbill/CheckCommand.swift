import ArgumentParser
import BillingCore
import BillingJobs
import BillingStore
import Foundation
import Postgres

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "List every defect in the data that keeps a job from billing a customer, billing nothing.",
        discussion: """
            Reads the inputs (and the outputs the jobs reconcile) in one read-only transaction and \
            prints one row per defect: the customer, the kind, what is wrong with which row and how \
            to fix it, and the jobs that skip the customer until it is fixed. docs/data-defects.md \
            describes every kind. Nothing is written, no lock is taken: run it any time, e.g. \
            before the monthly rollup.

            Exit status: 0 when the data has no defect, 65 when it has any, 69 when the database \
            is unavailable.

            Examples:
              supportbill check
              supportbill check --customer 42 --format json
              supportbill check --format csv > defects.csv
            """
    )

    @Option(help: ArgumentHelp(
        "The instant to judge dates against (an entry dated far after it, a term not yet ended): RFC 3339, or a date D meaning D 00:00:00Z. Default: now.",
        valueName: "instant"))
    var asOf: String?

    @Option(name: .customLong("customer"), help: ArgumentHelp("Only this customer id (repeatable).", valueName: "id"))
    var customers: [Int64] = []

    @Option(help: ArgumentHelp("text, json or csv.", valueName: "format"))
    var format: ReportFormat = .text

    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        if let asOf {
            do { _ = try Instant(rfc3339: asOf) } catch { throw ValidationError("--as-of: \(error)") }
        }
        if let bad = customers.first(where: { $0 <= 0 }) { throw ValidationError("--customer: \(bad) is not a customer id") }
        if format == .summary { throw ValidationError("--format summary is for job reports (run, runs show): use text, json or csv") }
    }

    func run() throws {
        let instant = try asOf.map { try Instant(rfc3339: $0) } ?? Instant.now
        let defects: [DataDefect]
        do {
            let db = try database.target.connect(applicationName: "supportbill check")
            defer { db.close() }
            try Migrator().verify(db)
            // One snapshot for every statement, and a guarantee that nothing is written.
            try db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            defer { db.rollbackQuietly() }
            defects = try DataDefectScanner.scan(db, asOf: instant, customers: customers.isEmpty ? nil : customers)
        } catch {
            throw failure(error)
        }
        print(CheckCommand.render(defects, asOf: instant, format: format), terminator: "")
        if !defects.isEmpty { throw ExitCode(ExitStatus.dataError.rawValue) }
    }

    static func render(_ defects: [DataDefect], asOf: Instant, format: ReportFormat) -> String {
        switch format {
        case .json:
            return JSONValue.object([
                ("as_of", .string(asOf.description)),
                ("count", .int(Int64(defects.count))),
                ("customers", .int(Int64(Set(defects.compactMap(\.customerID)).count))),
                ("defects", .array(defects.map(json))),
            ]).prettyText + "\n"
        case .csv:
            var output = ["customer_id", "kind", "entity", "entity_id", "detail", "jobs"].joined(separator: ",") + "\n"
            for defect in defects {
                output += [defect.customerID.map(String.init) ?? "", defect.kind.rawValue, defect.entity, String(defect.entityID),
                           defect.detail, defect.jobs.joined(separator: " ")].map(CSVReport.quote).joined(separator: ",") + "\n"
            }
            return output
        case .text, .summary:
            guard !defects.isEmpty else { return "check as of \(asOf): no defect found\n" }
            let customerCount = Set(defects.compactMap(\.customerID)).count
            var output = "check as of \(asOf): \(defects.count) defect\(defects.count == 1 ? "" : "s") "
                + "(\(customerCount) customer\(customerCount == 1 ? "" : "s"))\n\n"
            for defect in defects {
                let customer = defect.customerID.map { "customer \($0)" } ?? "no customer"
                let jobs = defect.jobs.isEmpty ? "no job skips it" : "blocks " + defect.jobs.joined(separator: ", ")
                output += "\(customer)  \(defect.kind.rawValue)  (\(defect.entity) \(defect.entityID); \(jobs))\n"
                output += "    \(TextSafety.printable(defect.detail))\n"
            }
            return output
        }
    }

    static func json(_ defect: DataDefect) -> JSONValue {
        .object([
            ("customer_id", defect.customerID.map { .int($0) } ?? .null),
            ("kind", .string(defect.kind.rawValue)),
            ("entity", .string(defect.entity)),
            ("entity_id", .int(defect.entityID)),
            ("detail", .string(defect.detail)),
            ("jobs", .array(defect.jobs.map { .string($0) })),
        ])
    }
}
