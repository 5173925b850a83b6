import ArgumentParser
import BillingCore
import BillingJobs
import BillingStore
import Foundation
import Postgres

struct BalanceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "balance",
        abstract: "Show a customer's open invoices, what pays them, and its unapplied credit (read-only).",
        discussion: """
            Lists each open invoice of the customer (issued, positive total, not covered) with \
            its payments, the credit applied to it from credit notes, and what is outstanding; \
            then every credit note with where its credit goes, and the credit left unapplied per \
            currency. Credit is settled by the same computation suspension-sweep uses (docs/design.md \
            §7): a credit note goes to the open invoices of the month it corrects, then to the \
            oldest open invoices in its currency (earliest due date, then id); what is left waits \
            for the next invoice. Top-up invoices take no credit (threshold-topup settles them).

            --as-of shows the balance at an instant: invoices and credit notes issued by then, \
            completed payments received by then (with their status as it is today). Days past \
            due count from the customer's local date of it. Default: now. An RFC 3339 instant, \
            or a date D meaning D 00:00:00Z.

            The balance is computed from today's data; the applications suspension-sweep stored \
            (credit_applications) are what its last run computed, and its next run brings them \
            to what this command shows. Nothing is written: it runs as supportbill_runner.

            Examples:
              supportbill balance --customer 8
              supportbill balance --customer 8 --as-of 2026-11-30T23:59:59Z --format json
            """
    )

    @Option(name: .customLong("customer"), help: ArgumentHelp("The customer id.", valueName: "id"))
    var customer: Int64

    @Option(help: ArgumentHelp("An RFC 3339 instant or a date (YYYY-MM-DD = 00:00:00Z). Default: now.", valueName: "instant"))
    var asOf: String?

    @Option(help: ArgumentHelp("text (for people) or json (one object, sorted, for scripts).", valueName: "format"))
    var format: ViewFormat = .text

    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        guard customer > 0 else { throw ValidationError("--customer: \(customer) is not a customer id") }
        if let asOf {
            do { _ = try Instant(rfc3339: asOf) } catch { throw ValidationError("--as-of: \(error)") }
        }
    }

    func run() throws {
        let when = try asOf.map { try Instant(rfc3339: $0) } ?? Instant.now
        let balance: SettlementStore.Balance
        let currencies: [CurrencyCode: Currency]
        let documents: [Int64: Document]
        do {
            let db = try database.target.connect()
            defer { db.close() }
            try Migrator().verify(db)
            balance = try SettlementStore.balance(db, customer: customer, asOf: when)
            currencies = try CurrencyTable.load(db)
            documents = try BalanceCommand.documents(db, customer: customer)
        } catch let error as SettlementStore.UnknownCustomer {
            FileHandle.standardError.write(Data("supportbill: error: \(error)\n".utf8))
            throw ExitCode(ExitStatus.usage.rawValue)
        } catch {
            throw failure(error)
        }
        switch format {
        case .json: print(BalanceCommand.json(balance, documents: documents).prettyText)
        case .text: print(BalanceCommand.text(balance, currencies: currencies, documents: documents), terminator: "")
        }
    }

    /// What an invoice says as a document: its number, net, tax per rate and note
    /// (docs/invoices.md); its `total` (gross) is what payments and credit settle.
    struct Document {
        var number: String?
        var subtotal: Int64
        var taxTotal: Int64
        var taxNote: String?
        /// (rate, percent, base, tax) per rate.
        var taxes: [(rate: String, percent: ExactDecimal, base: Int64, tax: Int64)] = []
    }

    /// The customer's invoices as documents, in two queries.
    static func documents(_ db: PostgresConnection, customer: Int64) throws -> [Int64: Document] {
        var documents: [Int64: Document] = [:]
        for row in try db.query("SELECT id, number, subtotal, tax_total, tax_note FROM invoices WHERE customer_id = $1", [customer]) {
            documents[try row.decode(0, as: Int64.self)] = Document(
                number: try row.decode(1, as: String?.self), subtotal: try row.decode(2), taxTotal: try row.decode(3),
                taxNote: try row.decode(4, as: String?.self))
        }
        for row in try db.query("""
            SELECT invoice_id, tax_rate, tax_percent, base, tax FROM invoice_taxes
             WHERE customer_id = $1 ORDER BY invoice_id, tax_rate, tax_percent
            """, [customer]) {
            let id = try row.decode(0, as: Int64.self)
            documents[id]?.taxes.append((try row.decode(1), try row.decode(2, as: ExactDecimal.self).normalized, try row.decode(3), try row.decode(4)))
        }
        return documents
    }

    /// The open invoices: outstanding after payments and credit, by due date then id.
    static func open(_ balance: SettlementStore.Balance) -> [(SettlementStore.InvoiceLine, CreditSettlement.Standing)] {
        balance.invoices.compactMap { line in
            guard let standing = balance.settlement.standing(line.invoice.id), !standing.isSettled else { return nil }
            return (line, standing)
        }
    }

    static func json(_ balance: SettlementStore.Balance, documents: [Int64: Document] = [:]) -> JSONValue {
        let applications = balance.settlement.applications
        return .object([
            ("customer_id", .int(balance.customerID)), ("name", .string(balance.name)), ("timezone", .string(balance.timezone)),
            ("as_of", .string(balance.asOf.description)), ("local_as_of", .string(balance.localAsOf.description)),
            ("open_invoices", .array(open(balance).map { line, standing in
                .object([
                    ("invoice_id", .int(line.invoice.id)), ("kind", .string(line.invoice.kind)), ("status", .string(line.status)),
                    ("currency", .string(line.invoice.currency.rawValue)), ("total", .int(line.invoice.total)),
                    ("number", documents[line.invoice.id]?.number.map { .string($0) } ?? .null),
                    ("subtotal", .int(documents[line.invoice.id]?.subtotal ?? line.invoice.total)),
                    ("tax_total", .int(documents[line.invoice.id]?.taxTotal ?? 0)),
                    ("taxes", .array((documents[line.invoice.id]?.taxes ?? []).map { tax in
                        .object([("tax_rate", .string(tax.rate)), ("tax_percent", .decimal(tax.percent.description)),
                                 ("base", .int(tax.base)), ("tax", .int(tax.tax))])
                    })),
                    ("tax_note", documents[line.invoice.id]?.taxNote.map { .string($0) } ?? .null),
                    ("due_on", .string(line.invoice.dueOn.description)),
                    ("days_past_due", .int(Int64(max(0, line.invoice.dueOn.days(until: balance.localAsOf))))),
                    ("paid", .int(line.invoice.paid)), ("credited", .int(standing.credited)), ("outstanding", .int(standing.outstanding)),
                    ("payments", .array(line.payments.map { payment in
                        .object([
                            ("payment_id", .int(payment.id)), ("amount", .int(payment.amount)), ("currency", .string(payment.currency.rawValue)),
                            ("received_at", .string(payment.receivedAt.description)), ("status", .string(payment.status)),
                        ])
                    })),
                    ("credit", .array(applications.filter { $0.invoiceID == line.invoice.id }.map { application in
                        .object([("credit_note_id", .int(application.creditNoteID)), ("amount", .int(application.amount))])
                    })),
                ])
            })),
            ("credit_notes", .array(balance.creditNotes.map { row in
                let note = row.creditNote
                return .object([
                    ("credit_note_id", .int(note.id)), ("currency", .string(note.currency.rawValue)), ("amount", .int(note.amount)),
                    ("period_start", note.periodStart.map { .string($0.description) } ?? .null),
                    ("unapplied", .int(balance.settlement.unappliedByNote[note.id] ?? 0)),
                    ("applications", .array(applications.filter { $0.creditNoteID == note.id }.map { application in
                        .object([
                            ("invoice_id", .int(application.invoiceID)), ("amount", .int(application.amount)),
                            ("rule", .string(application.rule.rawValue)),
                        ])
                    })),
                ])
            })),
            ("unapplied_credit", .object(balance.settlement.unapplied.sorted { $0.key.rawValue < $1.key.rawValue }.map { ($0.key.rawValue, .int($0.value)) })),
        ])
    }

    static func text(_ balance: SettlementStore.Balance, currencies: [CurrencyCode: Currency], documents: [Int64: Document] = [:]) -> String {
        func money(_ amount: Int64, _ code: CurrencyCode) -> String {
            (currencies[code] ?? Currency(code: code, minorUnits: 2)).format(amount)
        }
        var lines = ["\(balance.name) (customer \(balance.customerID)): balance as of \(balance.asOf) (\(balance.localAsOf), \(balance.timezone))"]
        let open = open(balance)
        lines.append("")
        if open.isEmpty {
            lines.append("No open invoices.")
        } else {
            lines.append("Open invoices")
            var rows = [["INVOICE", "KIND", "DUE", "TOTAL", "PAID", "CREDITED", "OUTSTANDING"]]
            var details: [[String]] = []
            for (line, standing) in open {
                let code = line.invoice.currency
                let late = line.invoice.dueOn.days(until: balance.localAsOf)
                let document = documents[line.invoice.id]
                rows.append([String(line.invoice.id) + (document?.number.map { " \($0)" } ?? ""), line.invoice.kind, line.invoice.dueOn.description + (late > 0 ? " (\(late) days ago)" : ""),
                             money(line.invoice.total, code), money(line.invoice.paid, code), money(standing.credited, code),
                             money(standing.outstanding, code)])
                var detail: [String] = []
                if let document, !document.taxes.isEmpty || document.taxNote != nil {
                    // The total is gross: net and tax per rate, then the note.
                    let taxes = document.taxes.map { "tax \($0.rate) \($0.percent) % of \(money($0.base, code)): \(money($0.tax, code))" }
                    detail.append((["net \(money(document.subtotal, code))"] + taxes).joined(separator: ", "))
                    if let note = document.taxNote { detail.append(note) }
                }
                for payment in line.payments {
                    detail.append("payment \(payment.id) \(money(payment.amount, payment.currency)) received \(payment.receivedAt) \(payment.status)")
                }
                for application in balance.settlement.applications where application.invoiceID == line.invoice.id {
                    detail.append("credit note \(application.creditNoteID): \(money(application.amount, code))")
                }
                details.append(detail)
            }
            var widths = Array(repeating: 0, count: rows[0].count)
            for row in rows { for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) } }
            func format(_ row: [String]) -> String {
                "  " + row.enumerated().map { index, cell in
                    index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
                }.joined(separator: "  ")
            }
            lines.append(format(rows[0]))
            for (index, row) in rows.dropFirst().enumerated() {
                lines.append(format(row))
                lines += details[index].map { "      " + $0 }
            }
        }
        if !balance.creditNotes.isEmpty {
            lines.append("")
            lines.append("Credit notes")
            for row in balance.creditNotes {
                let note = row.creditNote
                let month = note.periodStart.map { " for \($0)..\(note.periodEnd.map { $0.adding(days: -1).description } ?? "")" } ?? ""
                let applied = balance.settlement.applications.filter { $0.creditNoteID == note.id }
                    .map { "invoice \($0.invoiceID) \(money($0.amount, note.currency))" }
                lines.append("  \(note.id)\(month): \(money(note.amount, note.currency)); applied: "
                    + (applied.isEmpty ? "nothing" : applied.joined(separator: ", "))
                    + "; unapplied \(money(balance.settlement.unappliedByNote[note.id] ?? 0, note.currency))")
            }
        }
        lines.append("")
        let unapplied = balance.settlement.unapplied.sorted { $0.key.rawValue < $1.key.rawValue }.filter { $0.value > 0 }
        lines.append("Unapplied credit: " + (unapplied.isEmpty ? "none" : unapplied.map { money($0.value, $0.key) }.joined(separator: ", ")))
        return lines.map(TextSafety.printable).joined(separator: "\n") + "\n"
    }
}
