import EmbeddedPostgres
import Foundation
import Postgres
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension FaultTests {
    /// A failover mid-run (docs/failover.md): a primary and a synchronous streaming standby, both
    /// embedded clusters; supportbill connects with a multi-host conninfo and
    /// `target_session_attrs=read-write`, so it reaches whichever is the primary. The primary
    /// stops at once while a batch waits; the standby is promoted.
    @Suite("failover to a promoted standby")
    struct FailoverTests {
        static var scale: FaultScale {
            ProcessInfo.processInfo.environment["SUPPORTBILL_FAULT_SCALE"] == nil
                ? FaultScale(customers: 300, entriesPerTicket: 4, batchSize: 20) : .current
        }

        @Test("the primary stops mid-run and the standby is promoted: the run exits 69, every batch it committed is on the new primary (synchronous commit), the next run reaches the new primary, marks the abandoned run failed, and the result equals one clean run")
        func primaryStops() throws {
            var settings = EmbeddedPostgres.Options.disposable
            // What docs/failover.md asks of a billing database: a commit is acknowledged only once
            // the standby has it.
            settings["synchronous_commit"] = "on"
            let primary = try EmbeddedPostgres.start(EmbeddedPostgres.Options(settings: settings))
            defer { try? primary.stop() }
            let scenario = try FaultScenario.make(on: primary, scale: Self.scale)
            let harness = try FaultHarness("monthly-rollup", "failover", scenario: scenario)
            defer { harness.close() }
            let standby = try primary.startStandby()
            defer { try? standby.stop() }
            try harness.watcher.execute("ALTER SYSTEM SET synchronous_standby_names = '*'")
            try harness.watcher.execute("SELECT pg_reload_conf()")
            let streaming = try RunnerProbe.poll(timeout: .seconds(60)) {
                try harness.watcher.query("SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync' AND state = 'streaming'").scalar(Int64.self) == 1 ? true : nil
            }
            try #require(streaming == true, "the standby never streamed synchronously")

            let name = harness.database.name
            let conninfo = "host=\(primary.socketDirectory),\(standby.socketDirectory) port=\(primary.port),\(standby.port) dbname=\(name) user=\(RunnerRole.login) target_session_attrs=read-write"
            let arguments = FaultMonth.arguments("monthly-rollup", jobsDir: scenario.jobsDir)
                + ["--database", conninfo, "--batch-size", String(scenario.scale.batchSize)]
            let blocker = try DeadClientTests.holdHalfWay(harness)
            let run = try ChildProcess(ChildProcess.supportbillPath, arguments)
            _ = try harness.probe.waitUntilBlocked(by: blocker.db.backendPID, in: "WITH w AS (")
            let doneBefore = try harness.checkStep("before the failover")
            #expect(!doneBefore.isEmpty, "no batch had committed before the failover")

            try primary.stopImmediately()
            let result = run.wait()
            blocker.release()
            #expect(result.status == 69, "exit \(result.status) when the primary stopped: \(result.stderr.suffix(800))")
            try standby.promote()

            // The new primary: what the run committed before the failover is all there.
            let promoted = TestDatabase(named: name, on: standby)
            let watcher = try promoted.connect()
            defer { watcher.close() }
            let violations = try BillingInvariants.violations(watcher)
            #expect(violations.isEmpty, "\(violations)")
            let whole = try BillingSnapshot.take(watcher).wholeCustomers(before: scenario.before, after: harness.clean.snapshot)
            #expect(whole.partial.isEmpty, "customers neither untouched nor done:\n\(whole.partial.prefix(5).joined(separator: "\n"))")
            #expect(whole.done == doneBefore, "the new primary lacks batches the run had committed (or has more)")

            let rerun = try ChildProcess.supportbill(arguments)
            #expect(rerun.status == 0, "the next run did not reach the new primary: \(rerun.stderr.suffix(800))")
            let difference = try BillingSnapshot.take(watcher).difference(from: harness.clean.snapshot)
            #expect(difference.isEmpty, "after the rerun on the new primary, the tables differ from one clean run's:\n\(difference)")
            let runs = try watcher.query("SELECT status FROM job_runs WHERE job = 'monthly-rollup' AND as_of >= '2026-11-01' ORDER BY id")
                .map { try $0.decode(0, as: String.self) }
            #expect(runs == ["failed", "succeeded"])
        }
    }
}
