import Foundation
import TestSupport
import Testing

/// The CI pattern README describes, on the demo data: `simulate --format json` over five weeks,
/// diffed against a committed golden file. A change to what supportbill bills (a rule, a price,
/// a report field) shows up here as a diff to review; accept it with
///     SUPPORTBILL_UPDATE_GOLDEN=1 swift test --filter GoldenSimulationTests
/// and commit the new file with the change that explains it.
@Suite("simulate against the committed golden file")
struct GoldenSimulationTests {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden/simulate-demo-2026-10.json")

    @Test("five weeks of the demo month bill exactly what the golden file says")
    func golden() throws {
        let database = try DemoData.load()
        defer { database.drop() }
        let result = try ChildProcess.supportbill(["simulate", "--from", "2026-10-01", "--to", "2026-11-04", "--format", "json", "--database", database.conninfo])
        #expect(result.status == 65, "\(result.stderr)")   // Blue Yonder has no EUR price
        if ProcessInfo.processInfo.environment["SUPPORTBILL_UPDATE_GOLDEN"] == "1" {
            try result.stdout.write(to: Self.golden, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOf: Self.golden, encoding: .utf8)
        if result.stdout != expected {
            let ours = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            let theirs = expected.split(separator: "\n", omittingEmptySubsequences: false)
            let first = zip(ours, theirs).enumerated().first { $0.element.0 != $0.element.1 }
            Issue.record("""
                simulate's output differs from \(Self.golden.lastPathComponent) \
                (\(ours.count) lines vs \(theirs.count)); first difference at line \((first?.offset ?? min(ours.count, theirs.count)) + 1):
                  golden: \(first.map { String($0.element.1) } ?? "<end>")
                  now:    \(first.map { String($0.element.0) } ?? "<end>")
                Review the change; accept it with SUPPORTBILL_UPDATE_GOLDEN=1 swift test --filter GoldenSimulationTests
                """)
        }
    }
}
