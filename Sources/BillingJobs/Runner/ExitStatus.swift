/// The process exit codes of docs/design.md §5 (sysexits.h values).
public enum ExitStatus: Int32, Sendable, CaseIterable {
    /// Done, also when there was nothing to do.
    case success = 0
    /// Anything else went wrong.
    case failure = 1
    /// The command line or a jobs/*.toml file is wrong (EX_USAGE).
    case usage = 64
    /// Some customers were skipped for invalid data, or a safety limit stopped the run (EX_DATAERR).
    case dataError = 65
    /// The database could not be reached or went away (EX_UNAVAILABLE).
    case unavailable = 69
    /// Another run of the job holds its lock (EX_TEMPFAIL).
    case locked = 75
}
