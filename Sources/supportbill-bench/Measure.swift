import ArgumentParser
import BillingCore
import BillingJobs
import BillingStore
import EmbeddedPostgres
import Foundation
import Postgres

struct Measure: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "measure", abstract: "Generate a provider and measure the jobs (the default).")

    @Option(help: "Customers at full scale (standard shape; default 10,000, 50 with --smoke).") var customers: Int?
    @Option(help: "Services at full scale (standard shape; default 50,000, 200 with --smoke).") var services: Int?
    @Option(help: "Time entries in the month at full scale (standard shape; default 5,000,000, 5,000 with --smoke).") var entries: Int?
    @Option(help: "The month the entries fall in.") var month = "2026-10"
    @Option(help: "Only these jobs (comma-separated). Default: every job, in the daily order.") var jobs: String?
    @Option(help: "Only these shapes (comma-separated): standard, ticket-services. Default: both.") var shapes = "standard,ticket-services"
    @Flag(inversion: .prefixedNo, help: "Also run at a fifth of the data and print the growth (time and RSS).") var scaling = true
    @Flag(help: "Print one JSON object per job, shape and scale instead of the table.") var json = false
    @Flag(help: "CI smoke: tiny scale unless sizes are given; the figures are computed and cross-checked, the targets are printed but do not fail the run.")
    var smoke = false

    private var sizes: (customers: Int, services: Int, entries: Int) {
        (customers ?? (smoke ? 50 : 10_000), services ?? (smoke ? 200 : 50_000), entries ?? (smoke ? 5_000 : 5_000_000))
    }

    func validate() throws {
        guard sizes.customers > 0, sizes.services >= sizes.customers, sizes.entries > 0 else {
            throw ValidationError("need customers > 0, services >= customers, entries > 0")
        }
        _ = try YearMonth(month)
        _ = try selectedShapes()
    }

    private func selectedShapes() throws -> [SyntheticProvider.Shape] {
        try shapes.split(separator: ",").map { name in
            guard let shape = SyntheticProvider.Shape(rawValue: String(name)) else { throw ValidationError("unknown shape \(name)") }
            return shape
        }
    }

    func run() throws {
        let period = try YearMonth(month)
        let selected: [JobName] = try jobs.map { list in
            try list.split(separator: ",").map { name in
                guard let job = JobName(rawValue: String(name)) else { throw ValidationError("unknown job \(name)") }
                return job
            }
        } ?? JobName.dailyOrder
        var results: [BenchResult] = []
        for shape in try selectedShapes() {
            for scale in scaling ? [5, 1] : [1] {
                let provider = SyntheticProvider.make(shape, customers: max(1, sizes.customers / scale), services: max(1, sizes.services / scale),
                                                      entries: max(1, sizes.entries / scale), month: period)
                results += try measure(provider, jobs: selected, scaleLabel: scale == 1 ? "full" : "fifth")
            }
        }
        let missed = Targets.missed(results)
        if json {
            for result in results { print(result.json.compactText) }
        } else {
            print(BenchResult.table(results))
            print(BenchResult.checks(results))
            if scaling { print(BenchResult.growth(results)) }
            print("")
            print(missed.isEmpty ? "targets: every target met" : "targets missed\(smoke ? " (not enforced: --smoke)" : ""):")
            for line in missed { print("  TARGET MISSED: \(line)") }
        }
        // A wrong job is worse than a slow one: the bench fails when any figure disagrees (1),
        // and when only a target is missed (2), unless this is a smoke run.
        if results.contains(where: { !$0.passed }) { throw ExitCode(1) }
        if !missed.isEmpty && !smoke {
            if json { for line in missed { log("TARGET MISSED: \(line)") } }
            throw ExitCode(2)
        }
    }

    private func log(_ text: String) {
        FileHandle.standardError.write(Data("bench: \(text)\n".utf8))
    }

    private func measure(_ provider: SyntheticProvider, jobs: [JobName], scaleLabel: String) throws -> [BenchResult] {
        log("starting a cluster for the \(provider.shape.rawValue) shape at \(scaleLabel) scale (\(provider.customers) customers, \(provider.services) services, \(provider.entries) entries)")
        let cluster = try BenchCluster.start()
        defer { try? cluster.stop() }
        do {
            let db = try cluster.target(database: "bench").connect()
            defer { db.close() }
            _ = try Migrator().migrate(db)
            let generation = ContinuousClock.now
            try provider.generate(db) { log($0) }
            log("generated in \(ContinuousClock.now - generation)")
        }

        let configuration = BenchConfiguration()
        let jobsDirectory = NSTemporaryDirectory() + "/supportbill-bench-jobs-\(getpid())"
        try configuration.write(to: jobsDirectory)
        defer { try? FileManager.default.removeItem(atPath: jobsDirectory) }

        let asOf = Instant(utc: provider.month.next.firstDay, hour: 14)
        var results: [BenchResult] = []
        for job in jobs {
            var arguments = ["job", job.rawValue, "--database", cluster.conninfo(database: "bench"), "--as-of", asOf.description,
                             "--jobs-dir", jobsDirectory]
            if job == .monthlyRollup { arguments += ["--period", provider.month.description] }
            // The honest floor, on a lean copy of the database as the jobs before left it.
            let lean = try DatabaseCopy.make(cluster, template: "bench", name: "bench_lean", off: DatabaseCopy.Switch.lean)
            let honest: Floors.Measurement
            do {
                let leanDB = try cluster.target(database: lean.name).connect()
                defer { leanDB.close() }
                try leanDB.execute("VACUUM ANALYZE")
                honest = try Floors.measure(job, db: leanDB, month: provider.month, asOf: asOf, configuration: configuration, lean: true)
            }
            try DatabaseCopy.drop(cluster, lean.name)
            log("\(job): honest floor \(honest.milliseconds) ms")
            let db = try cluster.target(database: "bench").connect()
            defer { db.close() }
            let floor = try Floors.measure(job, db: db, month: provider.month, asOf: asOf, configuration: configuration)
            log("\(job): same-schema floor \(floor.milliseconds) ms")
            try db.execute("VACUUM ANALYZE")
            let dry = try ChildRun.run(arguments + ["--dry-run"])
            log("\(job): dry run \(dry.wallMilliseconds) ms, exit \(dry.status)")
            try db.execute("VACUUM ANALYZE")
            let first = try ChildRun.run(arguments)
            log("\(job): first run \(first.wallMilliseconds) ms, \(first.peakRSSKilobytes / 1024) MB, exit \(first.status): \(first.stdout.prefix(400))")
            if !first.succeeded { log(String(first.stderr.suffix(2000))) }
            try db.execute("VACUUM ANALYZE")
            let second = try ChildRun.run(arguments)
            log("\(job): second run \(second.wallMilliseconds) ms, exit \(second.status): \(second.stdout.prefix(200))")
            var hourly: ChildRun.Outcome?
            if job == .thresholdTopup {
                hourly = try measureHour(db, provider: provider, asOf: asOf, arguments: arguments)
            }
            let result = BenchResult(job: job, scale: scaleLabel, provider: provider, first: first, second: second, dry: dry,
                                     floor: floor, honest: honest, hourly: hourly)
            if !result.passed { log("\(job): CHECK FAILED\n\(result.problems.joined(separator: "\n"))") }
            results.append(result)
        }
        return results
    }

    /// threshold-topup's hourly run on top of the debited history: 1,000 new entries on
    /// pre-paid services' tickets and 100 payments of open top-up invoices, then the run an hour
    /// later, timed like the others.
    private func measureHour(_ db: PostgresConnection, provider: SyntheticProvider, asOf: Instant, arguments: [String]) throws -> ChildRun.Outcome {
        let worked = asOf.adding(seconds: 30 * 60)
        try db.execute("""
            WITH prepaid AS (
                SELECT t.id, t.customer_id, row_number() OVER (ORDER BY t.id) AS n
                  FROM tickets t JOIN services s ON s.id = t.service_id JOIN plans p ON p.id = s.plan_id
                 WHERE p.billing = 'prepaid'
            )
            INSERT INTO time_entries (customer_id, ticket_id, worked_at, minutes, billable, staff)
            SELECT p.customer_id, p.id, $1, 5 + g % 116, true, 'hourly'
              FROM generate_series(1, 1000) g
              JOIN prepaid p ON p.n = 1 + (g * 7919) % (SELECT count(*) FROM prepaid)
            """, [worked])
        try db.execute("""
            INSERT INTO payments (customer_id, invoice_id, amount, currency, received_at, status)
            SELECT customer_id, id, total, currency, $1, 'completed'
              FROM invoices WHERE kind = 'topup' AND status = 'issued' ORDER BY id LIMIT 100
            """, [worked])
        var hourArguments = arguments
        if let index = hourArguments.firstIndex(of: "--as-of") { hourArguments[index + 1] = asOf.adding(seconds: 3600 + 300).description }
        let hourly = try ChildRun.run(hourArguments)
        log("threshold-topup: hourly run (1,000 new entries, 100 payments) \(hourly.wallMilliseconds) ms, exit \(hourly.status): \(hourly.stdout.prefix(300))")
        return hourly
    }
}
