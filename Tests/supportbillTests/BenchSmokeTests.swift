import BillingCore
import BillingJobs
import Foundation
import TestSupport
import Testing

/// The CI smoke of `supportbill-bench` (issues 9 and 20): the benchmark at a tiny scale
/// (`--smoke`: the targets are printed, not enforced), so that it keeps working. No figure of time is asserted (speed is the benchmark's own business, on a
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

    @Test("--json --smoke: every job in both shapes at a fifth and at full scale, each report equal to both floors' figures, positive times and ratios, reruns emit nothing")
    func jsonAtBothScales() throws {
        let result = try ChildProcess(benchPath, tiny + ["--json", "--smoke"]).wait()
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr.suffix(3000))")
        let objects = try result.stdout.split(separator: "\n").map { try JSONValue(parsing: String($0)) }
        try #require(objects.count == 2 * 2 * JobName.dailyOrder.count, "\(result.stdout)")

        // (shape, scale, customers, services, entries): the ticket-services shape has half the
        // customers with four services each and a fifth of the entries.
        let expected: [(String, String, Int64, Int64, Int64)] = [
            ("standard", "fifth", 10, 40, 1000), ("standard", "full", 50, 200, 5000),
            ("ticket-services", "fifth", 5, 20, 200), ("ticket-services", "full", 25, 100, 1000),
        ]
        for (shape, scale, customers, services, entries) in expected {
            let atScale = objects.filter { $0["scale"]?.stringValue == scale && $0["shape"]?.stringValue == shape }
            // Every job, in the daily order.
            #expect(atScale.compactMap { $0["job"]?.stringValue } == JobName.dailyOrder.map(\.rawValue), "\(shape) \(scale)")
            for object in atScale {
                let job = "\(object["job"]?.stringValue ?? "?") \(shape)"
                #expect(object["customers"]?.intValue == customers, "\(job)")
                #expect(object["services"]?.intValue == services, "\(job)")
                #expect(object["entries"]?.intValue == entries, "\(job)")
                #expect(object["passed"]?.boolValue == true, "\(job) \(scale): \(object["problems"]?.compactText ?? "")")
                #expect(object["problems"]?.arrayValue?.isEmpty == true, "\(job) \(scale)")
                for run in ["first_exit", "second_exit", "dry_run_exit"] {
                    #expect(object[run]?.intValue == 0, "\(job) \(scale) \(run)")
                }
                for time in ["first_ms", "second_ms", "dry_run_ms", "floor_ms", "honest_floor_ms"] {
                    #expect((object[time]?.intValue ?? 0) > 0, "\(job) \(scale) \(time)")
                }
                #expect((object["peak_rss_kb"]?.intValue ?? 0) > 1024, "\(job) \(scale): a job's process uses more than 1 MB")
                for ratio in ["ratio_to_floor", "ratio_to_honest_floor", "dry_to_real", "second_to_first"] {
                    #expect((hundredths(object[ratio]) ?? 0) > 0, "\(job) \(scale) \(ratio): \(object[ratio]?.compactText ?? "missing")")
                }
                // Each ratio is the first run's time over the floor's, rounded to hundredths.
                for (ratio, floorTime) in [("ratio_to_floor", "floor_ms"), ("ratio_to_honest_floor", "honest_floor_ms")] {
                    if let first = object["first_ms"]?.intValue, let floor = object[floorTime]?.intValue, floor > 0 {
                        #expect(hundredths(object[ratio]) == (first * 100 + floor / 2) / floor, "\(job) \(scale) \(ratio)")
                    }
                }

                // The cross-check, for both floors: figures the floor computed, each equal to the
                // job's report, and at least one of them not zero (the synthetic provider gives
                // every job work). The honest floor writes the same rows on a lean copy.
                for floorFigures in ["floor_figures", "honest_floor_figures"] {
                    let figures = object[floorFigures]?.objectValue ?? []
                    let compared = figures.filter { $0.1["compared"]?.boolValue == true }
                    #expect(!compared.isEmpty, "\(job) \(scale) \(floorFigures): no figure was compared with the floor")
                    for (name, line) in compared {
                        #expect(line["floor"]?.intValue != nil && line["floor"] == line["job"], "\(job) \(scale) \(floorFigures) \(name): \(line.compactText)")
                    }
                    #expect(compared.contains { ($0.1["floor"]?.intValue ?? 0) != 0 }, "\(job) \(scale) \(floorFigures): every compared figure is 0")
                }
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

    @Test("the table: one row per job with both floors, rerun and check, each floor's figures, the growth line per job and the targets")
    func table() throws {
        let result = try ChildProcess(benchPath, tiny + ["--smoke", "--shapes", "standard", "--jobs", "monthly-rollup,suspension-sweep"]).wait()
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr.suffix(3000))")
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let header = try #require(lines.first)
        for column in ["job", "shape", "scale", "entries", "first ms", "RSS MB", "honest ms", "x honest", "same-schema ms", "x same",
                       "rerun ms", "rerun/first", "dry ms", "dry/real", "check"] {
            #expect(header.contains(column), "\(header)")
        }
        for job in ["monthly-rollup", "suspension-sweep"] {
            for (scale, entries) in [("fifth", "1000"), ("full", "5000")] {
                let row = lines.first { $0.hasPrefix(job + " ") && $0.contains(" \(scale) ") }
                let cells = row?.split(separator: " ").map(String.init) ?? []
                #expect(cells.count == 15 && cells[1] == "standard" && cells[3] == entries && cells[14] == "ok", "\(job) \(scale): \(row ?? "no row")")
            }
            #expect(lines.contains("  \(job) (standard, full): ok"), "\(result.stdout)")
            #expect(lines.contains { $0.hasPrefix("  \(job) (standard): ") && $0.contains("x time, RSS ") }, "no growth line for \(job):\n\(result.stdout)")
        }
        #expect(lines.contains("   honest:") && lines.contains("   same schema:"), "\(result.stdout)")
        #expect(lines.contains { $0.hasPrefix("targets") }, "no targets line:\n\(result.stdout)")
        #expect(!lines.contains { $0.hasPrefix("incident-grants") }, "--jobs runs only the jobs named")
        #expect(!lines.contains { $0.contains("ticket-services") }, "--shapes runs only the shapes named")
    }

    @Test("an unknown job is a usage error (exit 64) naming it, before any cluster starts")
    func unknownJob() throws {
        let result = try ChildProcess(benchPath, tiny + ["--jobs", "monthly-rollup,nightly-magic"]).wait()
        #expect(result.status == 64)
        #expect(result.stderr.contains("nightly-magic"), "\(result.stderr)")
        #expect(!result.stderr.contains("starting a cluster"), "\(result.stderr)")
    }
}
