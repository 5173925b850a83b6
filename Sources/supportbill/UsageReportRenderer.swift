import BillingCore
import BillingJobs
import BillingStore

/// Text, CSV and JSON forms of a `UsageReport`.
enum UsageReportRenderer {
    static func hours(_ minutes: Int64) -> String {
        ((try? MoneyMath.hours(minutes: minutes)).map { "\($0)" } ?? "\(minutes) min") + " h"
    }

    static func text(_ r: UsageReport) -> String {
        let money = { (minor: Int64) in r.currency.format(minor) }
        var lines = ["Support usage · \(r.customerName) (customer \(r.customerID)) · \(r.month) · \(r.timeZone)", ""]
        lines.append("Services")
        for s in r.services {
            var line = "  \(s.id)  \(s.planName) [\(s.billing), \(s.status)]"
            switch s.billing {
            case "metered":
                let over = max(0, s.roundedMinutes - Int64(s.includedMinutes))
                line += ": \(hours(s.roundedMinutes)) used"
                if s.includedMinutes > 0 { line += " of \(hours(Int64(s.includedMinutes))) included" }
                if over > 0, let rate = s.hourlyRate { line += ", \(hours(over)) beyond at \(money(rate))/h" }
            case "prepaid":
                line += ": \(hours(s.roundedMinutes)) used"
                if let debited = s.creditDebitedThisMonth { line += ", \(money(-debited)) debited" }
                if let balance = s.creditBalance { line += "; credit left \(money(balance))" }
            default:
                if s.roundedMinutes > 0 { line += ": \(hours(s.roundedMinutes)) recorded" }
            }
            lines.append(line)
        }
        if r.services.isEmpty { lines.append("  none") }
        lines.append("")
        lines.append("Incidents available at the end of the month: \(r.incidentsTimeLimited) time-limited, \(r.incidentsLifetime) lifetime; used this month: \(r.incidentsUsedThisMonth)")
        if !r.contracts.isEmpty {
            lines.append("")
            lines.append("Contracts")
            for c in r.contracts {
                let left = c.minutesLeft.map { "\(hours($0)) left of \(hours(c.minutesLimit ?? 0))" } ?? "unlimited time"
                lines.append("  \(c.id)  \(c.kind) (\(c.scope), \(c.status)): \(hours(c.minutesUsed)) used, \(left)")
            }
        }
        lines.append("")
        lines.append("Time entries (\(r.entries.count))")
        var currentTicket: Int64?
        for e in r.entries {
            if e.ticketID != currentTicket {
                lines.append("  ticket #\(e.ticketID) \(e.ticketSubject)")
                currentTicket = e.ticketID
            }
            var line = "    \(e.localDate)  \(e.minutes) min"
            if e.roundedMinutes != e.minutes { line += " → \(e.roundedMinutes) min" }
            if !e.billable { line += " (not billable)" }
            if let staff = e.staff { line += "  \(staff)" }
            if let note = e.note { line += "  \(note)" }
            for charge in e.charges {
                line += "  [\(charge.outcome) \(charge.minutes) min\(charge.contractID.map { " on contract \($0)" } ?? "")]"
            }
            lines.append(line)
        }
        lines.append("")
        lines.append("Billed for the month")
        for item in r.items {
            let invoice = item.invoiceID.map { "invoice \($0)\(item.invoiceNumber.map { " \($0)" } ?? "") (\(item.invoiceStatus ?? "?"))" } ?? "not invoiced yet"
            lines.append("  \(item.kind.padding(to: 14)) \(item.description.padding(to: 58)) \(money(item.amount).leftPadding(to: 14))  \(invoice)")
        }
        if r.items.isEmpty { lines.append("  nothing yet") }
        // The invoices as documents: net, tax per rate, gross (what is paid), the note.
        if !r.invoices.isEmpty {
            lines.append("")
            lines.append("Invoices")
            for invoice in r.invoices {
                var line = "  \(invoice.number ?? "invoice \(invoice.id)") (\(invoice.status)): net \(money(invoice.subtotal))"
                for tax in invoice.taxes { line += ", tax \(tax.rate) \(tax.percent) % of \(money(tax.base)): \(money(tax.tax))" }
                line += ", total \(money(invoice.total))"
                if let note = invoice.taxNote { line += "  \(note)" }
                lines.append(line)
            }
        }
        return lines.map(TextSafety.printable).joined(separator: "\n") + "\n"
    }

