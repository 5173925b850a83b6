import EmbeddedPostgres
import Foundation
import Postgres
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension FaultTests {
    /// PostgreSQL crashes (`pg_ctl restart -m immediate`: every backend dies at once, the server
    /// recovers from its WAL) while a run is inside a batch. On a cluster of the test's own, as
    /// the shared one serves the other tests.
    @Suite("PostgreSQL crash mid-run, then a rerun")
    struct CrashTests {
        /// Smaller than the kill tests' month by default, as the scenario is built again on the
        /// test's cluster; `SUPPORTBILL_FAULT_SCALE` chooses it as for the other fault tests.
        static var scale: FaultScale {
            ProcessInfo.processInfo.environment["SUPPORTBILL_FAULT_SCALE"] == nil
                ? FaultScale(customers: 400, entriesPerTicket: 4, batchSize: 20) : .current
        }

        @Test("crash inside a batch's write, for every job: the run exits 69 naming the lost connection, the batch leaves nothing, earlier batches stay whole; the rerun equals one clean run")
        func crashMidWrite() throws {
            var settings = EmbeddedPostgres.Options.disposable
            // A commit the runner was told about must survive the crash, as on a production server
            // (fsync stays off: the machine does not crash, only PostgreSQL's processes die).
            settings["synchronous_commit"] = "on"
            let cluster = try EmbeddedPostgres.start(EmbeddedPostgres.Options(settings: settings))
            defer { try? cluster.stop() }
            let scenario = try FaultScenario.make(on: cluster, scale: Self.scale)

            for (job, section, keyPrefix, statement) in KillTests.writes {
                let harness = try FaultHarness(job, "crash_\(section)", scenario: scenario)
                defer { harness.close() }
                // The copy's sequence pages come from the template with values PostgreSQL counts as
                // WAL-logged already, but logged for the template: a crash before the next
                // checkpoint would hand out the crashed run's ids again (job_runs_pkey). A database
                // in service has had a checkpoint since it was created; so has this one.
                try harness.watcher.execute("CHECKPOINT")
                let blocker = try LockBlocker(target: harness.target)
                let customer = try KillTests.blockWrite(harness, blocker, section: section, keyPrefix: keyPrefix)
                let run = try harness.start()
                _ = try harness.probe.waitUntilBlocked(by: blocker.db.backendPID, in: statement)
                let doneBefore = try harness.checkStep("before the crash")

                try cluster.restartImmediately()
                let result = run.wait()
                blocker.release()
                #expect(result.status == 69, "\(job): exit \(result.status) after the crash: \(result.stderr)")
                let message = result.stderr.split(separator: "\n").last { $0.hasPrefix("supportbill: \(job):") } ?? ""
                // "lost the connection to PostgreSQL: server closed the connection unexpectedly"
                #expect(message.contains("lost the connection to PostgreSQL") || message.contains("PostgreSQL error 57P0"),
                        "\(job): no message naming the lost database: \(result.stderr.suffix(800))")

                try harness.reconnect()
                let done = try harness.checkStep("after the crash")
                #expect(done == doneBefore, "\(job): the crash changed what was committed")
                #expect(!done.contains(customer), "\(job): the crashed batch's customer \(customer) was billed")
                // The run could not record its end: the next run finds it stale and marks it failed.
                #expect(try harness.runs().map(\.status) == ["running"], "\(job)")
                let rerun = try harness.run()
                #expect(rerun.status == 0, "\(job): \(rerun.stderr)")
                try harness.expectClean("\(job), after the rerun")
                #expect(try harness.runs().map(\.status) == ["failed", "succeeded"], "\(job)")
            }
        }
    }
}
