/// jobs/monthly-rollup.toml
public struct MonthlyRollupParameters: JobParameters {
    /// 14:00 UTC on the 1st: by then the previous month has closed in every time zone from
    /// UTC-12 to UTC+14, so one run bills every customer's closed month.
    public var schedule = "*-*-01 14:00:00 UTC"
    /// Without `--period`, every closed month within this many months is brought up to date.
    public var lookbackMonths = 3
    /// Invoices are due this many days after the customer's local as-of date.
    public var dueDays = 14
    /// false: leave period invoices as drafts for finance to review.
    public var issue = true

    public init() {}

    public init(reading reader: inout TOMLReader) throws {
        let defaults = Self()
        schedule = try reader.schedule(default: defaults.schedule)
        lookbackMonths = try reader.int("lookback_months", default: defaults.lookbackMonths, range: 1...120)
        dueDays = try reader.int("due_days", default: defaults.dueDays, range: 0...365)
        issue = try reader.bool("issue", default: defaults.issue)
    }
}
