/// `--format`: how a report is printed.
public enum ReportFormat: String, CaseIterable, Sendable {
    /// A summary for people.
    case text
    /// One JSON object (DESIGN.md §5), for machines and golden files.
    case json
    /// One row per emitted record, for spreadsheets.
    case csv

    public func render(_ report: JobReport) -> String {
        switch self {
        case .text: return TextReport.render(report)
        case .json: return report.json.prettyText + "\n"
        case .csv: return CSVReport.render(report)
        }
    }
}
