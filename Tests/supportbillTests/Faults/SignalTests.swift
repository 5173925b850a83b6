import Foundation
import Postgres
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension FaultTests {
    /// SIGTERM (systemd's stop, a shutdown) while a run works: it stops within 30 s (the unit's
    /// TimeoutStopSec is 60 s), records itself failed ("interrupted by SIGTERM"), leaves whole
    /// customers only, and the next run completes the work.
    @Suite("SIGTERM mid-run, then a rerun")
    struct SignalTests {
        static let rollup = "monthly-rollup"
        /// The bound. The runner stops at the end of the batch in hand, or cancels it
        /// 10 s after the signal (SignalHandlers.grace); 30 s leaves room for a loaded machine.
        static let bound: Duration = .seconds(30)

        /// SIGINT is what an operator's Ctrl-C sends to a run started by hand.
        @Test("between batches: the batch in hand is finished, the run stops before the next one, exits 1 within 30 s, recorded failed (interrupted by SIGTERM or SIGINT); the rerun equals one clean run",
              arguments: ["SIGTERM", "SIGINT"])
        func finishesTheBatchInHand(signalName: String) throws {
            let signal = signalName == "SIGINT" ? SIGINT : SIGTERM
            let harness = try FaultHarness(Self.rollup, "term_batch")
            defer { harness.close() }
            // Hold a batch about half-way (its September invoices read FOR UPDATE).
            let customer = try #require(try harness.watcher.query("""
                SELECT customer_id FROM invoices WHERE kind = 'period' AND period_start = '2026-09-01'
                 ORDER BY customer_id OFFSET (SELECT count(*) / 2 FROM invoices WHERE kind = 'period' AND period_start = '2026-09-01') LIMIT 1
                """).scalar(Int64.self))
            let blocker = try LockBlocker(target: harness.target)
            #expect(try blocker.hold("SELECT 1 FROM invoices WHERE customer_id = $1 AND period_start = '2026-09-01' FOR UPDATE", [customer]) == 1)
            let run = try harness.start()
            _ = try harness.probe.waitUntilBlocked(by: blocker.db.backendPID, in: "WITH w AS (")
            let doneBefore = try harness.checkStep("while blocked")

            let signalled = ContinuousClock.now
            run.signal(signal)
            // The stop is requested (logged by the handler) before the batch may go on.
            let requested = try RunnerProbe.poll(timeout: Self.bound) { run.currentStderr.contains("stop requested") ? true : nil }
            #expect(requested == true, "the run never logged the stop request")
            blocker.release()
            let result = run.wait()
            let elapsed = ContinuousClock.now - signalled
            #expect(elapsed < Self.bound, "the run took \(elapsed) to stop")
            #expect(result.status == 1, "exit \(result.status): \(result.stderr)")
            #expect(result.stderr.contains("interrupted by \(signalName)"), "\(result.stderr.suffix(800))")

            let done = try harness.checkStep("after \(signalName)")
            #expect(done.contains(customer), "the batch in hand was not finished")
            #expect(done.isSuperset(of: doneBefore))
            #expect(done.count - doneBefore.count <= harness.scenario.scale.batchSize, "the run went on past the batch in hand")
            #expect(done != harness.clean.snapshot.customerIDs.subtracting(harness.scenario.before.customerIDs), "the run did not stop early")
            let runs = try harness.runs()
            #expect(runs.map(\.status) == ["failed"])
            #expect(runs.first?.error?.contains("interrupted by \(signalName)") == true, "\(runs)")

            let rerun = try harness.run()
            #expect(rerun.status == 0, "\(rerun.stderr)")
            try harness.expectClean("after the rerun")
            #expect(try harness.runs().map(\.status) == ["failed", "succeeded"])
        }

        @Test("inside a statement that does not end (waiting for the test's lock): cancelled after the grace period, the batch rolls back whole, exit 1 within 30 s, recorded failed (interrupted by SIGTERM); the rerun equals one clean run")
        func cancelsAStuckBatch() throws {
            let harness = try FaultHarness(Self.rollup, "term_stuck")
            defer { harness.close() }
            let blocker = try LockBlocker(target: harness.target)
            let customer = try KillTests.blockWrite(harness, blocker, section: "billable_items", keyPrefix: "mr:usage:")
            let run = try harness.start()
            _ = try harness.probe.waitUntilBlocked(by: blocker.db.backendPID, in: "INSERT INTO billable_items")

            let signalled = ContinuousClock.now
            run.signal(SIGTERM)
            // The test's lock stays held: only the runner's own cancel can end the wait (before
            // lock_timeout, 60 s, would).
            let result = run.wait()
            let elapsed = ContinuousClock.now - signalled
            blocker.release()
            #expect(elapsed < Self.bound, "the run took \(elapsed) to stop")
            #expect(result.status == 1, "exit \(result.status): \(result.stderr)")
            #expect(result.stderr.contains("interrupted by SIGTERM"), "\(result.stderr.suffix(800))")

            let done = try harness.checkStep("after SIGTERM")
            #expect(!done.contains(customer), "the cancelled batch's customer \(customer) was billed")
            let runs = try harness.runs()
            #expect(runs.map(\.status) == ["failed"])
            #expect(runs.first?.error?.contains("interrupted by SIGTERM") == true, "\(runs)")

            let rerun = try harness.run()
            #expect(rerun.status == 0, "\(rerun.stderr)")
            try harness.expectClean("after the rerun")
            #expect(try harness.runs().map(\.status) == ["failed", "succeeded"])
        }
    }
}
