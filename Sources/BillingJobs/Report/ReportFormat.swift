/// `--format`: how a report is printed.
public enum ReportFormat: String, CaseIterable, Sendable {
    /// A summary for people.
    case text
    /// One JSON object (docs/design.md §5), for machines and golden files.
    case json
    /// One row per emitted record, for spreadsheets.
    case csv
    /// The text report without its rows (docs/design.md §11): run line, counts, totals, notices,
    /// every skipped and reported customer with the reason. Its size does not grow with the
    /// rows, so a journal keeps it whole; `supportbill runs show RUN_ID` prints the rest.
    case summary

    /// The whole report as one string: for small reports (tests, the demo).
    public func render(_ report: JobReport) -> String {
        var text = ""
        do {
            try write(report) { text += $0 }
        } catch {
            text += "\nerror: the report could not be completed: \(error)\n"
        }
        return text
    }

    /// Streams the report to `output` piece by piece, reading the rows back from the run's
    /// temporary file when there were many: the text is the same as `render`'s.
    public func write(_ report: JobReport, to output: (String) -> Void) throws {
        switch self {
        case .text: try TextReport.write(report, to: output)
        case .json: try JSONReport.write(report, to: output)
        case .csv: try CSVReport.write(report, to: output)
        case .summary: try TextReport.write(report, rows: false, to: output)
        }
    }
}
