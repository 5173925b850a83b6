import BillingStore
import Foundation
import Postgres
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension FaultTests {
    /// Runs at the same time: of one job (the lock), of two jobs over the same customers (the
    /// result of some serial order), and a deadlock inside a batch (retried).
    @Suite("concurrent runs")
    struct ConcurrencyTests {
        static let rollup = "monthly-rollup"

        @Test("four runs of one job started together: one works, the other three exit 75 at once naming it (run id and pid); the result equals one clean run")
        func sameJob() throws {
            let harness = try FaultHarness(Self.rollup, "same_job")
            defer { harness.close() }
            // The run that gets the lock is held half-way, so the others surely find it held.
            let customer = try #require(try harness.watcher.query("""
                SELECT customer_id FROM invoices WHERE kind = 'period' AND period_start = '2026-09-01'
                 ORDER BY customer_id OFFSET (SELECT count(*) / 2 FROM invoices WHERE kind = 'period' AND period_start = '2026-09-01') LIMIT 1
                """).scalar(Int64.self))
            let blocker = try LockBlocker(target: harness.target)
            #expect(try blocker.hold("SELECT 1 FROM invoices WHERE customer_id = $1 AND period_start = '2026-09-01' FOR UPDATE", [customer]) == 1)
            let runs = try (1...4).map { _ in try harness.start() }
            _ = try harness.probe.waitUntilBlocked(by: blocker.db.backendPID, in: "WITH w AS (")
            let holder = try #require(try harness.watcher.query(
                "SELECT id, pid FROM job_runs WHERE job = $1 AND status = 'running'", [Self.rollup]).first)
            let (runID, pid) = (try holder.decode(0, as: Int64.self), try holder.decode(1, as: Int32.self))
            let winner = try #require(runs.first { $0.pid == pid }, "the running job_runs row names pid \(pid), none of the four")

            for run in runs where run !== winner {
                let result = run.wait()
                #expect(result.status == 75, "exit \(result.status): \(result.stderr)")
                #expect(result.stderr.contains("monthly-rollup is already running: run \(runID),"), "\(result.stderr.suffix(600))")
                #expect(result.stderr.contains("(pid \(pid))"), "\(result.stderr.suffix(600))")
            }
            blocker.release()
            let result = winner.wait()
            #expect(result.status == 0, "\(result.stderr)")
            try harness.expectClean("after the four runs")
            #expect(try harness.runs().map(\.status) == ["succeeded"], "a run that did not get the lock recorded itself")
        }

        @Test("two jobs over the same customers at the same time: every customer ends exactly as after one of the two serial orders; invoices equal their items", arguments: [
            ("contract-expiry-rollover", "monthly-rollup"),
            ("threshold-topup", "suspension-sweep"),
        ])
        func twoJobs(first: String, second: String) throws {
            let scenario = try FaultScenario.get()
            // Small batches: many transactions of each run interleave.
            let batch = max(10, scenario.scale.batchSize / 2)
            let inOrder = try Self.serial([first, second], scenario, batch: batch)
            let reversed = try Self.serial([second, first], scenario, batch: batch)
            // The order matters for some customers (per-incident items invoiced or not yet; a
            // top-up paid by one job or the other), so matching "either order" is a real check.
            #expect(inOrder.snapshot != reversed.snapshot, "both orders give the same result: this test would prove nothing")

            let database = try scenario.makeDatabase("together")
            defer { database.drop() }
            let runs = try [first, second].map { try ChildProcess(ChildProcess.supportbillPath, scenario.arguments($0, database, batchSize: batch)) }
            let results = runs.map { $0.wait() }
            for (job, result) in zip([first, second], results) {
                #expect(result.status == inOrder.statuses[job] || result.status == reversed.statuses[job],
                        "\(job): exit \(result.status), serially \(inOrder.statuses[job] ?? -1): \(result.stderr.suffix(800))")
            }
            let db = try database.connect()
            defer { db.close() }
            let violations = try BillingInvariants.violations(db)
            #expect(violations.isEmpty, "\(violations)")
            let together = try BillingSnapshot.take(db)
            let mismatches = Self.serializable(together, inOrder.snapshot, reversed.snapshot)
            #expect(mismatches.isEmpty, "\(first) ‖ \(second): \(mismatches.count) customers match neither serial order:\n\(mismatches.prefix(5).joined(separator: "\n"))")
        }

        /// What makes `twoJobs` hold by construction rather than by luck: another job's batch
        /// holding a customer's lock (the test's session takes it, as that batch would) makes
        /// the batch of that customer wait, whole, and a dry run does not wait at all.
        @Test("a batch waits for its customers' lock while another job's batch holds it: earlier batches commit, the waiting batch writes nothing until it is free; a dry run never waits")
        func customerLock() throws {
            let harness = try FaultHarness("threshold-topup", "customer_lock")
            defer { harness.close() }
            let (customer, _) = try harness.cleanRow(in: "credit_ledger", keyPrefix: "tt:usage:", fraction: 0.5)
            let blocker = try LockBlocker(target: harness.target)
            try blocker.hold("SELECT pg_advisory_xact_lock($1::integer, ($2::bigint % $3)::integer)",
                             [CustomerLocks.classID, customer, CustomerLocks.slots])

            let dry = try harness.run(batchSize: 50, ["--dry-run"])
            #expect(dry.status == 0, "a dry run waited for or failed on the customer's lock: \(dry.stderr.suffix(600))")
            #expect(try harness.snapshot() == harness.scenario.before, "the dry run left rows behind")

            let run = try harness.start(batchSize: 50)
            _ = try harness.probe.waitUntilBlocked(by: blocker.db.backendPID, in: "SELECT count(*)")
            let done = try harness.checkStep("while another batch holds customer \(customer)")
            #expect(!done.contains(customer), "customer \(customer) was written while its lock was held")
            #expect(!done.isEmpty, "no batch before the held customer's committed")
            blocker.release()
            let result = run.wait()
            #expect(result.status == 0, "\(result.stderr.suffix(800))")
            try harness.expectClean("after the lock was released")
        }

        /// The jobs run one after the other on a fresh copy: the snapshot and each job's exit status.
        static func serial(_ jobs: [String], _ scenario: FaultScenario, batch: Int) throws -> (snapshot: BillingSnapshot, statuses: [String: Int32]) {
            let database = try scenario.makeDatabase("serial")
            defer { database.drop() }
            var statuses: [String: Int32] = [:]
            for job in jobs {
                let result = try ChildProcess.supportbill(scenario.arguments(job, database, batchSize: batch))
                guard result.status == 0 || result.status == 65 else {
                    throw PostgresError.usage("\(job) alone exited \(result.status): \(result.stderr)")
                }
                statuses[job] = result.status
            }
            let db = try database.connect()
            defer { db.close() }
            return (try BillingSnapshot.take(db), statuses)
        }

        /// Customers (and the rows of no customer) whose rows equal neither `a`'s nor `b`'s.
        static func serializable(_ now: BillingSnapshot, _ a: BillingSnapshot, _ b: BillingSnapshot) -> [String] {
            var mismatches: [String] = []
            let (mine, first, second) = (now.byCustomer(), a.byCustomer(), b.byCustomer())
            for id in Set(mine.keys).union(first.keys).union(second.keys).sorted() {
                let rows = mine[id] ?? [:]
                guard rows != first[id] ?? [:], rows != second[id] ?? [:] else { continue }
                let changes = Set(rows.keys).union((first[id] ?? [:]).keys).sorted().compactMap { name -> String? in
                    let expected = first[id]?[name] ?? []
                    let got = rows[name] ?? []
                    guard got != expected else { return nil }
                    return "\(name) +\(BillingSnapshot.subtract(got, expected).prefix(3)) -\(BillingSnapshot.subtract(expected, got).prefix(3))"
                }
                mismatches.append("customer \(id), against the first order: \(changes.joined(separator: "; "))")
            }
            let shared = { (snapshot: BillingSnapshot) in snapshot.sections.mapValues { $0.filter { !Self.isCustomerRow($0) } } }
            if shared(now) != shared(a) && shared(now) != shared(b) {
                mismatches.append("rows of no customer (contracts, ...) match neither order")
            }
            return mismatches
        }

        static func isCustomerRow(_ row: String) -> Bool {
            row.hasPrefix("c") && Int64(row.dropFirst().prefix { $0 != "|" }) != nil
        }

        /// The fields of a period invoice the clean run adds for `customer`: c<id>, source_key, currency, kind, ...
        static func newInvoice(of customer: Int64, _ harness: FaultHarness) -> [String]? {
            let fields: (String) -> [String] = { row in row.split(separator: "|", omittingEmptySubsequences: false).map(String.init) }
            let before: Set<String> = Set((harness.scenario.before.sections["invoices"] ?? []).map { fields($0)[1] })
            let rows: [[String]] = (harness.clean.snapshot.sections["invoices"] ?? []).map(fields)
            return rows.first { (row: [String]) -> Bool in
                row[0] == "c\(customer)" && row[3] == "period" && !before.contains(row[1])
            }
        }

        @Test("a deadlock inside a batch (40P01) is retried: the run succeeds, its log names the retry, the result equals one clean run")
        func deadlockRetried() throws {
            let harness = try FaultHarness(Self.rollup, "deadlock")
            defer { harness.close() }
            // The test holds an item the batch of `customer` will insert; the batch waits for it
            // after inserting the customer's invoice. The test then inserts that invoice too and
            // waits for the batch: a cycle, which the run's session detects (deadlock_timeout,
            // 1 s; the test's session waits 10 min first) and breaks by failing its batch.
            let blocker = try LockBlocker(target: harness.target)
            let customer = try KillTests.blockWrite(harness, blocker, section: "billable_items", keyPrefix: "mr:usage:")
            let invoice = try #require(Self.newInvoice(of: customer, harness), "customer \(customer) gets no new period invoice")
            let run = try harness.start()
            _ = try harness.probe.waitUntilBlocked(by: blocker.db.backendPID, in: "INSERT INTO billable_items")
            // Returns once the run's batch has failed with 40P01 and released the invoice's key.
            try blocker.hold("""
                INSERT INTO invoices (customer_id, currency, kind, period_start, period_end, status, total, source_key, run_id)
                VALUES ($1, $2, 'period', '2026-10-01', '2026-11-01', 'draft', 0, $3, $4)
                """, [customer, invoice[2], invoice[1], try harness.anyRunID()])
            blocker.release()
            let result = run.wait()
            #expect(result.status == 0, "\(result.stderr.suffix(1000))")
            #expect(result.stderr.contains("retrying batch after a serialization failure or deadlock"), "\(result.stderr.suffix(1000))")
            #expect(result.stderr.contains("40P01"), "\(result.stderr.suffix(1000))")
            try harness.expectClean("after the retried run")
            #expect(try harness.runs().map(\.status) == ["succeeded"])
        }
    }
}
