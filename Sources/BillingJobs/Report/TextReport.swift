import BillingCore

/// The report for people: a headline, counts, totals per currency, the emitted rows (invoices
/// with their items, then one line per other record) and the skipped customers.
public enum TextReport {
    public static func render(_ report: JobReport) -> String {
        ReportFormat.text.render(report)
    }

    /// Streams the report line by line (each with its newline), every line made printable
    /// (`TextSafety`): names and notes typed by people must not drive the terminal. Without
    /// `rows` it is the summary: everything but the emitted rows.
    public static func write(_ report: JobReport, rows: Bool = true, to output: (String) -> Void) throws {
        func line(_ text: String) { output(TextSafety.printable(text) + "\n") }
        var headline = "\(report.job)"
        if let runID = report.runID { headline += "  run \(runID)" }
        if report.dryRun { headline += "  (dry run: nothing was written)" }
        line(headline)
        var facts = ["as of \(report.asOf)"]
        if let period = report.period { facts.append("period \(period)") }
        facts.append("status \(report.status?.rawValue ?? "not started")")
        facts.append("exit \(report.exitStatus.rawValue)")
        facts.append("\(report.durationMilliseconds) ms")
        line(facts.joined(separator: "  ·  "))
        if let error = report.error { line("error: \(error)") }

        let output = report.output
        if !output.counts.isEmpty {
            line("")
            line(output.counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: "  ·  "))
        }
        if !output.totals.isEmpty {
            line("")
            line("Totals")
            for (code, named) in output.totals.sorted(by: { $0.key < $1.key }) {
                let parts = named.sorted { $0.key < $1.key }.map { "\($0.key) \(format($0.value, code, report))" }
                line("  \(code)  " + parts.joined(separator: "  ·  "))
            }
        }
        for notice in output.notices {
            line("")
            line("note: \(notice)")
        }
        if !rows {
            if let runID = report.runID, !report.dryRun, !report.records.isEmpty {
                line("")
                line("rows: supportbill runs show \(runID)")
            }
        }
        if rows && report.records.count(.invoices) > 0 {
            line("")
            line("Invoices")
            try report.records.forEach(.invoices) { invoice in
                for text in invoiceLines(invoice.fields, report) { line(text) }
            }
        }
        for section in ReportSection.allCases where rows && section != .invoices && report.records.count(section) > 0 {
            line("")
            line(section.rawValue.prefix(1).uppercased() + section.rawValue.dropFirst())
            try report.records.forEach(section) { record in line("  " + recordLine(record.fields, report)) }
        }
        if !output.skipped.isEmpty {
            line("")
            line("Skipped customers (not billed; fix the data and re-run)")
            for skip in output.skipped { line("  customer \(skip.customerID): \(skip.reason)") }
        }
        if !output.reported.isEmpty {
            line("")
            line("Reported customers (billed, but a safety limit needs a look)")
            for flagged in output.reported { line("  customer \(flagged.customerID): \(flagged.reason)") }
        }
    }

    static func invoiceLines(_ invoice: JSONValue, _ report: JobReport) -> [String] {
        let code = invoice["currency"]?.stringValue.flatMap { try? CurrencyCode($0) }
        var head = "  invoice"
        if let id = invoice["id"]?.intValue { head += " \(id)" }
        if let number = invoice["number"]?.stringValue { head += " \(number)" }
        if let customer = invoice["customer_id"]?.intValue { head += "  customer \(customer)" }
        if let kind = invoice["kind"]?.stringValue { head += "  \(kind)" }
        if let start = invoice["period_start"]?.stringValue, let end = invoice["period_end"]?.stringValue,
           let endDate = try? LocalDate(end) {
            head += "  \(start)..\(endDate.adding(days: -1))"
        }
        if let status = invoice["status"]?.stringValue { head += "  \(status)" }
        if let due = invoice["due_on"]?.stringValue { head += "  due \(due)" }
        if let total = invoice["total"]?.intValue, let code { head += "  total \(format(total, code, report))" }
        var lines = [head]
        for item in invoice["items"]?.arrayValue ?? [] {
            let kind = item["kind"]?.stringValue ?? ""
            let description = item["description"]?.stringValue ?? ""
            let amount = item["amount"]?.intValue.flatMap { amount in code.map { format(amount, $0, report) } } ?? ""
            lines.append("      " + pad(kind, 14) + pad(description, 58) + " " + leftPad(amount, 16))
        }
        lines += taxLines(invoice, code, report)
        return lines
    }

    /// A taxed invoice's net, tax per rate and note under its items (docs/invoices.md, "Taxes");
    /// nothing for an untaxed one without a note, whose total is its net.
    static func taxLines(_ invoice: JSONValue, _ code: CurrencyCode?, _ report: JobReport) -> [String] {
        let taxes = invoice["taxes"]?.arrayValue ?? []
        let note = invoice["tax_note"]?.stringValue
        guard let code, !taxes.isEmpty || note != nil else { return [] }
        var lines: [String] = []
        if let subtotal = invoice["subtotal"]?.intValue {
            lines.append("      " + pad("net", 14) + pad("", 58) + " " + leftPad(format(subtotal, code, report), 16))
        }
        for line in taxes {
            let rate = line["tax_rate"]?.stringValue ?? ""
            let percent = line["tax_percent"].map(\.compactText) ?? ""
            let base = line["base"]?.intValue.map { format($0, code, report) } ?? ""
            let tax = line["tax"]?.intValue.map { format($0, code, report) } ?? ""
            lines.append("      " + pad("tax", 14) + pad("\(rate) \(percent) % of \(base)", 58) + " " + leftPad(tax, 16))
        }
        if let total = invoice["total"]?.intValue {
            lines.append("      " + pad("gross", 14) + pad("", 58) + " " + leftPad(format(total, code, report), 16))
        }
        if let note { lines.append("      note: \(note)") }
        return lines
    }

    static func recordLine(_ record: JSONValue, _ report: JobReport) -> String {
        let code = record["currency"]?.stringValue.flatMap { try? CurrencyCode($0) }
        let moneyKeys: Set<String> = ["amount", "total", "unit_price", "hourly_rate", "subtotal", "tax_total", "base", "tax"]
        // Stored ends are exclusive (period_end, valid_until); people read the inclusive end,
        // end - 1 day, as every other report prints it (docs/design.md §3).
        let exclusiveEnds: Set<String> = ["period_end", "valid_until"]
        return (record.objectValue ?? []).compactMap { key, value -> String? in
            if case .null = value { return nil }
            if exclusiveEnds.contains(key), let text = value.stringValue, let end = try? LocalDate(text) {
                return "\(key == "valid_until" ? "valid_through" : "period_through") \(end.adding(days: -1))"
            }
            if moneyKeys.contains(key), let amount = value.intValue, let code { return "\(key) \(format(amount, code, report))" }
            if key == "currency" && code != nil { return nil }
            switch value {
            case .string(let text): return "\(key) \(text)"
            case .object, .array: return "\(key) \(value.compactText)"
            default: return "\(key) \(value.compactText)"
            }
        }.joined(separator: "  ")
    }

    static func format(_ minor: Int64, _ code: CurrencyCode, _ report: JobReport) -> String {
        (report.currencies[code] ?? Currency(code: code, minorUnits: 2)).format(minor)
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    private static func leftPad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }
}
