import BillingJobs
import Foundation
import Postgres
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension FaultTests {
    /// A runner that dies (kill -9, the OOM killer, a host crash) while its backend is inside a
    /// statement: PostgreSQL would go on with the statement, holding the job's advisory lock,
    /// until it ends (a lock wait: up to lock_timeout, a long statement: statement_timeout), and
    /// every timer run meanwhile exits 75. The runner's session sets
    /// `client_connection_check_interval` (`--client-connection-check-interval`, 5 s by
    /// default), so the server notices the closed socket while the statement runs and ends it.
    @Suite("a killed runner's job lock is freed within seconds")
    struct DeadClientTests {
        static let rollup = "monthly-rollup"
        /// The bound: 5 s of check interval plus a loaded machine's slack.
        static let bound: Duration = .seconds(15)

        @Test("kill -9 while a batch waits on a row lock the test keeps: the dead client's statement is cancelled and the job's lock freed within 15 s; the next run (queued with --wait, or started after) proceeds; the result equals one clean run",
              arguments: ["--wait", "next run"])
        func killedWhileWaiting(next: String) throws {
            let harness = try FaultHarness(Self.rollup, "dead_client")
            defer { harness.close() }
            let key = JobRunner.lockKey(for: .monthlyRollup)
            let blocker = try Self.holdHalfWay(harness)
            let run = try harness.start()
            let backend = try harness.probe.waitUntilBlocked(by: blocker.db.backendPID, in: "WITH w AS (").pid
            #expect(try harness.probe.jobLockHolder(classID: key.classID, objectID: key.objectID) == backend)
            _ = harness.kill(run)
            let killed = ContinuousClock.now
            let queued = next == "--wait" ? try harness.start(["--wait"]) : nil

            // The test's row lock stays held: only the server's check of the client can end the
            // dead backend's wait before lock_timeout (60 s).
            let gone = try RunnerProbe.poll(timeout: Self.bound) { try harness.probe.backendAlive(backend) ? nil : true }
            let elapsed = ContinuousClock.now - killed
            #expect(gone == true, "the killed run's backend \(backend) still runs \(elapsed) after the kill")
            #expect(try harness.probe.jobLockHolder(classID: key.classID, objectID: key.objectID) != backend)

            if let queued {
                // It got the lock and went on to the work: it now waits on the test's row too.
                let activity = try harness.probe.waitUntilBlocked(by: blocker.db.backendPID, in: "WITH w AS (", timeout: Self.bound)
                #expect(try harness.probe.jobLockHolder(classID: key.classID, objectID: key.objectID) == activity.pid)
                blocker.release()
                let result = queued.wait()
                #expect(result.status == 0, "\(result.stderr.suffix(800))")
            } else {
                blocker.release()
                let result = try harness.run()
                #expect(result.status == 0, "\(result.stderr.suffix(800))")
            }
            try harness.expectClean("after the run that followed the kill")
            let runs = try harness.runs()
            #expect(runs.map(\.status) == ["failed", "succeeded"])
            #expect(runs.first?.error?.contains("stale") == true, "\(runs)")
        }

        /// What the setting changes: with the check off, the dead client's backend keeps waiting
        /// on the row lock, and keeps the job's lock, long after the kill.
        @Test("with --client-connection-check-interval 0 the killed run's backend keeps the job's lock while its statement waits: the next run exits 75")
        func checkOff() throws {
            let harness = try FaultHarness(Self.rollup, "dead_client_off")
            defer { harness.close() }
            let key = JobRunner.lockKey(for: .monthlyRollup)
            let blocker = try Self.holdHalfWay(harness)
            let run = try harness.start(["--client-connection-check-interval", "0"])
            let backend = try harness.probe.waitUntilBlocked(by: blocker.db.backendPID, in: "WITH w AS (").pid
            _ = harness.kill(run)
            // Twice the default interval, in which the check would have ended it.
            usleep(10_000_000)
            #expect(try harness.probe.backendAlive(backend), "the backend ended without the check")
            #expect(try harness.probe.jobLockHolder(classID: key.classID, objectID: key.objectID) == backend)
            let next = try harness.run()
            #expect(next.status == 75, "exit \(next.status): \(next.stderr.suffix(600))")
            // The statement ends when the test lets go; the server then finds the client gone.
            blocker.release()
            let gone = try RunnerProbe.poll(timeout: .seconds(60)) { try harness.probe.backendAlive(backend) ? nil : true }
            #expect(gone == true)
            let rerun = try harness.run()
            #expect(rerun.status == 0, "\(rerun.stderr.suffix(800))")
            try harness.expectClean("after the rerun")
        }

        /// Holds the September invoice of a customer about half-way FOR UPDATE: the batch reading
        /// it waits there.
        static func holdHalfWay(_ harness: FaultHarness) throws -> LockBlocker {
            let customer = try #require(try harness.watcher.query("""
                SELECT customer_id FROM invoices WHERE kind = 'period' AND period_start = '2026-09-01'
                 ORDER BY customer_id OFFSET (SELECT count(*) / 2 FROM invoices WHERE kind = 'period' AND period_start = '2026-09-01') LIMIT 1
                """).scalar(Int64.self))
            let blocker = try LockBlocker(target: harness.target)
            #expect(try blocker.hold("SELECT 1 FROM invoices WHERE customer_id = $1 AND period_start = '2026-09-01' FOR UPDATE", [customer]) == 1)
            return blocker
        }
    }
}
