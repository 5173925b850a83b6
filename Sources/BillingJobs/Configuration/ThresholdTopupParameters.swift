/// jobs/threshold-topup.toml
public struct ThresholdTopupParameters: JobParameters {
    public var schedule = "*-*-* *:05:00 UTC"
    /// Top-up invoices are due this many days after the customer's local as-of date.
    public var dueDays = 7
    /// At most this many top-up invoices per service per local day; beyond it the service is
    /// reported (exit 65) and invoiced the next day.
    public var maxTopupsPerDay = 3

    public init() {}

    public init(reading reader: inout TOMLReader) throws {
        let defaults = Self()
        schedule = try reader.schedule(default: defaults.schedule)
        dueDays = try reader.int("due_days", default: defaults.dueDays, range: 0...365)
        maxTopupsPerDay = try reader.int("max_topups_per_day", default: defaults.maxTopupsPerDay, range: 1...1000)
    }
}
