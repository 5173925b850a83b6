import Foundation

import BillingCore

/// One CSV row per emitted record: `section`, then the union of the records' column names in
/// the order they first appear. An invoice's items become rows of section `invoice_items` with
/// the invoice's `source_key` as `invoice_source_key`. Skipped customers are rows of section
/// `skipped`, reported ones of section `reported`.
public enum CSVReport {
    public static func render(_ report: JobReport) -> String {
        var rows: [(section: String, fields: [(String, JSONValue)])] = []
        for section in ReportSection.allCases {
            for record in report.output.records[section] ?? [] {
                guard let fields = record.fields.objectValue else { continue }
                rows.append((section.rawValue, fields.filter { $0.1.arrayValue == nil }))
                for (key, value) in fields {
                    guard let nested = value.arrayValue else { continue }
                    let parentKey = record.fields["source_key"] ?? .null
                    for child in nested {
                        guard let childFields = child.objectValue else { continue }
                        rows.append(("\(section.rawValue.dropLast())_\(key)", [("\(section.rawValue.dropLast())_source_key", parentKey)] + childFields))
                    }
                }
            }
        }
        for skip in report.output.skipped {
            rows.append(("skipped", [("customer_id", .int(skip.customerID)), ("reason", .string(skip.reason))]))
        }
        for flagged in report.output.reported {
            rows.append(("reported", [("customer_id", .int(flagged.customerID)), ("reason", .string(flagged.reason))]))
        }
        var columns: [String] = []
        var seen = Set<String>()
        for row in rows {
            for (key, _) in row.fields where !seen.contains(key) {
                seen.insert(key)
                columns.append(key)
            }
        }
        var output = (["section"] + columns).map(quote).joined(separator: ",") + "\n"
        for row in rows {
            let lookup = Dictionary(row.fields, uniquingKeysWith: { first, _ in first })
            let cells = [row.section] + columns.map { lookup[$0].map(cell) ?? "" }
            output += cells.map(quote).joined(separator: ",") + "\n"
        }
        return output
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
    /// (OWASP's list: `=`, `+`, `-`, `@`, tab and carriage return), numbers excepted.
    public static func quote(_ text: String) -> String {
        var value = text
        if let first = value.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first), Int64(value) == nil, ExactDecimal(value) == nil {
            value = "'" + value
        }
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
