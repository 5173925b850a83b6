import ArgumentParser
import BillingCore
import BillingJobs
import BillingStore
import Foundation

struct ContractsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contracts",
        abstract: "How much is left on support contracts, and what used it.",
        discussion: """
            Lists contracts with the minutes their kind counts, used (covered and rolled over), \
            left, and ignored (time recorded on a contract after it expired during a request, \
            deducted nowhere). Subscriptions count no minutes: their time is unlimited within \
            their period.

            --contract shows one contract and every time entry charged to it. --customer shows \
            the contracts that can serve that customer (its own, its items', its org unit's and \
            the org unit's parents') with only that customer's time, and its requests billed per \
            incident: what a client area shows. The client area can read the same SQL views: \
            contract_usage, contract_usage_entries and customer_contracts.

            Examples:
              supportbill contracts
              supportbill contracts --contract 12
              supportbill contracts --customer 7 --format json
            """
    )

    @Option(help: ArgumentHelp("Only this contract, with every entry that used it.", valueName: "id"))
    var contract: Int64?

    @Option(help: ArgumentHelp("Only the contracts that can serve this customer, with its own entries.", valueName: "id"))
    var customer: Int64?

    @Option(help: ArgumentHelp("text (for people) or json (one object, sorted, for scripts).", valueName: "format"))
    var format: ViewFormat = .text

    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        if let contract, contract <= 0 { throw ValidationError("--contract: \(contract) is not a contract id") }
        if let customer, customer <= 0 { throw ValidationError("--customer: \(customer) is not a customer id") }
    }

    func run() throws {
        let answer: ContractUsageReader.Answer
        do {
            let db = try database.target.connect()
            defer { db.close() }
            answer = try ContractUsageReader.read(db, contractID: contract, customerID: customer)
        } catch let lookup as ContractUsageReader.Lookup {
            let message: String
            switch lookup {
            case .noSuchContract(let id): message = "no such contract: \(id)"
            case .noSuchCustomer(let id): message = "no such customer: \(id)"
            }
            FileHandle.standardError.write(Data("supportbill: contracts: \(message)\n".utf8))
            throw ExitCode(ExitStatus.usage.rawValue)
        } catch {
            throw failure(error)
        }
        switch format {
        case .json: print(ContractsCommand.json(answer, customer: customer).prettyText)
        case .text: print(ContractsCommand.text(answer, customer: customer), terminator: "")
        }
    }

    static func json(_ answer: ContractUsageReader.Answer, customer: Int64?) -> JSONValue {
        var fields: [(String, JSONValue)] = [("contracts", .array(answer.contracts.map { usage in
            .object([
                ("contract_id", .int(usage.contractID)), ("kind", .string(usage.kind)), ("status", .string(usage.status)),
                ("scope", .string(usage.scope)), ("\(usage.scope)_id", .int(usage.scopeID)),
                ("starts_on", .string(usage.startsOn.description)), ("ends_on", usage.endsOn.map { .string($0.description) } ?? .null),
                ("minutes_limit", usage.minutesLimit.map { .int($0) } ?? .null), ("minutes_covered", .int(usage.minutesCovered)),
                ("minutes_rolled_over", .int(usage.minutesRolledOver)), ("minutes_used", .int(usage.minutesUsed)),
                ("minutes_left", usage.minutesLeft.map { .int($0) } ?? .null), ("minutes_ignored", .int(usage.minutesIgnored)),
                ("entries", .int(usage.entries)), ("customers", .int(usage.customers)),
                ("uses", .array(usage.uses.map(json))),
            ])
        }))]
        if customer != nil { fields.append(("per_incident", .array(answer.perIncident.map(json)))) }
        return .object(fields)
    }

    static func json(_ use: ContractUsageReader.Use) -> JSONValue {
        .object([
            ("charge_id", .int(use.chargeID)), ("contract_id", use.contractID.map { .int($0) } ?? .null),
            ("customer_id", .int(use.customerID)), ("customer_name", .string(use.customerName)),
            ("ticket_id", use.ticketID.map { .int($0) } ?? .null), ("subject", use.subject.map { .string($0) } ?? .null),
            ("time_entry_id", .int(use.timeEntryID)), ("worked_at", use.workedAt.map { .string($0.description) } ?? .null),
            ("staff", use.staff.map { .string($0) } ?? .null), ("note", use.note.map { .string($0) } ?? .null),
            ("minutes", .int(use.minutes)), ("outcome", .string(use.outcome)),
        ])
    }

    static func text(_ answer: ContractUsageReader.Answer, customer: Int64?) -> String {
        var lines: [String] = []
        if answer.contracts.isEmpty { lines.append(customer == nil ? "no contracts" : "no contract can serve customer \(customer!)") }
        for usage in answer.contracts {
            var head = "contract \(usage.contractID)  \(usage.kind)  \(usage.scope.replacingOccurrences(of: "_", with: " ")) \(usage.scopeID)  \(usage.status)"
            head += "  from \(usage.startsOn)"
            if let end = usage.endsOn { head += " to \(end.adding(days: -1))" }
            lines.append(head)
            var figures = usage.minutesLimit.map { "\(minutes($0)) bought" } ?? "unlimited time"
            figures += ", \(minutes(usage.minutesUsed)) used"
            if let left = usage.minutesLeft { figures += ", \(minutes(left)) left" }
            if usage.minutesRolledOver > 0 { figures += " (\(minutes(usage.minutesRolledOver)) rolled over from expired contracts)" }
            if usage.minutesIgnored > 0 { figures += "; \(minutes(usage.minutesIgnored)) after it expired, ignored" }
            lines.append("  " + figures)
            for use in usage.uses { lines.append("    " + line(use)) }
        }
        if customer != nil, !answer.perIncident.isEmpty {
            lines.append("")
            lines.append("billed per incident (no contract)")
            for use in answer.perIncident { lines.append("    " + line(use)) }
        }
        return lines.map(TextSafety.printable).joined(separator: "\n") + "\n"
    }

    static func line(_ use: ContractUsageReader.Use) -> String {
        var parts = [use.workedAt.map(\.description) ?? "-", "customer \(use.customerID) \(use.customerName)"]
        if let ticket = use.ticketID { parts.append("ticket #\(ticket)" + (use.subject.map { " \($0)" } ?? "")) }
        parts.append("entry \(use.timeEntryID)")
        parts.append("\(use.minutes) min \(use.outcome.replacingOccurrences(of: "_", with: " "))")
        return parts.joined(separator: "  ")
    }

    /// 660 -> "660 min (11:00 h)".
    static func minutes(_ value: Int64) -> String {
        let hours = value / 60, rest = value % 60
        return "\(value) min (\(hours):\(rest < 10 ? "0" : "")\(rest) h)"
    }
}
