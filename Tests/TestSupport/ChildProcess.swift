import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A child process with its stdout and stderr captured to files, for end-to-end tests of the
/// `supportbill` binary: exit codes, signals, concurrent runs.
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    private let stdoutPath: String
    private let stderrPath: String
    private var exitStatus: Int32?

    public struct Result: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
    }

    /// The `supportbill` binary built next to the test bundle.
    public static var supportbillPath: String {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        var candidates = [bundle.appendingPathComponent("supportbill").path]
        // swift-testing may run the tests from inside the .xctest bundle directory.
        candidates.append(bundle.deletingLastPathComponent().appendingPathComponent("supportbill").path)
        if let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) { return found }
        return candidates[0]
    }

    /// Starts `program` with `arguments`; `environment` entries are added to (or, with a nil
    /// value, removed from) this process's environment.
    public init(_ program: String, _ arguments: [String], environment: [String: String?] = [:]) throws {
        let base = NSTemporaryDirectory() + "/supportbill-test-\(getpid())-\(UUID().uuidString)"
        stdoutPath = base + ".out"
        stderrPath = base + ".err"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdoutPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var child: pid_t = 0
        let spawned = posix_spawn(&child, program, &actions, nil, argv, envp)
        guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EIO) }
        pid = child
    }

    /// Runs the supportbill binary to completion.
    public static func supportbill(_ arguments: [String], environment: [String: String?] = [:]) throws -> Result {
        try ChildProcess(supportbillPath, arguments, environment: environment).wait()
    }

    public func signal(_ number: Int32) { kill(pid, number) }

    /// Waits for the process to end and returns its exit status and output. A process killed by
    /// a signal reports 128 + the signal number, as shells do.
    public func wait() -> Result {
        if exitStatus == nil {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
            exitStatus = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        }
        let out = (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? ""
        let err = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
        unlink(stdoutPath)
        unlink(stderrPath)
        return Result(status: exitStatus ?? -1, stdout: out, stderr: err)
    }

    /// The output so far, while the process runs.
    public var currentStderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
}
