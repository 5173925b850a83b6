import BillingCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs this benchmark binary again as a child (`supportbill-bench job ...`) so that each job's
/// wall time and peak RSS are its own: wait4 reports the child's maximum resident set size.
struct ChildRun {
    struct Outcome {
        let status: Int32
        let wallMilliseconds: Int64
        let peakRSSKilobytes: Int64
        let stdout: String
        let stderr: String

        /// Exit 0, or 65 (some customers skipped, which synthetic data with defects may cause).
        var succeeded: Bool { status == 0 || status == 65 }

        /// The job's summary printed by `supportbill-bench job`.
        var summary: JSONValue? {
            guard let line = stdout.split(separator: "\n").last else { return nil }
            return try? JSONValue(parsing: String(line))
        }
    }

    static func run(_ arguments: [String]) throws -> Outcome {
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
        let base = NSTemporaryDirectory() + "/bench-child-\(getpid())-\(UUID().uuidString)"
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, base + ".out", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, base + ".err", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        defer {
            unlink(base + ".out")
            unlink(base + ".err")
        }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        let started = ContinuousClock.now
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .EIO) }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) == -1 && errno == EINTR {}
        let elapsed = ContinuousClock.now - started
        let exitCode = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Outcome(
            status: exitCode,
            wallMilliseconds: elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000,
            peakRSSKilobytes: Int64(usage.ru_maxrss),
            stdout: (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? ""
        )
    }
}
