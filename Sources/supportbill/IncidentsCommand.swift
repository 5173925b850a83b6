import ArgumentParser
import BillingCore
import BillingJobs
import BillingStore
import Foundation

struct IncidentsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "incidents",
        abstract: "Show a customer's available support incidents on a date (helpdesk, client area).",
        discussion: """
            Lists the incident grants that can serve a ticket opened on the date: time-limited \
            grants of incident plans (valid for their period) and lifetime grants (lifetime plans, \
            registration, first payment, funds, staff), each with what is left, in the order \
            incident-grants consumes them, and the totals. Tickets that require an incident and \
            hold none are listed too. The grants are those of the SQL function \
            incident_availability(customer_id, on_date) and the totals those of \
            incident_balance(customer_id, on_date); the helpdesk may call either directly.

            --as-of takes the customer's local date (2026-11-01), or an RFC 3339 instant, which \
            is turned into the customer's local date. Default: now.

            Examples:
              supportbill incidents --customer 4
              supportbill incidents --customer 4 --as-of 2026-10-20 --format json
            """
    )

    @Option(name: .customLong("customer"), help: ArgumentHelp("The customer id.", valueName: "id"))
    var customer: Int64

    @Option(help: ArgumentHelp("The customer's local date (YYYY-MM-DD) or an RFC 3339 instant. Default: now.", valueName: "date"))
    var asOf: String?

    @Option(help: ArgumentHelp("text (for people) or json (one object, sorted, for scripts).", valueName: "format"))
    var format: ViewFormat = .text

    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        guard customer > 0 else { throw ValidationError("--customer: \(customer) is not a customer id") }
        if let asOf, (try? LocalDate(asOf)) == nil {
            do { _ = try Instant(rfc3339: asOf) } catch { throw ValidationError("--as-of: \(error)") }
        }
    }

    func run() throws {
        let when: IncidentBalanceReader.When
        if let asOf, let date = try? LocalDate(asOf) {
            when = .date(date)
        } else {
            when = .instant(try asOf.map { try Instant(rfc3339: $0) } ?? Instant.now)
        }
        let balance: IncidentBalanceReader.Balance
        do {
            let db = try database.target.connect()
            defer { db.close() }
            try Migrator().verify(db)
            balance = try IncidentBalanceReader.balance(db, customer: customer, when: when)
        } catch let error as IncidentBalanceReader.UnknownCustomer {
            FileHandle.standardError.write(Data("supportbill: error: \(error)\n".utf8))
            throw ExitCode(ExitStatus.usage.rawValue)
        } catch {
            throw failure(error)
        }
        switch format {
        case .json: print(IncidentsCommand.json(balance).prettyText)
        case .text: print(IncidentsCommand.text(balance), terminator: "")
        }
    }

    static func json(_ balance: IncidentBalanceReader.Balance) -> JSONValue {
        .object([
            ("customer_id", .int(balance.customerID)), ("name", .string(balance.name)), ("timezone", .string(balance.timezone)),
            ("date", .string(balance.date.description)),
            ("time_limited", .int(Int64(balance.timeLimited))), ("lifetime", .int(Int64(balance.lifetime))), ("total", .int(Int64(balance.total))),
            ("grants", .array(balance.lines.map { line in
                .object([
                    ("grant_id", .int(line.grantID)), ("source", .string(line.source)), ("service_id", line.serviceID.map { .int($0) } ?? .null),
                    ("lifetime", .bool(line.lifetime)), ("valid_from", .string(line.validFrom.description)),
                    ("valid_until", line.validUntil.map { .string($0.description) } ?? .null),
                    ("quantity", .int(Int64(line.quantity))), ("used", .int(Int64(line.used))), ("available", .int(Int64(line.available))),
                ])
            })),
            ("waiting_tickets", .array(balance.waitingTickets.map { .int($0) })),
        ])
    }

    static func text(_ balance: IncidentBalanceReader.Balance) -> String {
        var lines = ["\(balance.name) (customer \(balance.customerID)): incidents available on \(balance.date) (\(balance.timezone))"]
        lines.append("  time-limited \(balance.timeLimited)  ·  lifetime \(balance.lifetime)  ·  total \(balance.total)")
        if !balance.lines.isEmpty {
            var rows = [["GRANT", "SOURCE", "VALID", "QUANTITY", "USED", "AVAILABLE"]]
            for line in balance.lines {
                let valid = line.validUntil.map { "\(line.validFrom)..\($0.adding(days: -1))" } ?? "from \(line.validFrom), lifetime"
                rows.append([String(line.grantID), line.source, valid, String(line.quantity), String(line.used), String(line.available)])
            }
            var widths = Array(repeating: 0, count: rows[0].count)
            for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
            lines.append("")
            for row in rows {
                lines.append("  " + row.enumerated().map { index, cell in
                    index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
                }.joined(separator: "  "))
            }
        }
        if !balance.waitingTickets.isEmpty {
            lines.append("")
            lines.append("Tickets waiting for an incident: " + balance.waitingTickets.map { "#\($0)" }.joined(separator: ", "))
        }
        return lines.map(TextSafety.printable).joined(separator: "\n") + "\n"
    }
}
