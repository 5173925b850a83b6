import BillingCore
import BillingJobs
import Testing

@Suite("Reports: JSON shape, CSV, text")
struct ReportTests {
    private func sample() throws -> JobReport {
        var output = JobOutput()
        output.count("invoices")
        output.total("invoiced", 13500, try CurrencyCode("USD"))
        output.append(.invoices, ReportRecord(customerID: 2, sortKey: "b", fields: [
            ("id", 7), ("customer_id", 2), ("kind", "period"), ("period_start", "2026-10-01"), ("period_end", "2026-11-01"),
            ("status", "issued"), ("due_on", "2026-11-15"), ("total", 13500), ("currency", "USD"), ("source_key", "inv:2"),
            ("items", [.object([("kind", "usage"), ("description", "Overtime, \"rush\""), ("amount", 13500), ("quantity", .decimal("2.25"))])]),
        ]))
        output.append(.invoices, ReportRecord(customerID: 1, sortKey: "a", fields: [("id", 6), ("customer_id", 1), ("total", 1), ("currency", "USD"), ("source_key", "inv:1")]))
        output.append(.events, ReportRecord(customerID: 1, sortKey: "e", fields: [("event", "suspended"), ("detail", "=HYPERLINK(\"x\")")]))
        output.skip(9, "unknown time zone \"Mars/Olympus\"")
        output.skip(3, "no price in USD")
        return JobReport(job: .monthlyRollup, runID: 42, dryRun: false, asOf: try Instant(rfc3339: "2026-11-01T14:00:00Z"),
                         period: try YearMonth("2026-10"), status: .partial, output: output, error: nil, exitStatus: .dataError,
                         durationMilliseconds: 12, currencies: [try CurrencyCode("USD"): Currency(code: try CurrencyCode("USD"), minorUnits: 2)])
    }

    @Test("JSON has the keys of docs/design.md §5, rows sorted by customer")
    func json() throws {
        let json = try sample().json
        let keys = (json.objectValue ?? []).map(\.0)
        for key in ["job", "run_id", "dry_run", "as_of", "status", "counts", "totals", "invoices", "items", "ledger", "grants", "uses", "charges", "events", "skipped"] {
            #expect(keys.contains(key), "missing \(key)")
        }
        #expect(json["job"] == "monthly-rollup")
        #expect(json["run_id"] == 42)
        #expect(json["totals"]?["USD"]?["invoiced"] == 13500)
        #expect(json["invoices"]?.arrayValue?.map { $0["customer_id"]?.intValue } == [1, 2])
        #expect(json["skipped"]?.arrayValue?.map { $0["customer_id"]?.intValue } == [3, 9])
        #expect(json["invoices"]?.arrayValue?[1]["items"]?.arrayValue?.first?["quantity"] == .decimal("2.25"))
        #expect(!json.compactText.contains("duration"))
    }

    @Test("CSV quotes, flattens items and defuses formulas")
    func csv() throws {
        let text = CSVReport.render(try sample())
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines[0].hasPrefix("section,id,customer_id"))
        #expect(lines.contains { $0.hasPrefix("invoice_items,") && $0.contains("\"Overtime, \"\"rush\"\"\"") && $0.contains(",2.25") })
        #expect(lines.contains { $0.contains("\"'=HYPERLINK(\"\"x\"\")\"") })
        #expect(lines.contains { $0.hasPrefix("skipped,") && $0.contains("Mars/Olympus") })
    }

    @Test("text shows totals in the currency's units and the skipped customers")
    func text() throws {
        let text = TextReport.render(try sample())
        #expect(text.contains("monthly-rollup  run 42"))
        #expect(text.contains("invoiced 135.00 USD"))
        #expect(text.contains("2026-10-01..2026-10-31"))
        #expect(text.contains("customer 9: unknown time zone"))
        #expect(text.contains("status partial"))
    }
}
