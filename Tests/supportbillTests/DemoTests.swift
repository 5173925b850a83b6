import Foundation
import TestSupport
import Testing

@Suite("supportbill demo: the newcomer's first command")
struct DemoTests {
    @Test("runs on a fresh machine: starts its own cluster, bills the month, prints invoices, cleans up")
    func demo() throws {
        // A private TMPDIR shows that the demo's throwaway cluster is deleted afterwards.
        let temporary = NSTemporaryDirectory() + "/demo-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: temporary) }
        let result = try ChildProcess.supportbill(["demo", "--month", "2026-10"], environment: ["TMPDIR": temporary])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("billing 2026-10"))
        #expect(result.stdout.contains("Invoice") || result.stdout.contains("No invoices"))
        let left = try FileManager.default.contentsOfDirectory(atPath: temporary).filter { $0.hasPrefix("supportbill-pg-") }
        #expect(left.isEmpty, "the demo left \(left)")
    }
}
