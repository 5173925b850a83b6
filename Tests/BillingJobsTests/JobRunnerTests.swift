import BillingCore
import BillingJobs
import BillingStore
import Foundation
import Postgres
import TestSupport
import Testing

@Suite("The job runner: lock, job_runs, batches, skips, dry run, exit codes")
struct JobRunnerTests {
    static let asOf = try! Instant(rfc3339: "2026-11-01T14:00:00Z")

    private func setUp(customers names: [String] = ["a", "b", "c"]) throws -> (TestDatabase, PostgresConnection, [Int64]) {
        let database = try TestCluster.makeDatabase()
        let db = try database.connect()
        try db.execute(MarkJob.schema)
        let fixtures = Fixtures(db)
        var ids: [Int64] = []
        for name in names { ids.append(try fixtures.customer(name)) }
        return (database, db, ids)
    }

    private func marks(_ db: PostgresConnection) throws -> [String] {
        try db.query("SELECT source_key FROM test_marks ORDER BY customer_id").map { try $0.decode(0, as: String.self) }
    }

    @Test("a run emits each customer's rows once; a rerun emits nothing and exits 0")
    func idempotentRerun() throws {
        let (database, db, ids) = try setUp()
        defer { database.drop() }
        let runner = JobRunner(target: database.target)
        let first = runner.run(MarkJob(), JobRunRequest(asOf: Self.asOf, batchSize: 2, invokedBy: "test"))
        #expect(first.exitStatus == .success)
        #expect(first.status == .succeeded)
        #expect(first.output.counts["marks"] == 3)
        #expect(first.output.counts["customers"] == 3)
        #expect(first.output.totals[try CurrencyCode("USD")]?["marked"] == 300)
        #expect(try marks(db) == ids.map { "mark:\($0)" })

        let second = runner.run(MarkJob(), JobRunRequest(asOf: Self.asOf, invokedBy: "test"))
        #expect(second.exitStatus == .success)
        #expect(second.output.counts["marks"] == nil)
        #expect(second.output.records[.events] == nil)
        #expect(try marks(db).count == 3)

        let runs = try JobRunStore.recent(db)
        #expect(runs.map(\.status) == ["succeeded", "succeeded"])
        #expect(runs.last?.id == first.runID)
        #expect(runs.last?.stats["counts"]?["marks"]?.intValue == 3)
        #expect(runs.last?.invokedBy == "test")
        #expect(runs.last?.finishedAt != nil)
        db.close()
    }

    @Test("work is committed in batches of customers")
    func batches() throws {
        let (database, db, _) = try setUp(customers: (1...7).map { "c\($0)" })
        defer { database.drop() }
        let job = MarkJob()
        let report = JobRunner(target: database.target).run(job, JobRunRequest(asOf: Self.asOf, batchSize: 3, invokedBy: "test"))
        #expect(report.exitStatus == .success)
        #expect(job.batchSizes == [3, 3, 1])
        db.close()
    }

    @Test("a dry run reports what the real run emits and leaves no rows and no locks")
    func dryRun() throws {
        let (database, db, _) = try setUp()
        defer { database.drop() }
        let runner = JobRunner(target: database.target)
        let dry = runner.run(MarkJob(), JobRunRequest(asOf: Self.asOf, dryRun: true, batchSize: 2, invokedBy: "test"))
        #expect(dry.exitStatus == .success)
        #expect(dry.dryRun)
        #expect(try marks(db).isEmpty)
        #expect(try Fixtures(db).count("job_runs") == 0)
        #expect(try db.query("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())").scalar(Int.self) == 0)

        let real = runner.run(MarkJob(), JobRunRequest(asOf: Self.asOf, batchSize: 2, invokedBy: "test"))
        #expect(real.output.records[.events] == dry.output.records[.events])
        #expect(real.output.counts == dry.output.counts)
        var dryJSON = dry.json.objectValue ?? []
        var realJSON = real.json.objectValue ?? []
        dryJSON.removeAll { ["run_id", "dry_run"].contains($0.0) }
        realJSON.removeAll { ["run_id", "dry_run"].contains($0.0) }
        #expect(JSONValue.object(dryJSON) == JSONValue.object(realJSON))
        db.close()
    }

