import Foundation
import Logging
import TestSupport
import Testing
@testable import supportbill

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

    /// On a terminal the bar's line stays open (`\r` redraws it); a log line written then must
    /// start on a line of its own, and the next bar a fresh one.
    @Test("a log line ends the bar's line first; the bar is redrawn after it")
    func logLineAfterBar() throws {
        let captured = Captured()
        let line = TerminalLine { captured.append($0) }
        let progress = ProgressDisplay(line: line, enabled: true)
        var logger = Logger(label: "test") { _ in LineEndingLogHandler(base: CapturingHandler(captured: captured), line: line) }
        logger.logLevel = .info
        progress.update(done: 1, total: 4)
        logger.info("progress")
        logger.info("again")
        progress.update(done: 2, total: 4)
        progress.finish()
        progress.finish()
        let bar1 = "\r[#######.......................] 1/4 customers, about 0 s left   "
        let bar2 = "\r[###############...............] 2/4 customers, about 0 s left   "
        #expect(captured.text == bar1 + "\n" + "LOG progress\n" + "LOG again\n" + bar2 + "\n")
    }
}

private final class Captured: @unchecked Sendable {
    private let lock = NSLock()
    private var parts: [String] = []
    func append(_ text: String) { lock.lock(); parts.append(text); lock.unlock() }
    var text: String { lock.lock(); defer { lock.unlock() }; return parts.joined() }
}

private struct CapturingHandler: LogHandler {
    let captured: Captured
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info
    var metadataProvider: Logger.MetadataProvider?
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) { captured.append("LOG \(event.message)\n") }
}
