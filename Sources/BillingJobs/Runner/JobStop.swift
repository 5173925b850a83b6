/// A job's reason to stop a run on purpose.
public struct JobStop: Error, CustomStringConvertible, Sendable {
    private enum Code: Sendable { case safetyLimit, interrupted }
    private let code: Code
    public let message: String
    /// What the run would have done, for the report (e.g. the services it would suspend).
    public let output: JobOutput

    private init(_ code: Code, _ message: String, _ output: JobOutput) {
        self.code = code
        self.message = message
        self.output = output
    }

    /// A safety limit was hit (e.g. more suspensions than `max_suspensions`): nothing is written,
    /// the run fails with exit 65, and `--force` proceeds.
    public static func safetyLimit(_ message: String, wouldEmit output: JobOutput = JobOutput()) -> JobStop {
        JobStop(.safetyLimit, message, output)
    }

    static func interrupted(_ signal: String) -> JobStop {
        JobStop(.interrupted, "interrupted by \(signal): stopped after the last whole batch; a rerun completes the work", JobOutput())
    }

    public var isSafetyLimit: Bool { code == .safetyLimit }
    public var description: String { message }
}