    /// One row per time entry.
    static func csv(_ r: UsageReport) -> String {
        var output = "customer_id,ticket_id,ticket_subject,time_entry_id,service_id,worked_at,local_date,minutes,rounded_minutes,billable,staff,note,charges\n"
        for e in r.entries {
            let charges = e.charges.map { "\($0.outcome):\($0.minutes)\($0.contractID.map { "@\($0)" } ?? "")" }.joined(separator: " ")
            let cells = [String(r.customerID), String(e.ticketID), e.ticketSubject, String(e.id), e.serviceID.map(String.init) ?? "",
                         e.workedAt.description, e.localDate.description, String(e.minutes), String(e.roundedMinutes),
                         e.billable ? "true" : "false", e.staff ?? "", e.note ?? "", charges]
            output += cells.map(CSVReport.quote).joined(separator: ",") + "\n"
        }
        return output
    }

    static func json(_ r: UsageReport) -> JSONValue {
        .object([
            ("customer_id", .int(r.customerID)), ("name", .string(r.customerName)), ("currency", .string(r.currency.code.rawValue)),
            ("timezone", .string(r.timeZone)), ("period", .string(r.month.description)),
            ("services", .array(r.services.map { s in
                .object([
                    ("service_id", .int(s.id)), ("plan", .string(s.planCode)), ("billing", .string(s.billing)), ("status", .string(s.status)),
                    ("included_minutes", .int(Int64(s.includedMinutes))), ("increment_minutes", .int(Int64(s.incrementMinutes))),
                    ("hourly_rate", s.hourlyRate.map { .int($0) } ?? .null), ("rounded_minutes", .int(s.roundedMinutes)),
                    ("credit_balance", s.creditBalance.map { .int($0) } ?? .null),
                    ("credit_debited_this_month", s.creditDebitedThisMonth.map { .int($0) } ?? .null),
                ])
            })),
            ("incidents", .object([("time_limited", .int(r.incidentsTimeLimited)), ("lifetime", .int(r.incidentsLifetime)),
                                   ("used_this_month", .int(Int64(r.incidentsUsedThisMonth)))])),
            ("contracts", .array(r.contracts.map { c in
                .object([("contract_id", .int(c.id)), ("kind", .string(c.kind)), ("status", .string(c.status)), ("scope", .string(c.scope)),
                         ("minutes_limit", c.minutesLimit.map { .int($0) } ?? .null), ("minutes_used", .int(c.minutesUsed)),
                         ("minutes_left", c.minutesLeft.map { .int($0) } ?? .null)])
            })),
            ("time_entries", .array(r.entries.map { e in
                .object([
                    ("time_entry_id", .int(e.id)), ("ticket_id", .int(e.ticketID)), ("ticket_subject", .string(e.ticketSubject)),
                    ("service_id", e.serviceID.map { .int($0) } ?? .null), ("worked_at", .string(e.workedAt.description)),
                    ("local_date", .string(e.localDate.description)), ("minutes", .int(Int64(e.minutes))),
                    ("rounded_minutes", .int(Int64(e.roundedMinutes))), ("billable", .bool(e.billable)),
                    ("staff", e.staff.map { .string($0) } ?? .null), ("note", e.note.map { .string($0) } ?? .null),
                    ("charges", .array(e.charges.map { .object([("contract_id", $0.contractID.map { .int($0) } ?? .null), ("minutes", .int(Int64($0.minutes))), ("outcome", .string($0.outcome))]) })),
                ])
            })),
            ("items", .array(r.items.map { i in
                .object([("id", .int(i.id)), ("kind", .string(i.kind)), ("description", .string(i.description)),
                         ("service_id", i.serviceID.map { .int($0) } ?? .null), ("quantity", .decimal(i.quantity.description)),
                         ("unit_price", .int(i.unitPrice)), ("amount", .int(i.amount)),
                         ("invoice_id", i.invoiceID.map { .int($0) } ?? .null), ("invoice_status", i.invoiceStatus.map { .string($0) } ?? .null),
                         ("invoice_number", i.invoiceNumber.map { .string($0) } ?? .null),
                         ("tax_rate", i.taxRate.map { .string($0) } ?? .null),
                         ("tax_percent", i.taxPercent.map { .decimal($0.description) } ?? .null)])
            })),
            ("invoices", .array(r.invoices.map { i in
                .object([("id", .int(i.id)), ("number", i.number.map { .string($0) } ?? .null), ("status", .string(i.status)),
                         ("subtotal", .int(i.subtotal)), ("tax_total", .int(i.taxTotal)), ("total", .int(i.total)),
                         ("tax_note", i.taxNote.map { .string($0) } ?? .null),
                         ("taxes", .array(i.taxes.map { tax in
                             .object([("tax_rate", .string(tax.rate)), ("tax_percent", .decimal(tax.percent.description)),
                                      ("base", .int(tax.base)), ("tax", .int(tax.tax))])
                         }))])
            })),
        ])
    }
}
