import Foundation

/// Progress of a long run on stderr: a bar with counts and an estimate on a terminal; nothing
/// otherwise (the runner's periodic `progress` log lines serve the journal).
final class ProgressDisplay: @unchecked Sendable {
    private let lock = NSLock()
    private let enabled = isatty(STDERR_FILENO) == 1
    private let started = ContinuousClock.now
    private var drawn = false

    func update(done: Int, total: Int) {
        guard enabled, total > 0 else { return }
        lock.lock()
        defer { lock.unlock() }
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
        FileHandle.standardError.write(Data("\r[\(bar)] \(done)/\(total) customers\(estimate)   ".utf8))
        drawn = true
    }

    func finish() {
        lock.lock()
        defer { lock.unlock() }
        if drawn { FileHandle.standardError.write(Data("\n".utf8)) }
        drawn = false
    }
}
