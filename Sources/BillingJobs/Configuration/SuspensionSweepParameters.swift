/// jobs/suspension-sweep.toml
public struct SuspensionSweepParameters: JobParameters {
    public var schedule = "*-*-* 06:00:00 UTC"
    /// A run that would suspend more services than this suspends none and exits 65, unless
    /// `--force`. 0 means no limit.
    public var maxSuspensions = 100

    public init() {}

    public init(reading reader: inout TOMLReader) throws {
        let defaults = Self()
        schedule = try reader.schedule(default: defaults.schedule)
        maxSuspensions = try reader.int("max_suspensions", default: defaults.maxSuspensions, range: 0...Int(Int32.max))
    }
}
