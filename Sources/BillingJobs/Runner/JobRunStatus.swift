/// `job_runs.status` of a finished run.
public enum JobRunStatus: String, Sendable {
    case succeeded
    /// Finished, but some customers were skipped for invalid data, or reported for a safety limit.
    case partial
    case failed
}
