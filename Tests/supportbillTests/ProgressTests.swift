import Foundation
import TestSupport
import Testing

/// Progress of a run when stderr is not a terminal (the journal): periodic `progress` log lines
/// with counts and an estimate, never the terminal's bar.
@Suite("supportbill run: progress lines on stderr")
struct ProgressTests {
    @Test("the last progress line counts every customer done, with seconds left 0; no bar when stderr is not a terminal")
    func logLines() throws {
        let database = try DemoData.load()
        defer { database.drop() }
        let result = try ChildProcess.supportbill(["run", "monthly-rollup", "--period", "2026-10", "--as-of", "2026-11-01T14:00:00Z", "--batch-size", "2",
                                                   "--log-level", "info", "--database", database.conninfo])
        // 65: Blue Yonder has no price in its currency (the demo's defect); the others are billed.
        #expect(result.status == 65, "\(result.stderr)")
        let lines = result.stderr.split(separator: "\n").filter { $0.contains(" progress") }
        let last = try #require(lines.last, "no progress line: \(result.stderr)")
        func field(_ name: String, _ line: Substring) -> Int? {
            line.split(separator: " ").first { $0.hasPrefix(name + "=") }.flatMap { Int($0.dropFirst(name.count + 1)) }
        }
        let total = try #require(field("job.customers_total", last))
        #expect(total > 2, "the demo month has more customers than one batch: \(last)")
        #expect(field("job.customers_done", last) == total)
        #expect(field("job.seconds_left", last) == 0)
        #expect(lines.allSatisfy { field("job.customers_done", $0).map { $0 <= total } == true })
        #expect(!result.stderr.contains("\r["), "a bar was drawn on a pipe")
    }
}
