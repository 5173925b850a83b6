import BillingCore
import BillingJobs
import Foundation
import TestSupport
import Testing

/// The CI smoke of `supportbill-bench` (issue 9): the benchmark at a tiny scale, so that it
/// keeps working. No figure of time is asserted (speed is the benchmark's own business, on a
/// release build); what is asserted is that every job ran, that each job's report agrees with
/// the floor's hand-written SQL, and that the figures it prints are there and make sense.
@Suite("supportbill-bench: the benchmark at a tiny scale")
struct BenchSmokeTests {
    /// The bench binary built next to `supportbill`.
    private var benchPath: String {
        URL(fileURLWithPath: ChildProcess.supportbillPath).deletingLastPathComponent().appendingPathComponent("supportbill-bench").path
    }

    private let tiny = ["--customers", "50", "--services", "200", "--entries", "5000"]

    /// `a.bc` as printed by the bench (two decimals, no floating point) in hundredths.
    private func hundredths(_ value: JSONValue?) -> Int64? {
        guard case .decimal(let text)? = value else { return nil }
        let parts = text.split(separator: ".")
        guard parts.count == 2, let whole = Int64(parts[0]), let fraction = Int64(parts[1]), parts[1].count == 2 else { return nil }
        return whole * 100 + fraction
    }

    @Test("--json at half and full scale: every job twice, each report equal to its floor's figures, positive times and ratios, reruns emit nothing")
    func jsonAtBothScales() throws {
        let result = try ChildProcess(benchPath, tiny + ["--json"]).wait()
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr.suffix(3000))")
        let objects = try result.stdout.split(separator: "\n").map { try JSONValue(parsing: String($0)) }
        try #require(objects.count == 2 * JobName.dailyOrder.count, "\(result.stdout)")

        for (scale, divisor) in [("half", Int64(2)), ("full", Int64(1))] {
            let atScale = objects.filter { $0["scale"]?.stringValue == scale }
            // Every job, in the daily order.
            #expect(atScale.compactMap { $0["job"]?.stringValue } == JobName.dailyOrder.map(\.rawValue))
            for object in atScale {
                let job = object["job"]?.stringValue ?? "?"
                #expect(object["customers"]?.intValue == 50 / divisor, "\(job)")
                #expect(object["services"]?.intValue == 200 / divisor, "\(job)")
                #expect(object["entries"]?.intValue == 5000 / divisor, "\(job)")
                #expect(object["passed"]?.boolValue == true, "\(job) \(scale): \(object["problems"]?.compactText ?? "")")
                #expect(object["problems"]?.arrayValue?.isEmpty == true, "\(job) \(scale)")
                for run in ["first_exit", "second_exit", "dry_run_exit"] {
                    #expect(object[run]?.intValue == 0, "\(job) \(scale) \(run)")
                }
                for time in ["first_ms", "second_ms", "dry_run_ms", "floor_ms"] {
                    #expect((object[time]?.intValue ?? 0) > 0, "\(job) \(scale) \(time)")
                }
                #expect((object["peak_rss_kb"]?.intValue ?? 0) > 1024, "\(job) \(scale): a job's process uses more than 1 MB")
                for ratio in ["ratio_to_floor", "dry_to_real", "second_to_first"] {
                    #expect((hundredths(object[ratio]) ?? 0) > 0, "\(job) \(scale) \(ratio): \(object[ratio]?.compactText ?? "missing")")
                }
                // The ratio is the first run's time over the floor's, rounded to hundredths.
                if let first = object["first_ms"]?.intValue, let floor = object["floor_ms"]?.intValue, floor > 0 {
                    #expect(hundredths(object["ratio_to_floor"]) == (first * 100 + floor / 2) / floor, "\(job) \(scale)")
                }

                // The cross-check: figures the floor computed, each equal to the job's report,
                // and at least one of them not zero (the synthetic provider gives every job work).
                let figures = object["floor_figures"]?.objectValue ?? []
                let compared = figures.filter { $0.1["compared"]?.boolValue == true }
                #expect(!compared.isEmpty, "\(job) \(scale): no figure was compared with the floor")
                for (name, line) in compared {
                    #expect(line["floor"]?.intValue != nil && line["floor"] == line["job"], "\(job) \(scale) \(name): \(line.compactText)")
                }
                #expect(compared.contains { ($0.1["floor"]?.intValue ?? 0) != 0 }, "\(job) \(scale): every compared figure is 0")
                #expect(object["summary"]?["status"]?.stringValue == "succeeded", "\(job) \(scale)")

                // The second run has nothing to change: no money moves and nothing is counted
                // but the customers it looked at.
                let second = object["second_summary"]
                #expect(second?["status"]?.stringValue == "succeeded", "\(job) \(scale)")
                #expect(second?["totals"]?.objectValue?.isEmpty == true, "\(job) \(scale): \(second?.compactText ?? "")")
                let counted = (second?["counts"]?.objectValue ?? []).filter { $0.0 != "customers" && $0.1.intValue != 0 }
                #expect(counted.isEmpty, "\(job) \(scale) second run: \(second?.compactText ?? "")")
            }
            // threshold-topup's hourly run on the debited history.
            let topup = atScale.first { $0["job"]?.stringValue == JobName.thresholdTopup.rawValue }
            #expect(topup?["hourly_exit"]?.intValue == 0)
            #expect((topup?["hourly_ms"]?.intValue ?? 0) > 0)
        }
    }

    @Test("the table: one row per job with its check, the floor's figures, and the growth line per job")
    func table() throws {
        let result = try ChildProcess(benchPath, tiny + ["--jobs", "monthly-rollup,suspension-sweep"]).wait()
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr.suffix(3000))")
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let header = try #require(lines.first)
        for column in ["job", "scale", "entries", "first ms", "RSS MB", "floor ms", "x floor", "second ms", "dry ms", "dry/real", "check"] {
            #expect(header.contains(column), "\(header)")
        }
        for job in ["monthly-rollup", "suspension-sweep"] {
            for (scale, entries) in [("half", "2500"), ("full", "5000")] {
                let row = lines.first { $0.hasPrefix(job + " ") && $0.contains(" \(scale) ") }
                let cells = row?.split(separator: " ").map(String.init) ?? []
                #expect(cells.count == 11 && cells[2] == entries && cells[10] == "ok", "\(job) \(scale): \(row ?? "no row")")
            }
            #expect(lines.contains("  \(job) (full): ok"), "\(result.stdout)")
            #expect(lines.contains { $0.hasPrefix("  \(job): ") && $0.contains("x time, RSS ") }, "no growth line for \(job):\n\(result.stdout)")
        }
        #expect(!lines.contains { $0.hasPrefix("incident-grants") }, "--jobs runs only the jobs named")
    }

    @Test("an unknown job is a usage error (exit 64) naming it, before any cluster starts")
    func unknownJob() throws {
        let result = try ChildProcess(benchPath, tiny + ["--jobs", "monthly-rollup,nightly-magic"]).wait()
        #expect(result.status == 64)
        #expect(result.stderr.contains("nightly-magic"), "\(result.stderr)")
        #expect(!result.stderr.contains("starting a cluster"), "\(result.stderr)")
    }
}