    @Test("runs inside an enclosing transaction see each other's work; rolling it back leaves nothing")
    func enclosingTransaction() throws {
        let (database, db, ids) = try setUp()
        defer { database.drop() }
        let runner = JobRunner(target: database.target)
        let session = try database.connect()
        try session.execute("BEGIN")
        let first = runner.run(MarkJob(), JobRunRequest(asOf: Self.asOf, customers: [ids[0]], dryRun: true, invokedBy: "sim"), on: session, scope: .enclosingTransaction)
        let second = runner.run(MarkJob(), JobRunRequest(asOf: Self.asOf, dryRun: true, invokedBy: "sim"), on: session, scope: .enclosingTransaction)
        #expect(first.output.counts["marks"] == 1)
        #expect(second.output.counts["marks"] == 2)   // the first run's mark is already there
        #expect(session.inTransaction)
        #expect(try session.query("SELECT count(*) FROM job_runs").scalar(Int.self) == 2)
        try session.execute("ROLLBACK")
        #expect(try marks(db).isEmpty)
        #expect(try Fixtures(db).count("job_runs") == 0)
        session.close()
        db.close()
    }

    @Test("a second run of the same job exits 75 at once, naming the run that holds the lock")
    func lockHeld() throws {
        let (database, db, _) = try setUp()
        defer { database.drop() }
        let gate = DispatchSemaphore(value: 0)
        let blocked = MarkJob(gate: gate)
        let runner = JobRunner(target: database.target)
        let first = RunInBackground { runner.run(blocked, JobRunRequest(asOf: Self.asOf, invokedBy: "alice")) }
        blocked.entered.wait()

        let started = ContinuousClock.now
        let second = runner.run(MarkJob(), JobRunRequest(asOf: Self.asOf, invokedBy: "bob"))
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(second.exitStatus == .locked)
        #expect(second.runID == nil)
        let holderRun = try #require(try JobRunStore.recent(db, status: "running").first)
        #expect(second.error?.contains("incident-grants is already running") == true)
        #expect(second.error?.contains("run \(holderRun.id)") == true)
        #expect(second.error?.contains("alice") == true)

        // A dry run is locked out the same way, and names the holder too.
        let dry = runner.run(MarkJob(), JobRunRequest(asOf: Self.asOf, dryRun: true, invokedBy: "carol"))
        #expect(dry.exitStatus == .locked)

        gate.signal()
        let finished = first.wait()
        #expect(finished.exitStatus == .success)
        #expect(try JobRunStore.recent(db).count == 1)
        db.close()
    }

