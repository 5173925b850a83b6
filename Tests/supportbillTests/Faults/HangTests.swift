import Foundation
import Postgres
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension FaultTests {
    /// A stuck run cannot block the next timer forever: the run's session has `lock_timeout`,
    /// `statement_timeout` and `idle_in_transaction_session_timeout` (`--lock-timeout`,
    /// `--statement-timeout`, `--idle-in-transaction-timeout`; 60s, 30min, 10min by default).
    @Suite("hangs end: lock, statement and idle-in-transaction timeouts")
    struct HangTests {
        static let rollup = "monthly-rollup"

        @Test("a run waiting for a lock the test holds fails at the timeout with a message naming it (exit 1, recorded failed); earlier batches stay whole; the rerun equals one clean run", arguments: [
            (["--lock-timeout", "2s"], "canceling statement due to lock timeout"),
            (["--lock-timeout", "0", "--statement-timeout", "2s"], "canceling statement due to statement timeout"),
        ])
        func timeout(options: [String], message: String) throws {
            let harness = try FaultHarness(Self.rollup, "hang_lock")
            defer { harness.close() }
            let customer = try #require(try harness.watcher.query("""
                SELECT customer_id FROM invoices WHERE kind = 'period' AND period_start = '2026-09-01'
                 ORDER BY customer_id OFFSET (SELECT count(*) / 2 FROM invoices WHERE kind = 'period' AND period_start = '2026-09-01') LIMIT 1
                """).scalar(Int64.self))
            let blocker = try LockBlocker(target: harness.target)
            #expect(try blocker.hold("SELECT 1 FROM invoices WHERE customer_id = $1 AND period_start = '2026-09-01' FOR UPDATE", [customer]) == 1)
            // The lock is held until the run has ended: only the timeout can end its wait.
            let result = try harness.run(options)
            blocker.release()
            #expect(result.status == 1, "exit \(result.status): \(result.stderr.suffix(800))")
            #expect(result.stderr.contains(message), "\(result.stderr.suffix(800))")
            #expect(result.stderr.contains("a rerun completes the work"), "\(result.stderr.suffix(800))")
            let runs = try harness.runs()
            #expect(runs.map(\.status) == ["failed"])
            #expect(runs.first?.error?.contains(message) == true, "\(runs)")

            let done = try harness.checkStep("after the timeout")
            #expect(!done.isEmpty, "no batch before the blocked one was committed")
            #expect(!done.contains(customer))
            let rerun = try harness.run()
            #expect(rerun.status == 0, "\(rerun.stderr)")
            try harness.expectClean("after the rerun")
        }

        @Test("a run whose process hangs (SIGSTOP) inside a batch: the next run exits 75 while the session lives; the server ends the idle transaction, the lock is freed, and the next run completes the work")
        func idleInTransaction() throws {
            let harness = try FaultHarness(Self.rollup, "hang_idle")
            defer { harness.close() }
            let blocker = try LockBlocker(target: harness.target)
            let customer = try KillTests.blockWrite(harness, blocker, section: "billable_items", keyPrefix: "mr:usage:")
            let hung = try harness.start(["--idle-in-transaction-timeout", "2s"])
            defer { hung.signal(SIGKILL); _ = hung.wait() }
            let backend = try harness.probe.waitUntilBlocked(by: blocker.db.backendPID, in: "INSERT INTO billable_items").pid
            hung.signal(SIGSTOP)
            // Its session lives and holds the job's lock.
            let next = try harness.run()
            #expect(next.status == 75, "exit \(next.status): \(next.stderr.suffix(600))")
            // The statement completes on the server; the client does not go on: idle in transaction.
            blocker.release()
            let gone = try RunnerProbe.poll(timeout: .seconds(120)) {
                try harness.watcher.query("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", [backend]).scalar(Int64.self) == 0 ? true : nil
            }
            #expect(gone == true, "the server did not end the hung run's session")

            let done = try harness.checkStep("after the server ended the hung session")
            #expect(!done.contains(customer), "the hung batch's customer \(customer) was billed")
            let rerun = try harness.run()
            #expect(rerun.status == 0, "\(rerun.stderr)")
            try harness.expectClean("after the rerun")
            #expect(try harness.runs().map(\.status) == ["failed", "succeeded"])
        }
    }
}
