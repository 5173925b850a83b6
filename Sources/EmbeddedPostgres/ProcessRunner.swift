import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a program to completion and collects its output.
///
/// Spawned with `posix_spawn` and reaped with `waitpid`: Foundation's `Process` was seen to leave
/// `runuser` unreaped after `pg_ctl start` and wait forever. Output goes to a temporary file, not
/// a pipe: `pg_ctl start` leaves a server running that could keep a pipe open.
enum ProcessRunner {
    struct Outcome {
        let status: Int32
        let output: String
    }

    @discardableResult
    static func run(_ program: String, _ arguments: [String], searchPath: Bool = false, environment: [String: String]? = nil) throws -> Outcome {
        let logPath = NSTemporaryDirectory() + "/supportbill-cmd-\(getpid())-\(UUID().uuidString).log"
        defer { unlink(logPath) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        let argv = [program] + arguments
        let env = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
        let cArgv = argv.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup($0) } + [nil]
        defer {
            cArgv.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        var pid: pid_t = 0
        let spawned = searchPath
            ? posix_spawnp(&pid, program, &actions, nil, cArgv, cEnv)
            : posix_spawn(&pid, program, &actions, nil, cArgv, cEnv)
        guard spawned == 0 else {
            throw EmbeddedPostgresError.commandFailed(program, status: -1, output: String(cString: strerror(spawned)))
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { break }
        }
        let output = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        // WIFEXITED / WEXITSTATUS, spelled out because the macros are not imported.
        let exited = status & 0x7f == 0
        return Outcome(status: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), output: output)
    }
}