    /// The runner role sees only the pid and role of another role's session in
    /// pg_stat_activity (not when it started): the message still names the session.
    @Test("a session of another role holding the job's lock: the runner role's run exits 75 naming its backend pid and role")
    func lockHeldByAnotherRole() throws {
        let (database, db, _) = try setUp()
        defer { database.drop() }
        let key = JobRunner.lockKey(for: .incidentGrants)
        try db.advisoryLock(key)
        let second = JobRunner(target: database.runnerTarget).run(MarkJob(), JobRunRequest(asOf: Self.asOf, invokedBy: "bob"))
        #expect(second.exitStatus == .locked)
        let role = try db.query("SELECT current_user::text").scalar(String.self) ?? ""
        #expect(second.error == "incident-grants is already running: a session of role \(role); database backend pid \(db.backendPID)",
                "\(second.error ?? "")")
        try db.advisoryUnlock(key)
        db.close()
    }

    @Test("--wait queues behind the holder instead of exiting 75")
    func waits() throws {
        let (database, db, _) = try setUp()
        defer { database.drop() }
        let gate = DispatchSemaphore(value: 0)
        let blocked = MarkJob(gate: gate)
        let runner = JobRunner(target: database.target)
        let first = RunInBackground { runner.run(blocked, JobRunRequest(asOf: Self.asOf, invokedBy: "alice")) }
        blocked.entered.wait()
        let second = RunInBackground { runner.run(MarkJob(), JobRunRequest(asOf: Self.asOf, wait: true, invokedBy: "bob")) }
        usleep(300_000)
        gate.signal()
        #expect(first.wait().exitStatus == .success)
        let queued = second.wait()
        #expect(queued.exitStatus == .success)
        #expect(queued.output.counts["marks"] == nil)  // the first run did the work
        db.close()
    }

    /// docs/design.md §5: a second run exits 75 at once, also when the holder is a dry run; since a
    /// dry run bills nothing, the message says so, and `--wait` queues behind it.
    @Test("a real run locked out by a dry run exits 75 at once, saying a dry run holds the lock; with --wait it queues and does the work")
    func lockedOutByADryRun() throws {
        let (database, db, _) = try setUp()
        defer { database.drop() }
        let gate = DispatchSemaphore(value: 0)
        let blocked = MarkJob(gate: gate)
        let runner = JobRunner(target: database.target)
        let dry = RunInBackground { runner.run(blocked, JobRunRequest(asOf: Self.asOf, dryRun: true, invokedBy: "carol")) }
        blocked.entered.wait()
        #expect(try db.query("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'supportbill incident-grants run % (dry run)'").scalar(Int64.self) == 1)

        let started = ContinuousClock.now
        let timer = runner.run(MarkJob(), JobRunRequest(asOf: Self.asOf, invokedBy: "timer"))
        #expect(ContinuousClock.now - started < .seconds(10))
        #expect(timer.exitStatus == .locked)
        #expect(timer.runID == nil)
        #expect(timer.error?.contains("a dry run, which bills nothing") == true, "\(timer.error ?? "")")
        #expect(timer.error?.contains("--wait") == true)
        // Another dry run is told nothing more: it would bill nothing either.
        let secondDry = runner.run(MarkJob(), JobRunRequest(asOf: Self.asOf, dryRun: true, invokedBy: "dave"))
        #expect(secondDry.exitStatus == .locked)
        #expect(secondDry.error?.contains("bills nothing") == false)

        let queued = RunInBackground { runner.run(MarkJob(), JobRunRequest(asOf: Self.asOf, wait: true, invokedBy: "finance")) }
        // The queued run waits on the job's advisory lock before the dry run is let go.
        let waiting = try RunnerProbe.poll(timeout: .seconds(30)) {
            try db.query("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory'").scalar(Int64.self) == 1 ? true : nil
        }
        #expect(waiting == true)
        gate.signal()
        #expect(dry.wait().exitStatus == .success)
        let done = queued.wait()
        #expect(done.exitStatus == .success, "\(done.error ?? "")")
        #expect(done.output.counts["marks"] == 3)
        #expect(try db.query("SELECT count(*) FROM test_marks").scalar(Int64.self) == 3)
        #expect(try JobRunStore.recent(db).map(\.status) == ["succeeded"])
        db.close()
    }

    @Test("a run left 'running' by a dead process is marked failed by the next run")
    func staleRun() throws {
        let (database, db, _) = try setUp()
        defer { database.drop() }
        let stale = try JobRunStore.insert(db, .init(job: "incident-grants", asOf: Self.asOf, period: nil, dryRun: false, invokedBy: "cron", host: "old-host", pid: 4242))
        let other = try JobRunStore.insert(db, .init(job: "monthly-rollup", asOf: Self.asOf, period: nil, dryRun: false, invokedBy: "cron", host: "old-host", pid: 4243))
        let report = JobRunner(target: database.target).run(MarkJob(), JobRunRequest(asOf: Self.asOf, invokedBy: "test"))
        #expect(report.exitStatus == .success)
        let marked = try #require(try JobRunStore.find(db, id: stale))
        #expect(marked.status == "failed")
        #expect(marked.error?.contains("stale") == true)
        #expect(marked.finishedAt != nil)
        // Another job's running row is none of this run's business.
        #expect(try JobRunStore.find(db, id: other)?.status == "running")
        db.close()
    }

    @Test("invalid customers are skipped with a reason, the others billed, the run partial with exit 65")
    func skips() throws {
        let (database, db, ids) = try setUp(customers: ["a", "poison", "b", "invalid", "c", "mars"])
        defer { database.drop() }
        try db.execute("UPDATE customers SET timezone = 'Mars/Olympus' WHERE name = 'mars'")
        let report = JobRunner(target: database.target).run(MarkJob(), JobRunRequest(asOf: Self.asOf, batchSize: 10, invokedBy: "test"))
        #expect(report.exitStatus == .dataError)
        #expect(report.status == .partial)
        #expect(try marks(db) == ["mark:\(ids[0])", "mark:\(ids[2])", "mark:\(ids[4])"])
        let skipped = Dictionary(uniqueKeysWithValues: report.output.skipped.map { ($0.customerID, $0.reason) })
        #expect(skipped.count == 3)
        #expect(skipped[ids[1]]?.contains("division by zero") == true)
        #expect(skipped[ids[3]]?.contains("no price in USD") == true)
        #expect(skipped[ids[5]]?.contains("unknown time zone") == true)
        let runID = try #require(report.runID)
        let run = try #require(try JobRunStore.find(db, id: runID))
        #expect(run.status == "partial")
        #expect(run.stats["skipped"]?.arrayValue?.count == 3)
        #expect(report.json["skipped"]?.arrayValue?.first?["customer_id"]?.intValue == ids[1])
        db.close()
    }

    @Test("a safety limit stops the run before anything is written: failed, exit 65")
    func safetyLimit() throws {
        let (database, db, _) = try setUp()
        defer { database.drop() }
        let job = MarkJob(stopIn: { context in
            guard !context.force else { return }
            var wouldEmit = JobOutput()
            wouldEmit.notices.append("would mark 3 customers")
            throw JobStop.safetyLimit("3 marks exceed the limit of 1", wouldEmit: wouldEmit)
        })
        let stopped = JobRunner(target: database.target).run(job, JobRunRequest(asOf: Self.asOf, invokedBy: "test"))
        #expect(stopped.exitStatus == .dataError)
        #expect(stopped.status == .failed)
        #expect(stopped.error == "3 marks exceed the limit of 1")
        #expect(stopped.output.notices == ["would mark 3 customers"])
        #expect(try marks(db).isEmpty)
        let forced = JobRunner(target: database.target).run(job, JobRunRequest(asOf: Self.asOf, force: true, invokedBy: "test"))
        #expect(forced.exitStatus == .success)
        #expect(try marks(db).count == 3)
        db.close()
    }

    @Test("an interrupted run stops after a whole batch, is recorded failed, and a rerun completes it")
    func interrupted() throws {
        let (database, db, _) = try setUp(customers: (1...6).map { "c\($0)" })
        defer { database.drop() }
        let gate = DispatchSemaphore(value: 0)
        let job = MarkJob(gate: gate)
        let interruption = Interruption()
        let runner = JobRunner(target: database.target, interruption: interruption)
        let run = RunInBackground { runner.run(job, JobRunRequest(asOf: Self.asOf, batchSize: 2, invokedBy: "test")) }
        job.entered.wait()
        interruption.request("SIGTERM")
        gate.signal()
        let report = run.wait()
        #expect(report.exitStatus == .failure)
        #expect(report.status == .failed)
        #expect(report.error?.contains("interrupted by SIGTERM") == true)
        #expect(try marks(db).count == 2)  // the batch in hand was finished, whole
        let runID = try #require(report.runID)
        #expect(try JobRunStore.find(db, id: runID)?.status == "failed")
        let rerun = JobRunner(target: database.target).run(MarkJob(), JobRunRequest(asOf: Self.asOf, batchSize: 2, invokedBy: "test"))
        #expect(rerun.exitStatus == .success)
        #expect(rerun.output.counts["marks"] == 4)
        #expect(try marks(db).count == 6)
        db.close()
    }

    @Test("--customer limits the run; an unknown id is a usage error (64)")
    func customerFilter() throws {
        let (database, db, ids) = try setUp()
        defer { database.drop() }
        let runner = JobRunner(target: database.target)
        let one = runner.run(MarkJob(), JobRunRequest(asOf: Self.asOf, customers: [ids[1]], invokedBy: "test"))
        #expect(one.exitStatus == .success)
        #expect(try marks(db) == ["mark:\(ids[1])"])
        let unknown = runner.run(MarkJob(), JobRunRequest(asOf: Self.asOf, customers: [ids[0], 987_654], invokedBy: "test"))
        #expect(unknown.exitStatus == .usage)
        #expect(unknown.error?.contains("987654") == true)
        #expect(try marks(db).count == 1)
        db.close()
    }

    @Test("an unreachable database exits 69 and shows no password; an unmigrated one asks for migrate")
    func unavailable() throws {
        let target = PostgresTarget(conninfo: "postgresql://billing:hunter2-secret@/support?host=/nonexistent/dir&connect_timeout=2")
        let report = JobRunner(target: target).run(MarkJob(), JobRunRequest(asOf: Self.asOf, invokedBy: "test"))
        #expect(report.exitStatus == .unavailable)
        #expect(report.status == nil)
        #expect(report.error?.contains("hunter2") == false)
        #expect(!TextReport.render(report).contains("hunter2"))

        let empty = try TestCluster.makeEmptyDatabase()
        defer { empty.drop() }
        let unmigrated = JobRunner(target: empty.target).run(MarkJob(), JobRunRequest(asOf: Self.asOf, invokedBy: "test"))
        #expect(unmigrated.exitStatus == .failure)
        #expect(unmigrated.error?.contains("supportbill migrate") == true)
    }
}

/// Runs a closure on another thread and waits for its result.
final class RunInBackground<T>: @unchecked Sendable {
    private var result: T?
    private let done = DispatchSemaphore(value: 0)

    init(_ body: @escaping @Sendable () -> T) {
        let thread = Thread { [self] in
            result = body()
            done.signal()
        }
        thread.start()
    }

    func wait() -> T {
        done.wait()
        return result!
    }
}
