import BillingCore
import BillingJobs
import Foundation
import Postgres
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension FaultTests {
    /// kill -9 of the runner at known points of a run (held there by a lock the test holds, seen
    /// in pg_stat_activity), and at seeded random instants; then a rerun. Every step keeps the
    /// invariants and whole customers; the end equals one clean run, row for row.
    @Suite("kill -9 of the runner, then a rerun")
    struct KillTests {
        static let rollup = "monthly-rollup"

        @Test("before the lock: killed while queued for the job's lock (--wait), nothing is written; the rerun equals one clean run")
        func beforeTheLock() throws {
            let harness = try FaultHarness(Self.rollup, "kill_lock")
            defer { harness.close() }
            let holder = try LockBlocker(target: harness.target)
            let key = JobRunner.lockKey(for: .monthlyRollup)
            try holder.hold("SELECT pg_advisory_lock($1, $2)", [key.classID, key.objectID])
            let run = try harness.start(["--wait"])
            _ = try harness.probe.waitUntilBlocked(by: holder.db.backendPID, in: "SELECT pg_advisory_lock")
            _ = harness.kill(run)
            holder.release()

            #expect(try harness.runs().isEmpty, "a run queued for the lock recorded itself")
            #expect(try harness.snapshot() == harness.scenario.before)
            try harness.checkStep("after the kill")
            let rerun = try harness.run()
            #expect(rerun.status == 0, "\(rerun.stderr)")
            try harness.expectClean("after the rerun")
        }

        @Test("mid-read: killed while a batch reads (its invoices FOR UPDATE), earlier batches stay whole; the rerun equals one clean run")
        func midRead() throws {
            let harness = try FaultHarness(Self.rollup, "kill_read")
            defer { harness.close() }
            // September's invoice of a customer about half-way: the batch reading it waits.
            let customer = try #require(try harness.watcher.query("""
                SELECT customer_id FROM invoices WHERE kind = 'period' AND period_start = '2026-09-01'
                 ORDER BY customer_id OFFSET (SELECT count(*) / 2 FROM invoices WHERE kind = 'period' AND period_start = '2026-09-01') LIMIT 1
                """).scalar(Int64.self))
            let blocker = try LockBlocker(target: harness.target)
            #expect(try blocker.hold("SELECT 1 FROM invoices WHERE customer_id = $1 AND period_start = '2026-09-01' FOR UPDATE", [customer]) == 1)
            let run = try harness.start()
            _ = try harness.probe.waitUntilBlocked(by: blocker.db.backendPID, in: "WITH w AS (")
            let doneBefore = try harness.checkStep("while blocked")
            _ = harness.kill(run)
            blocker.release()

            let done = try harness.checkStep("after the kill")
            #expect(done == doneBefore)
            #expect(!done.isEmpty, "no batch had committed before the blocked one")
            #expect(done.allSatisfy { $0 < customer }, "customers after the blocked batch were billed")
            #expect(try harness.runs().map(\.status) == ["running"])
            let rerun = try harness.run()
            #expect(rerun.status == 0, "\(rerun.stderr)")
            try harness.expectClean("after the rerun")
            #expect(try harness.runs().map(\.status) == ["failed", "succeeded"], "the killed run is not marked failed")
            #expect(try harness.runs().first?.error?.contains("stale") == true)
        }

        /// Per job, a write a batch makes after earlier writes of its own: (job, section, source key
        /// prefix, the statement the run waits in).
        static let writes = [
            ("monthly-rollup", "billable_items", "mr:usage:", "INSERT INTO billable_items"),
            ("threshold-topup", "credit_ledger", "tt:usage:", "INSERT INTO credit_ledger"),
            ("contract-expiry-rollover", "contract_charges", "ce:charge:", "INSERT INTO contract_charges"),
            ("incident-grants", "incident_grants", "ig:period:", "INSERT INTO incident_grants"),
            ("suspension-sweep", "services", "", "UPDATE services"),
        ]

        @Test("mid-write: killed inside a batch's transaction after it inserted invoices, the batch leaves nothing; the rerun equals one clean run", arguments: KillTests.writes)
        func midWrite(job: String, section: String, keyPrefix: String, statement: String) throws {
            let harness = try FaultHarness(job, "kill_write_\(section)")
            defer { harness.close() }
            let blocker = try LockBlocker(target: harness.target)
            let customer = try Self.blockWrite(harness, blocker, section: section, keyPrefix: keyPrefix)
            let run = try harness.start()
            let activity = try harness.probe.waitUntilBlocked(by: blocker.db.backendPID, in: statement)
            // The fault tests run the jobs with the least privilege, as production does.
            #expect(activity.role == RunnerRole.login, "\(job) ran as \(activity.role), not as a member of \(RunnerRole.group)")
            _ = harness.kill(run)
            blocker.release()

            let done = try harness.checkStep("after the kill")
            #expect(!done.contains(customer), "the killed batch's customer \(customer) was billed")
            let rerun = try harness.run()
            #expect(rerun.status == 0, "\(rerun.stderr)")
            try harness.expectClean("after the rerun")
        }

        /// Makes the batch of a customer about 60% through the clean result wait in `section`'s
        /// write: an uncommitted row with the source key the run will insert (the run's
        /// insert-if-absent waits for the test's transaction), or for the sweep a lock on a
        /// service it will suspend. Returns the customer.
        static func blockWrite(_ harness: FaultHarness, _ blocker: LockBlocker, section: String, keyPrefix: String) throws -> Int64 {
            let runID = try harness.anyRunID()
            switch section {
            case "services":
                let suspended = (harness.clean.snapshot.sections["services"] ?? []).filter { $0.contains("|suspended|overdue|2026-11-01 06:00:00") }
                let row = suspended[suspended.count * 3 / 5].split(separator: "|").map(String.init)
                let customer = try #require(Int64(row[0].dropFirst()))
                #expect(try blocker.hold("SELECT 1 FROM services WHERE id = $1 FOR UPDATE", [try #require(Int64(row[1]))]) == 1)
                return customer
            case "billable_items":
                let (customer, key) = try harness.cleanRow(in: section, keyPrefix: keyPrefix, fraction: 0.6)
                try blocker.hold("""
                    INSERT INTO billable_items (customer_id, kind, description, quantity, unit_price, amount, currency, source_key, run_id)
                    VALUES ($1, 'usage', 'test blocker', 1, 0, 0, 'USD', $2, $3)
                    """, [customer, key, runID])
                return customer
            case "credit_ledger":
                let (customer, key) = try harness.cleanRow(in: section, keyPrefix: keyPrefix, fraction: 0.6)
                try blocker.hold("""
                    INSERT INTO credit_ledger (customer_id, service_id, amount, currency, reason, source_key, run_id)
                    VALUES ($1, 0, 0, 'USD', 'usage', $2, $3)
                    """, [customer, key, runID])
                return customer
            case "contract_charges":
                let (customer, key) = try harness.cleanRow(in: section, keyPrefix: keyPrefix, fraction: 0.6)
                try blocker.hold("""
                    INSERT INTO contract_charges (customer_id, time_entry_id, minutes, outcome, source_key, run_id)
                    VALUES ($1, 0, 1, 'ignored', $2, $3)
                    """, [customer, key, runID])
                return customer
            case "incident_grants":
                let (customer, key) = try harness.cleanRow(in: section, keyPrefix: keyPrefix, fraction: 0.6)
                try blocker.hold("""
                    INSERT INTO incident_grants (customer_id, quantity, lifetime, valid_from, source, source_key)
                    VALUES ($1, 1, true, '2026-01-01', 'manual', $2)
                    """, [customer, key])
                return customer
            default:
                throw PostgresError.usage("no blocker for \(section)")
            }
        }

        @Test("after commit: killed after the last batch committed, before the run recorded its end; the rerun emits nothing and marks the run failed")
        func afterCommit() throws {
            let harness = try FaultHarness(Self.rollup, "kill_commit")
            defer { harness.close() }
            // Hold the run at an early batch, lock its job_runs row, then let it finish its batches.
            let early = try #require(try harness.watcher.query("""
                SELECT customer_id FROM invoices WHERE kind = 'period' AND period_start = '2026-09-01' ORDER BY customer_id OFFSET 40 LIMIT 1
                """).scalar(Int64.self))
            let gate = try LockBlocker(target: harness.target)
            try gate.hold("SELECT 1 FROM invoices WHERE customer_id = $1 AND period_start = '2026-09-01' FOR UPDATE", [early])
            let run = try harness.start()
            _ = try harness.probe.waitUntilBlocked(by: gate.db.backendPID, in: "WITH w AS (")
            // NO KEY UPDATE: the batches' foreign keys to job_runs (KEY SHARE) pass, the final UPDATE waits.
            let record = try LockBlocker(target: harness.target)
            #expect(try record.hold("SELECT 1 FROM job_runs WHERE job = 'monthly-rollup' AND status = 'running' FOR NO KEY UPDATE") == 1)
            gate.release()
            _ = try harness.probe.waitUntilBlocked(by: record.db.backendPID, in: "UPDATE job_runs")
            _ = harness.kill(run)
            record.release()

            // Every batch had committed: the tables are already those of a clean run.
            try harness.expectClean("after the kill")
            #expect(try harness.runs().map(\.status) == ["running"])
            let rerun = try harness.run(["--format", "json"])
            #expect(rerun.status == 0, "\(rerun.stderr)")
            let report = try JSONValue(parsing: rerun.stdout)
            #expect(report["invoices"]?.arrayValue?.isEmpty ?? true, "the rerun emitted invoices: \(rerun.stdout.prefix(500))")
            #expect(report["counts"]?["invoices"] == nil)
            try harness.expectClean("after the rerun")
            #expect(try harness.runs().map(\.status) == ["failed", "succeeded"])
        }

        @Test("at seeded random instants, several kills in a row: every step whole, the last rerun equals one clean run", arguments: FaultMonth.jobs)
        func randomInstants(job: String) throws {
            let harness = try FaultHarness(job, "kill_random")
            defer { harness.close() }
            // SUPPORTBILL_FAULT_SEED=<seed> replays a failure's kill instants (as fractions of a clean run).
            let seed = SeededNumbers.seed(from: "SUPPORTBILL_FAULT_SEED")
            var generator = SeededNumbers(seed: seed)
            let clean = harness.clean.duration
            var kills = 0
            for attempt in 1...5 {
                // The first kill lands well inside the clean run (5–60 % of it), so every job is
                // killed at least once while it works; the later ones anywhere up to just after
                // its end (a rerun has less left to do, and may finish first).
                let percent = generator.next(in: attempt == 1 ? 5...60 : 5...110)
                let delay = clean * Double(percent) / 100
                let run = try harness.start()
                // Watch the invariants while it works; each check sees one committed state.
                let deadline = ContinuousClock.now + delay
                while ContinuousClock.now < deadline {
                    let violations = try BillingInvariants.violations(harness.watcher)
                    #expect(violations.isEmpty, "seed \(seed), attempt \(attempt), while running: \(violations)")
                    usleep(10_000)
                }
                run.signal(SIGKILL)
                let result = run.wait()
                if result.status != 128 + SIGKILL {
                    #expect(result.status == 0, "seed \(seed), attempt \(attempt): exit \(result.status) \(result.stderr)")
                } else {
                    kills += 1
                }
                try harness.checkStep("seed \(seed), after kill attempt \(attempt) at \(delay) (\(percent) % of the clean run)")
            }
            // Without a kill the test would prove nothing about kills.
            #expect(kills > 0, "\(job), seed \(seed): every run finished before its kill (clean run \(clean))")
            // And at least one was killed after it had started its work (its job_runs row is
            // left `running`, or marked failed by the next attempt), not while it connected.
            #expect(try harness.runs().contains { $0.status == "running" || $0.status == "failed" },
                    "\(job), seed \(seed): every kill landed before a run had started (clean run \(clean))")
            let rerun = try harness.run()
            #expect(rerun.status == 0, "seed \(seed): \(rerun.stderr)")
            try harness.expectClean("seed \(seed), after the rerun (\(kills) runs killed)")
            #expect(try harness.runs().filter { $0.status == "running" }.isEmpty)
        }
    }
}
