import Foundation
import Logging

/// The line a progress bar is drawn on. The bar redraws it with `\r` and leaves it open (no
/// newline); anything else written to the stream (a log line) must end it first, or it lands on
/// the bar's line. The progress display and the log handler share one `TerminalLine`.
final class TerminalLine: @unchecked Sendable {
    static let standardError = TerminalLine { FileHandle.standardError.write(Data($0.utf8)) }

    private let lock = NSLock()
    private let write: (String) -> Void
    private var open = false

    init(write: @escaping (String) -> Void) {
        self.write = write
    }

    /// Replaces the open line with `text` (left open).
    func draw(_ text: String) {
        lock.lock()
        defer { lock.unlock() }
        write("\r" + text)
        open = true
    }

    /// Ends the open line, if any.
    func end() {
        lock.lock()
        defer { lock.unlock() }
        endLocked()
    }

    /// Ends the open line, then runs `body` (which writes whole lines) while no bar can be drawn.
    func afterLineEnd(_ body: () -> Void) {
        lock.lock()
        defer { lock.unlock() }
        endLocked()
        body()
    }

    private func endLocked() {
        if open { write("\n") }
        open = false
    }
}

/// Progress of a long run on stderr: a bar with counts and an estimate on a terminal; nothing
/// otherwise (the runner's periodic `progress` log lines serve the journal).
final class ProgressDisplay: @unchecked Sendable {
    private let line: TerminalLine
    private let enabled: Bool
    private let started = ContinuousClock.now

    init(line: TerminalLine = .standardError, enabled: Bool = isatty(STDERR_FILENO) == 1) {
        self.line = line
        self.enabled = enabled
    }

    func update(done: Int, total: Int) {
        guard enabled, total > 0 else { return }
        let width = 30
        let filled = done * width / total
        let elapsed = ContinuousClock.now - started
        let elapsedSeconds = elapsed.components.seconds
        var estimate = ""
        if done > 0, done < total {
            let remaining = elapsedSeconds * Int64(total - done) / Int64(done)
            estimate = ", about \(remaining) s left"
        }
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        line.draw("[\(bar)] \(done)/\(total) customers\(estimate)   ")
    }

    func finish() {
        line.end()
    }
}

/// A log handler that ends the progress bar's line before each log line (`TerminalLine`).
struct LineEndingLogHandler: LogHandler {
    var base: any LogHandler
    let line: TerminalLine

    func log(event: LogEvent) {
        line.afterLineEnd { base.log(event: event) }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { base.metadataProvider }
        set { base.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { base[metadataKey: key] }
        set { base[metadataKey: key] = newValue }
    }

    var metadata: Logger.Metadata {
        get { base.metadata }
        set { base.metadata = newValue }
    }

    var logLevel: Logger.Level {
        get { base.logLevel }
        set { base.logLevel = newValue }
    }
}
