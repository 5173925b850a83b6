import BillingCore

/// The JSON report (`JobReport.json`, pretty-printed, plus a final newline) written piece by
/// piece: one row at a time from `JobReport.records`, so a report of millions of rows never
/// exists in memory as one value or one string.
public enum JSONReport {
    public static func write(_ report: JobReport, to output: (String) -> Void) throws {
        output("{")
        var first = true
        func key(_ name: String) {
            output((first ? "" : ",") + "\n  " + JSONValue.string(name).compactText + ": ")
            first = false
        }
        for (name, value) in report.headFields {
            key(name)
            output(indented(value, levels: 1))
        }
        for section in ReportSection.allCases {
            key(section.rawValue)
            var any = false
            try report.records.forEach(section) { record in
                output((any ? "," : "[") + "\n    " + indented(record.fields, levels: 2))
                any = true
            }
            output(any ? "\n  ]" : "[]")
        }
        for (name, value) in report.tailFields {
            key(name)
            output(indented(value, levels: 1))
        }
        output("\n}\n")
    }

    /// `value.prettyText` as it reads nested `levels` deep: pretty-printed JSON strings hold no
    /// raw newline, so every newline starts a line to indent.
    static func indented(_ value: JSONValue, levels: Int) -> String {
        let text = value.prettyText
        guard text.contains("\n") else { return text }
        return text.replacingOccurrences(of: "\n", with: "\n" + String(repeating: "  ", count: levels))
    }
}
