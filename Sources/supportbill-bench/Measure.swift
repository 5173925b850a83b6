import ArgumentParser
import BillingCore
import BillingJobs
import BillingStore
import EmbeddedPostgres
import Foundation
import Postgres

struct Measure: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "measure", abstract: "Generate a provider and measure the jobs (the default).")

    @Option(help: "Customers at full scale.") var customers = 10_000
    @Option(help: "Services at full scale.") var services = 50_000
    @Option(help: "Time entries in the month at full scale.") var entries = 5_000_000
    @Option(help: "The month the entries fall in.") var month = "2026-10"
    @Option(help: "Only these jobs (comma-separated). Default: every implemented job.") var jobs: String?
    @Flag(inversion: .prefixedNo, help: "Also run at half scale and print the growth ratio.") var scaling = true
    @Flag(help: "Print one JSON object per job and scale instead of the table.") var json = false

    func validate() throws {
        guard customers > 0, services >= customers, entries > 0 else { throw ValidationError("need customers > 0, services >= customers, entries > 0") }
        _ = try YearMonth(month)
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
        for scale in scaling ? [2, 1] : [1] {
            let provider = SyntheticProvider(customers: customers / scale, services: services / scale, entries: entries / scale, month: period)
            results += try measure(provider, jobs: selected, scaleLabel: scale == 1 ? "full" : "half")
        }
        if json {
            for result in results { print(result.json.compactText) }
        } else {
            print(BenchResult.table(results))
            if scaling { print(BenchResult.growth(results)) }
        }
    }

    private func log(_ text: String) {
        FileHandle.standardError.write(Data("bench: \(text)\n".utf8))
    }

    private func measure(_ provider: SyntheticProvider, jobs: [JobName], scaleLabel: String) throws -> [BenchResult] {
        log("starting a cluster for the \(scaleLabel) scale (\(provider.customers) customers, \(provider.services) services, \(provider.entries) entries)")
        var settings = EmbeddedPostgres.Options.disposable
        settings["shared_buffers"] = "1GB"
        settings["work_mem"] = "64MB"
        settings["maintenance_work_mem"] = "512MB"
        settings["max_wal_size"] = "8GB"
        settings["checkpoint_timeout"] = "30min"
        settings["autovacuum"] = "off"
        let cluster = try EmbeddedPostgres.start(EmbeddedPostgres.Options(settings: settings))
        defer { try? cluster.stop() }
        let admin = try cluster.connect()
        try admin.execute("CREATE DATABASE bench")
        admin.close()
        let target = cluster.target(database: "bench")
        let db = try target.connect()
        defer { db.close() }
        _ = try Migrator().migrate(db)
        let generation = ContinuousClock.now
        try provider.generate(db) { log($0) }
        log("generated in \(ContinuousClock.now - generation)")

        let asOf = Instant(utc: provider.month.next.firstDay, hour: 14)
        var results: [BenchResult] = []
        for job in jobs {
            let period = job == .monthlyRollup ? provider.month : nil
            var arguments = ["job", job.rawValue, "--database", cluster.conninfo(database: "bench"), "--as-of", asOf.description]
            if let period { arguments += ["--period", period.description] }
            let floor = try Floors.measure(job, db: db, provider: provider, asOf: asOf)
            log("\(job): floor \(floor.map { "\($0.milliseconds) ms" } ?? "not defined")")
            let dry = try ChildRun.run(arguments + ["--dry-run"])
            log("\(job): dry run \(dry.wallMilliseconds) ms, exit \(dry.status)")
            let first = try ChildRun.run(arguments)
            log("\(job): first run \(first.wallMilliseconds) ms, \(first.peakRSSKilobytes / 1024) MB, exit \(first.status): \(first.stdout.prefix(300))")
            if first.status != 0 { log(first.stderr.suffix(2000).description) }
            let second = try ChildRun.run(arguments)
            log("\(job): second run \(second.wallMilliseconds) ms, exit \(second.status)")
            results.append(BenchResult(job: job, scale: scaleLabel, provider: provider, first: first, second: second, dry: dry, floor: floor))
        }
        return results
    }
}
