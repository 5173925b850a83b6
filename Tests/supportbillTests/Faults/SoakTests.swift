import EmbeddedPostgres
import Foundation
import Postgres
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension FaultTests {
    /// A quarter of billing as the timers run it (every job daily, the rollup on the 1st), with
    /// seeded random faults during runs (kill -9, PostgreSQL crash-restart, SIGTERM, the network
    /// going silent) and random input corrections between days (`SoakCorrection.enabled`). The
    /// same days and corrections run on a second copy without faults: after every month and at
    /// the end (after one more round of every job at its last instant, which bills corrections
    /// made since) both equal row for row, every invoice total equals its items, and a further
    /// round emits nothing (the jobs converged).
    ///
    /// CI runs a small quarter (every 15th day, the 1sts and the last, 30 customers); the long one runs every day:
    ///
    ///     SUPPORTBILL_SOAK=long swift test --filter SoakTests      # SUPPORTBILL_SOAK_SEED=<seed> replays
    @Suite("soak: a quarter of daily runs with faults and corrections")
    struct SoakTests {
        struct Plan {
            let customers: Int
            let dayStep: Int
            let faultPercent: Int
            let correctionsPerDay: Int

            static var current: Plan {
                ProcessInfo.processInfo.environment["SUPPORTBILL_SOAK"]?.lowercased() == "long"
                    ? Plan(customers: 400, dayStep: 1, faultPercent: 30, correctionsPerDay: 6)
                    : Plan(customers: 30, dayStep: 15, faultPercent: 50, correctionsPerDay: 4)
            }
        }

        enum Fault: String, CaseIterable {
            case kill = "kill -9", restart = "PostgreSQL restart", sigterm = "SIGTERM", stall = "network stall"
        }

        /// The job runs of one day, in the timers' order and times.
        static func runs(on day: String) -> [(job: String, asOf: String)] {
            var runs = [
                ("contract-expiry-rollover", "\(day)T00:15:00Z"), ("incident-grants", "\(day)T00:30:00Z"),
                ("suspension-sweep", "\(day)T06:00:00Z"), ("threshold-topup", "\(day)T12:05:00Z"),
            ]
            // The rollup on the 1st bills every closed month of its window (no --period), as the timer does.
            if day.hasSuffix("-01") { runs.append(("monthly-rollup", "\(day)T14:00:00Z")) }
            return runs
        }

        /// The days of the quarter November 2026 - January 2027, every `step`th, always the 1sts and the last day.
        static func days(step: Int) -> [String] {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            var date = calendar.date(from: DateComponents(year: 2026, month: 11, day: 1))!
            let end = calendar.date(from: DateComponents(year: 2027, month: 1, day: 31))!
            var days: [String] = []
            var index = 0
            while date <= end {
                let parts = calendar.dateComponents([.year, .month, .day], from: date)
                if index % step == 0 || parts.day == 1 || date == end {
                    days.append(String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!))
                }
                index += 1
                date = calendar.date(byAdding: .day, value: 1, to: date)!
            }
            return days
        }

        @Test("a quarter of daily runs with seeded faults (kill -9, restart, SIGTERM, network stall) and corrections ends equal, row for row, to the same quarter run cleanly; invoices equal their items; a further round emits nothing")
        func quarter() throws {
            let plan = Plan.current
            let seed = SeededNumbers.seed(from: "SUPPORTBILL_SOAK_SEED")
            var numbers = SeededNumbers(seed: seed)
            // Without a private network namespace (root) the stall is left out, visibly.
            let namespace = NetworkNamespace.isAvailable ? try NetworkNamespace() : nil
            defer { namespace?.close() }
            let faults = Fault.allCases.filter { $0 != .stall || namespace != nil }
            if namespace == nil { print("soak: no private network namespace here (needs root): the network stall is left out") }

            var settings = EmbeddedPostgres.Options.disposable
            settings["synchronous_commit"] = "on"
            let cluster = try EmbeddedPostgres.start(EmbeddedPostgres.Options(settings: settings))
            defer { try? cluster.stop() }
            if let namespace { try cluster.listen(inNetworkNamespace: namespace.path) }
            let scenario = try FaultScenario.make(on: cluster, scale: FaultScale(customers: plan.customers, entriesPerTicket: 3, batchSize: 8))
            let reference = try scenario.makeDatabase("soak_clean")
            let faulted = try scenario.makeDatabase("soak_faulted")
            defer { reference.drop(); faulted.drop() }
            // See CrashTests: the copies' sequences must be past a checkpoint before a crash.
            try { let db = try cluster.connect(); defer { db.close() }; try db.execute("CHECKPOINT") }()

            let common = ["--jobs-dir", scenario.jobsDir, "--log-level", "notice", "--batch-size", "8", "--client-connection-check-interval", "1s"]
            func arguments(_ job: String, _ asOf: String, _ database: String) -> [String] {
                ["run", job, "--as-of", asOf, "--database", database] + common
            }
            let tcp = "host=127.0.0.1 port=\(cluster.port) dbname=\(faulted.name) user=\(RunnerRole.login) keepalives_idle=1 keepalives_interval=1 keepalives_count=1 tcp_user_timeout=2000"
            func startFaulted(_ job: String, _ asOf: String, _ extra: [String] = []) throws -> ChildProcess {
                if let namespace {
                    let (program, args) = namespace.command(ChildProcess.supportbillPath, arguments(job, asOf, tcp) + extra)
                    return try ChildProcess(program, args)
                }
                return try ChildProcess(ChildProcess.supportbillPath, arguments(job, asOf, faulted.runnerConninfo) + extra)
            }

            var injected: [Fault: Int] = [:]
            var landed: [Fault: Int] = [:]
            var corrections: [String: Int] = [:]
            var runCount = 0
            var lastRun: [String: String] = [:]
            var durations: [String: Duration] = [:]
            let began = ContinuousClock.now
            let days = Self.days(step: plan.dayStep)
            for day in days {
                // Corrections first, the same on both copies.
                for _ in 0..<plan.correctionsPerDay {
                    let kind = numbers.pick(SoakCorrection.enabled)
                    let drawn = (0..<kind.draws).map { _ in numbers.next(in: 0...999_999) }
                    var done: [String?] = []
                    for database in [reference, faulted] {
                        let db = try database.connect()
                        defer { db.close() }
                        done.append(try kind.apply(db, drawn, "\(day)T00:00:00Z"))
                    }
                    #expect(done[0] == done[1], "seed \(seed), \(day): \(kind.name) differs between the copies: \(done)")
                    if done[0] != nil { corrections[kind.name, default: 0] += 1 }
                }
                for (job, asOf) in Self.runs(on: day) {
                    runCount += 1
                    lastRun[job] = asOf
                    // The clean run and the faulted one run side by side (two databases), except
                    // before a restart, which would end the clean run too.
                    let fault = numbers.chance(plan.faultPercent) ? numbers.pick(faults) : nil
                    let typical = durations[job] ?? .milliseconds(500)
                    let delayMicroseconds = numbers.next(in: 0...max(50_000, Int(typical.components.seconds * 1_200_000 + typical.components.attoseconds / 833_333_333_333)))
                    let cleanProcess = try ChildProcess(ChildProcess.supportbillPath, arguments(job, asOf, reference.runnerConninfo))
                    let cleanFirst = fault == .restart ? cleanProcess.wait() : nil
                    let started = ContinuousClock.now
                    let run = try startFaulted(job, asOf)
                    var status: Int32
                    if let fault {
                        injected[fault, default: 0] += 1
                        usleep(useconds_t(delayMicroseconds))
                        switch fault {
                        case .kill: run.signal(SIGKILL)
                        case .sigterm: run.signal(SIGTERM)
                        case .restart:
                            if let namespace { try cluster.restartImmediately(inNetworkNamespace: namespace.path) } else { try cluster.restartImmediately() }
                        case .stall: try namespace?.setLoopback(up: false)
                        }
                        let result = run.wait()
                        if fault == .stall { try namespace?.setLoopback(up: true) }
                        status = result.status
                        if status != 0 && status != 65 {
                            landed[fault, default: 0] += 1
                            // SIGTERM before the handlers are installed ends the process as the signal does.
                            let expected: Set<Int32> = fault == .kill ? [128 + SIGKILL] : fault == .sigterm ? [1, 128 + SIGTERM] : [69, 1]
                            #expect(expected.contains(status), "seed \(seed), \(fault.rawValue) of \(job) at \(asOf): exit \(status) \(result.stderr.suffix(600))")
                        }
                        // Each committed state keeps the invariants.
                        let db = try faulted.connect()
                        let violations = try BillingInvariants.violations(db)
                        db.close()
                        #expect(violations.isEmpty, "seed \(seed), after \(fault.rawValue) of \(job) at \(asOf): \(violations)")
                    } else {
                        status = run.wait().status
                        durations[job] = ContinuousClock.now - started
                    }
                    let clean = cleanFirst ?? cleanProcess.wait()
                    try #require(clean.status == 0 || clean.status == 65, "seed \(seed), clean \(job) at \(asOf): exit \(clean.status) \(clean.stderr.suffix(600))")
                    // Rerun (queued behind a dying run's lock) until the job completes.
                    var attempts = 0
                    while status != 0 && status != 65 && attempts < 4 {
                        attempts += 1
                        let rerun = try startFaulted(job, asOf, ["--wait"]).wait()
                        status = rerun.status
                        if status != 0 && status != 65 { print("soak seed \(seed): rerun of \(job) at \(asOf) exited \(status): \(rerun.stderr.suffix(400))") }
                    }
                    #expect(status == clean.status, "seed \(seed), \(job) at \(asOf): exit \(status), the clean run's \(clean.status)")
                }
                if day.hasSuffix("-01") || day == days.last {
                    try Self.expectEqual(faulted, reference, "seed \(seed), after \(day)")
                }
            }

            // Every job once more at its last run's instant, on both: corrections made after a
            // job's last run (a late entry for December after the rollup of January 1) are
            // billed now, alike. Then the jobs have converged: another round emits nothing.
            for (job, asOf) in lastRun.sorted(by: { $0.key < $1.key }) {
                let clean = try ChildProcess.supportbill(arguments(job, asOf, reference.runnerConninfo))
                let result = try startFaulted(job, asOf).wait()
                #expect(result.status == clean.status, "seed \(seed), last round \(job): exit \(result.status), clean \(clean.status): \(result.stderr.suffix(600))")
            }
            try Self.expectEqual(faulted, reference, "seed \(seed), after the last round")
            let before = try Self.snapshot(faulted)
            for (job, asOf) in lastRun.sorted(by: { $0.key < $1.key }) {
                let result = try startFaulted(job, asOf).wait()
                #expect(result.status == 0 || result.status == 65, "seed \(seed), converged round \(job): \(result.stderr.suffix(600))")
            }
            let difference = try Self.snapshot(faulted).difference(from: before)
            #expect(difference.isEmpty, "seed \(seed): a round after the last one still emitted:\n\(difference)")

            let survived = faults.map { "\($0.rawValue) \(landed[$0, default: 0])/\(injected[$0, default: 0])" }.joined(separator: ", ")
            let made = SoakCorrection.enabled.map { "\($0.name) \(corrections[$0.name, default: 0])" }.joined(separator: ", ")
            print("soak seed \(seed): \(days.count) days, \(runCount) job runs, \(plan.customers) customers; faults that interrupted a run / injected: \(survived); corrections: \(made); \(ContinuousClock.now - began) after the setup")
            #expect(landed.values.reduce(0, +) > 0, "seed \(seed): no fault interrupted a run: the soak proved nothing about faults")
        }

        static func snapshot(_ database: TestDatabase) throws -> BillingSnapshot {
            let db = try database.connect()
            defer { db.close() }
            return try BillingSnapshot.take(db)
        }

        static func expectEqual(_ faulted: TestDatabase, _ reference: TestDatabase, _ step: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let difference = try snapshot(faulted).difference(from: snapshot(reference))
            #expect(difference.isEmpty, "\(step): the faulted quarter differs from the clean one:\n\(difference)", sourceLocation: sourceLocation)
            let db = try faulted.connect()
            defer { db.close() }
            let violations = try BillingInvariants.violations(db)
            #expect(violations.isEmpty, "\(step): \(violations)", sourceLocation: sourceLocation)
        }
    }
}
