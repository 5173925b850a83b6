import Foundation

import BillingCore

/// One CSV row per emitted record: `section`, then the union of the records' column names in
/// the order they first appear. An invoice's items become rows of section `invoice_items` with
/// the invoice's `source_key` as `invoice_source_key`. Skipped customers are rows of section
/// `skipped`, reported ones of section `reported`.
public enum CSVReport {
    public static func render(_ report: JobReport) -> String {
        ReportFormat.csv.render(report)
    }

    /// Streams the report row by row. The header needs every column first, so the rows are
    /// read twice: once for the column names, once to print them.
    public static func write(_ report: JobReport, to output: (String) -> Void) throws {
        var columns: [String] = []
        var seen = Set<String>()
        try forEachRow(report) { _, fields in
            for (key, _) in fields where !seen.contains(key) {
                seen.insert(key)
                columns.append(key)
            }
        }
        output((["section"] + columns).map(quote).joined(separator: ",") + "\n")
        try forEachRow(report) { section, fields in
            let lookup = Dictionary(fields, uniquingKeysWith: { first, _ in first })
            let cells = [section] + columns.map { lookup[$0].map(cell) ?? "" }
            output(cells.map(quote).joined(separator: ",") + "\n")
        }
    }

    /// Every CSV row in order: each record, an invoice's items after it, skipped and reported
    /// customers last.
    private static func forEachRow(_ report: JobReport, _ body: (String, [(String, JSONValue)]) -> Void) throws {
        for section in ReportSection.allCases {
            try report.records.forEach(section) { record in
                guard let fields = record.fields.objectValue else { return }
                body(section.rawValue, fields.filter { $0.1.arrayValue == nil })
                for (key, value) in fields {
                    guard let nested = value.arrayValue else { continue }
                    let parentKey = record.fields["source_key"] ?? .null
                    for child in nested {
                        guard let childFields = child.objectValue else { continue }
                        body("\(section.rawValue.dropLast())_\(key)", [("\(section.rawValue.dropLast())_source_key", parentKey)] + childFields)
                    }
                }
            }
        }
        for skip in report.output.skipped {
            body("skipped", [("customer_id", .int(skip.customerID)), ("reason", .string(skip.reason))])
        }
        for flagged in report.output.reported {
            body("reported", [("customer_id", .int(flagged.customerID)), ("reason", .string(flagged.reason))])
        }
    }

    private static func cell(_ value: JSONValue) -> String {
        switch value {
        case .null: return ""
        case .bool(let flag): return flag ? "true" : "false"
        case .int(let number): return String(number)
        case .decimal(let text), .string(let text): return text
        case .array, .object: return value.compactText
        }
    }

    /// RFC 4180 quoting, plus a leading `'` on cells a spreadsheet would run as a formula
    /// (OWASP's list: `=`, `+`, `-`, `@`, tab and carriage return), numbers excepted. Control
    /// characters other than tab, newline and carriage return (which quoting carries), ESC and
    /// BEL among them, and bidirectional overrides are written as `\u{XX}` as in text reports
    /// (`TextSafety`): a CSV file is also read with `cat` and `less`.
    public static func quote(_ text: String) -> String {
        var value = TextSafety.printable(text, keeping: ["\t", "\n", "\r"])
        if let first = value.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first), Int64(value) == nil, ExactDecimal(value) == nil {
            value = "'" + value
        }
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
