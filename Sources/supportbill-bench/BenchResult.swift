import BillingCore
import BillingJobs

/// One job measured at one scale.
struct BenchResult {
    let job: JobName
    let scale: String
    let provider: SyntheticProvider
    let first: ChildRun.Outcome
    let second: ChildRun.Outcome
    let dry: ChildRun.Outcome
    let floor: Floors.Measurement?

    /// `a / b` with two decimals, as text (no floating point).
    static func ratio(_ a: Int64, _ b: Int64) -> String {
        guard b > 0 else { return "-" }
        let hundredths = (a * 100 + b / 2) / b
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    var json: JSONValue {
        .object([
            ("job", .string(job.rawValue)), ("scale", .string(scale)),
            ("customers", .int(Int64(provider.customers))), ("services", .int(Int64(provider.services))),
            ("entries", .int(Int64(provider.entries))),
            ("first_ms", .int(first.wallMilliseconds)), ("first_exit", .int(Int64(first.status))),
            ("peak_rss_kb", .int(first.peakRSSKilobytes)),
            ("second_ms", .int(second.wallMilliseconds)), ("dry_run_ms", .int(dry.wallMilliseconds)),
            ("floor_ms", floor.map { .int($0.milliseconds) } ?? .null),
            ("ratio_to_floor", floor.map { .decimal(BenchResult.ratio(first.wallMilliseconds, $0.milliseconds)) } ?? .null),
            ("dry_to_real", .decimal(BenchResult.ratio(dry.wallMilliseconds, first.wallMilliseconds))),
            ("second_to_first", .decimal(BenchResult.ratio(second.wallMilliseconds, first.wallMilliseconds))),
        ])
    }

    static func table(_ results: [BenchResult]) -> String {
        var rows = [["job", "scale", "entries", "first ms", "RSS MB", "floor ms", "x floor", "second ms", "dry ms", "dry/real"]]
        for r in results {
            rows.append([
                r.job.rawValue, r.scale, String(r.provider.entries), String(r.first.wallMilliseconds),
                String(r.first.peakRSSKilobytes / 1024), r.floor.map { String($0.milliseconds) } ?? "-",
                r.floor.map { ratio(r.first.wallMilliseconds, $0.milliseconds) } ?? "-",
                String(r.second.wallMilliseconds), String(r.dry.wallMilliseconds), ratio(r.dry.wallMilliseconds, r.first.wallMilliseconds),
            ])
        }
        var widths = Array(repeating: 0, count: rows[0].count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in i == 0 ? cell.padding(widths[i]) : cell.leftPadding(widths[i]) }.joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// Full-scale time over half-scale time, per job: at most 2.2 for linear growth.
    static func growth(_ results: [BenchResult]) -> String {
        var lines = ["", "growth (full / half scale, first run):"]
        for job in JobName.allCases {
            guard let half = results.first(where: { $0.job == job && $0.scale == "half" }),
                  let full = results.first(where: { $0.job == job && $0.scale == "full" }) else { continue }
            lines.append("  \(job.rawValue): \(ratio(full.first.wallMilliseconds, half.first.wallMilliseconds))x time, RSS \(full.first.peakRSSKilobytes / 1024) MB vs \(half.first.peakRSSKilobytes / 1024) MB")
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
    func leftPadding(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
