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
    /// The same-schema floor: writing into the job's own tables (today's floor, issue 9).
    let floor: Floors.Measurement
    /// The honest floor: the least work, on a lean copy (issue 20).
    let honest: Floors.Measurement
    /// threshold-topup only: the hourly run after the history was debited.
    let hourly: ChildRun.Outcome?

    /// The same-schema floor's figures against the first run's report.
    var check: CrossCheck {
        CrossCheck(floor: floor.figures, summary: first.summary ?? .object([]))
    }

    /// The honest floor's figures against the first run's report.
    var honestCheck: CrossCheck {
        CrossCheck(floor: honest.figures, summary: first.summary ?? .object([]))
    }

    var shape: String { provider.shape.rawValue }

    /// What is wrong with this result: a run that failed, a figure that disagrees with the
    /// floor, a dry run whose counts or totals differ from the real run's, a rerun that emitted.
    var problems: [String] {
        var problems: [String] = []
        for (label, run) in [("dry run", dry), ("first run", first), ("second run", second)] + (hourly.map { [("hourly run", $0)] } ?? [])
        where !run.succeeded || run.summary == nil {
            problems.append("\(job) \(label): exit \(run.status): \(run.stdout.suffix(300)) \(run.stderr.suffix(1500))")
        }
        for line in check.mismatches {
            problems.append("\(job): \(line.name) is \(line.job) in the job's report but \(line.floor) by the same-schema floor")
        }
        for line in honestCheck.mismatches {
            problems.append("\(job): \(line.name) is \(line.job) in the job's report but \(line.floor) by the honest floor")
        }
        if let real = first.summary, let preview = dry.summary,
           real["counts"] != preview["counts"] || real["totals"] != preview["totals"] {
            problems.append("\(job): the dry run reported \(preview.compactText), the real run \(real.compactText)")
        }
        return problems
    }

    var passed: Bool { problems.isEmpty }

    /// `a / b` with two decimals, as text (no floating point).
    static func ratio(_ a: Int64, _ b: Int64) -> String {
        guard let hundredths = hundredths(a, b) else { return "-" }
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    /// `a / b` in hundredths, rounded half up; nil when `b` is 0.
    static func hundredths(_ a: Int64, _ b: Int64) -> Int64? {
        b > 0 ? (a * 100 + b / 2) / b : nil
    }

    var json: JSONValue {
        var fields: [(String, JSONValue)] = [
            ("job", .string(job.rawValue)), ("shape", .string(shape)), ("scale", .string(scale)),
            ("customers", .int(Int64(provider.customers))), ("services", .int(Int64(provider.services))),
            ("entries", .int(Int64(provider.entries))),
            ("first_ms", .int(first.wallMilliseconds)), ("first_exit", .int(Int64(first.status))),
            ("peak_rss_kb", .int(first.peakRSSKilobytes)),
            ("second_ms", .int(second.wallMilliseconds)), ("second_exit", .int(Int64(second.status))),
            ("dry_run_ms", .int(dry.wallMilliseconds)), ("dry_run_exit", .int(Int64(dry.status))),
            ("floor_ms", .int(floor.milliseconds)),
            ("ratio_to_floor", .decimal(BenchResult.ratio(first.wallMilliseconds, floor.milliseconds))),
            ("honest_floor_ms", .int(honest.milliseconds)),
            ("ratio_to_honest_floor", .decimal(BenchResult.ratio(first.wallMilliseconds, honest.milliseconds))),
            ("dry_to_real", .decimal(BenchResult.ratio(dry.wallMilliseconds, first.wallMilliseconds))),
            ("second_to_first", .decimal(BenchResult.ratio(second.wallMilliseconds, first.wallMilliseconds))),
        ]
        if let hourly {
            fields.append(("hourly_ms", .int(hourly.wallMilliseconds)))
            fields.append(("hourly_exit", .int(Int64(hourly.status))))
        }
        fields.append(("summary", first.summary ?? .null))
        fields.append(("second_summary", second.summary ?? .null))
        fields.append(("floor_figures", .object(check.lines.map { line in
            (line.name, .object([("floor", .int(line.floor)), ("job", .int(line.job)), ("compared", .bool(line.compared))]))
        })))
        fields.append(("honest_floor_figures", .object(honestCheck.lines.map { line in
            (line.name, .object([("floor", .int(line.floor)), ("job", .int(line.job)), ("compared", .bool(line.compared))]))
        })))
        fields.append(("passed", .bool(passed)))
        fields.append(("problems", .array(problems.map { .string($0) })))
        return .object(fields)
    }

    static func table(_ results: [BenchResult]) -> String {
        var rows = [["job", "shape", "scale", "entries", "first ms", "RSS MB", "honest ms", "x honest", "same-schema ms", "x same",
                     "rerun ms", "rerun/first", "dry ms", "dry/real", "check"]]
        for r in results {
            rows.append([
                r.job.rawValue, r.shape, r.scale, String(r.provider.entries), String(r.first.wallMilliseconds),
                String(r.first.peakRSSKilobytes / 1024), String(r.honest.milliseconds), ratio(r.first.wallMilliseconds, r.honest.milliseconds),
                String(r.floor.milliseconds), ratio(r.first.wallMilliseconds, r.floor.milliseconds),
                String(r.second.wallMilliseconds), ratio(r.second.wallMilliseconds, r.first.wallMilliseconds),
                String(r.dry.wallMilliseconds), ratio(r.dry.wallMilliseconds, r.first.wallMilliseconds),
                r.passed ? "ok" : "FAILED",
            ])
        }
        var widths = Array(repeating: 0, count: rows[0].count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        var lines = rows.map { row in
            row.enumerated().map { i, cell in i == 0 ? cell.padding(widths[i]) : cell.leftPadding(widths[i]) }.joined(separator: "  ")
        }
        for r in results {
            if let hourly = r.hourly {
                lines.append("threshold-topup hourly run (\(r.shape), \(r.scale): 1,000 new entries and 100 payments on the debited history): \(hourly.wallMilliseconds) ms, exit \(hourly.status)")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// The figures compared with the floor, per job and scale, and every problem.
    static func checks(_ results: [BenchResult]) -> String {
        var lines = ["", "figures (each floor vs the first run's report):"]
        for r in results {
            lines.append("  \(r.job.rawValue) (\(r.shape), \(r.scale)): \(r.passed ? "ok" : "FAILED")")
            lines.append("   same schema:")
            lines.append(r.check.description)
            lines.append("   honest:")
            lines.append(r.honestCheck.description)
            for problem in r.problems { lines.append("    PROBLEM: \(problem)") }
        }
        return lines.joined(separator: "\n")
    }

    /// Full-scale over fifth-scale, per job and shape: time (at most about 5.5 for linear
    /// growth) and peak RSS (the target: at most 1.2).
    static func growth(_ results: [BenchResult]) -> String {
        var lines = ["", "growth (full / fifth of the data, first run):"]
        for shape in SyntheticProvider.Shape.allCases {
            for job in JobName.allCases {
                guard let small = results.first(where: { $0.job == job && $0.scale == "fifth" && $0.provider.shape == shape }),
                      let full = results.first(where: { $0.job == job && $0.scale == "full" && $0.provider.shape == shape }) else { continue }
                lines.append("  \(job.rawValue) (\(shape.rawValue)): \(ratio(full.first.wallMilliseconds, small.first.wallMilliseconds))x time, RSS \(full.first.peakRSSKilobytes / 1024) MB vs \(small.first.peakRSSKilobytes / 1024) MB (\(ratio(full.first.peakRSSKilobytes, small.first.peakRSSKilobytes))x)")
            }
        }
        return lines.joined(separator: "\n")
    }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
    func leftPadding(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
