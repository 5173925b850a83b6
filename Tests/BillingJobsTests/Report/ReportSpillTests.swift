import BillingCore
import BillingJobs
import Foundation
import TestSupport
import Testing

@Suite("Report rows beyond the memory bound go to a temporary file and come back in the same order")
struct ReportSpillTests {
    static let asOf = try! Instant(rfc3339: "2026-11-01T14:00:00Z")

    private func record(_ customer: Int64?, _ key: String, _ tag: Int64) -> ReportRecord {
        ReportRecord(customerID: customer, sortKey: key, fields: [("tag", .int(tag)), ("q", .decimal("1")), ("t", .string("x\"\n"))])
    }

    /// Runs of rows as a runner appends them: in order, then one that starts a new chain, equal keys.
    private var runs: [[ReportSection: [ReportRecord]]] {
        [
            [.events: [record(9, "a", 1), record(nil, "z", 2)], .ledger: [record(5, "k", 3)]],
            [.events: [record(2, "b", 4), record(1, "c", 5), record(2, "a", 6), record(2, "b", 7)]],
            [.events: [record(3, "a", 8), record(nil, "y", 9), record(3, "a", 10)]],
            [.events: [record(9, "a", 11), record(10, "a", 12)], .ledger: [record(5, "k", 13), record(4, "k", 14)]],
        ]
    }

    /// The report's order by definition: a stable sort of every row in the order appended.
    private func expected(_ section: ReportSection) -> [Int64] {
        let all = runs.flatMap { $0[section] ?? [] }
        return all.enumerated().sorted { a, b in
            let x = (a.element.customerID ?? -1, a.element.sortKey)
            let y = (b.element.customerID ?? -1, b.element.sortKey)
            return x < y || (x == y && a.offset < b.offset)
        }.map { $0.element.fields["tag"]?.intValue ?? 0 }
    }

    @Test("spilled or not, the rows come back as a stable sort by customer and sort key")
    func order() throws {
        let spilled = ReportRecords(memoryLimit: 1)
        let kept = ReportRecords(memoryLimit: Int.max)
        for run in runs {
            spilled.append(run)
            kept.append(run)
        }
        #expect(spilled.isSpilled)
        #expect(!kept.isSpilled)
        #expect(spilled.spillError == nil)
        for section in [ReportSection.events, .ledger] {
            #expect(try spilled.all(section).map { $0.fields["tag"]?.intValue ?? 0 } == expected(section))
            #expect(try kept.all(section) == spilled.all(section))
            #expect(spilled.count(section) == expected(section).count)
        }
        #expect(try spilled.all(.events).first?.fields["q"] == .decimal("1"))
        #expect(try spilled.all(.grants).isEmpty)
    }

    @Test("a run's text, JSON and CSV are the same whether its rows were spilled or kept in memory")
    func renderers() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let fixtures = Fixtures(db)
        for n in 1...7 { _ = try fixtures.customer("c\(n)") }

        let request = JobRunRequest(asOf: Self.asOf, batchSize: 2, invokedBy: "test")
        let inMemory = JobRunner(target: database.target).run(SpillJob(), request)
        let spilled = JobRunner(target: database.target, settings: RunnerSettings(reportMemoryLimit: 1)).run(SpillJob(), request)
        #expect(inMemory.exitStatus == .success)
        #expect(spilled.exitStatus == .success)
        #expect(!inMemory.records.isSpilled)
        #expect(spilled.records.isSpilled)
        #expect(spilled.output.records.isEmpty)
        #expect(inMemory.records.count(.events) == 7 * 3 + 2)
        // prepare's row of no customer comes first, the last customer's prepared row among its own.
        #expect(inMemory.output.records[.events]?.first?.sortKey == "z:shared")

        for format in ReportFormat.allCases {
            let a = normalized(format.render(inMemory), inMemory)
            let b = normalized(format.render(spilled), spilled)
            #expect(a == b, "\(format) differs")
            var streamed = ""
            try format.write(spilled) { streamed += $0 }
            #expect(normalized(streamed, spilled) == a)
        }
        #expect(spilled.json.compactText.replacingOccurrences(of: "\"run_id\":\(spilled.runID ?? 0)", with: "")
                == inMemory.json.compactText.replacingOccurrences(of: "\"run_id\":\(inMemory.runID ?? 0)", with: ""))
    }

    /// Without what differs between two runs: the run id and the duration.
    private func normalized(_ text: String, _ report: JobReport) -> String {
        text.replacingOccurrences(of: "run \(report.runID ?? 0)", with: "run N")
            .replacingOccurrences(of: "runs show \(report.runID ?? 0)", with: "runs show N")
            .replacingOccurrences(of: "\"run_id\": \(report.runID ?? 0)", with: "\"run_id\": N")
            .replacingOccurrences(of: "\(report.durationMilliseconds) ms", with: "N ms")
    }
}
