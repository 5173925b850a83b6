import BillingJobs
import Foundation
import Postgres
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// One fault test's copy of the scenario, with the checks every step ends with: the
/// invariants hold, and every customer is either untouched or exactly as one clean run leaves
/// it (whole customers only); and at the end the tables equal one clean run's, row for row.
final class FaultHarness {
    let scenario: FaultScenario
    let job: String
    let database: TestDatabase
    private(set) var watcher: PostgresConnection
    let clean: FaultScenario.CleanRun
    /// The sections a batch writes per customer (nil: all). contract-expiry-rollover activates
    /// and expires contracts in `prepare`, before the batches, so only its charges and items
    /// are per customer.
    let perCustomerSections: Set<String>?

    init(_ job: String, _ name: String, scenario: FaultScenario? = nil) throws {
        self.scenario = try scenario ?? FaultScenario.get()
        self.job = job
        clean = try self.scenario.cleanRun(job)
        database = try self.scenario.makeDatabase(name)
        watcher = try database.connect()
        perCustomerSections = job == "contract-expiry-rollover" ? ["contract_charges", "billable_items"] : nil
    }

    func close() {
        watcher.close()
        database.drop()
    }

    /// A new watching session, after the server restarted.
    func reconnect() throws {
        watcher.close()
        watcher = try database.connect()
    }

    var probe: RunnerProbe { RunnerProbe(watcher, job: job) }
    var target: PostgresTarget { database.target }

    /// Starts the job's November run without waiting for it.
    func start(batchSize: Int? = nil, _ extra: [String] = []) throws -> ChildProcess {
        try ChildProcess(ChildProcess.supportbillPath, scenario.arguments(job, database, batchSize: batchSize, extra: extra))
    }

    /// Runs it to the end.
    func run(batchSize: Int? = nil, _ extra: [String] = []) throws -> ChildProcess.Result {
        try start(batchSize: batchSize, extra).wait()
    }

    func snapshot() throws -> BillingSnapshot { try BillingSnapshot.take(watcher) }

    /// The checks after a step: invariants, whole customers. Returns the customers done.
    @discardableResult
    func checkStep(_ step: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Set<Int64> {
        let violations = try BillingInvariants.violations(watcher)
        #expect(violations.isEmpty, "\(job), \(step): \(violations.joined(separator: "; "))", sourceLocation: sourceLocation)
        var now = try snapshot()
        var before = scenario.before
        var after = clean.snapshot
        if let keep = perCustomerSections {
            now.sections = now.sections.filter { keep.contains($0.key) }
            before.sections = before.sections.filter { keep.contains($0.key) }
            after.sections = after.sections.filter { keep.contains($0.key) }
        }
        let whole = now.wholeCustomers(before: before, after: after)
        #expect(whole.partial.isEmpty, "\(job), \(step): customers neither untouched nor done:\n\(whole.partial.prefix(5).joined(separator: "\n"))",
                sourceLocation: sourceLocation)
        return whole.done
    }

    /// The end state equals one clean run's, row for row.
    func expectClean(_ step: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let now = try snapshot()
        let difference = now.difference(from: clean.snapshot)
        #expect(difference.isEmpty, "\(job), \(step): the tables differ from one clean run's:\n\(difference)", sourceLocation: sourceLocation)
        let violations = try BillingInvariants.violations(watcher)
        #expect(violations.isEmpty, "\(job), \(step): \(violations.joined(separator: "; "))", sourceLocation: sourceLocation)
    }

    /// The job_runs rows of the job, oldest first: (status, error).
    func runs() throws -> [(status: String, error: String?)] {
        try watcher.query("SELECT status, error FROM job_runs WHERE job = $1 AND as_of >= '2026-11-01' ORDER BY id", [job]).map {
            (try $0.decode(0, as: String.self), try $0.decode(1, as: String?.self))
        }
    }

    /// Kills the process with SIGKILL and reaps it.
    func kill(_ process: ChildProcess, sourceLocation: SourceLocation = #_sourceLocation) -> ChildProcess.Result {
        process.signal(SIGKILL)
        let result = process.wait()
        #expect(result.status == 128 + SIGKILL, "\(job) was not killed: \(result.status) \(result.stderr)", sourceLocation: sourceLocation)
        return result
    }

    /// A customer from the clean result whose rows in `section` include a source key with
    /// `keyPrefix`, about `fraction` of the way through them by id: (customer, source key).
    func cleanRow(in section: String, keyPrefix: String, fraction: Double) throws -> (customer: Int64, key: String) {
        let rows = (clean.snapshot.sections[section] ?? []).compactMap { row -> (Int64, String)? in
            let fields = row.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            guard fields.count > 1, fields[1].hasPrefix(keyPrefix), let customer = Int64(fields[0].dropFirst()) else { return nil }
            return (customer, fields[1])
        }.sorted { $0.0 < $1.0 }
        let existing = Set((scenario.before.sections[section] ?? []).map { $0.split(separator: "|", omittingEmptySubsequences: false).dropFirst().first.map(String.init) ?? "" })
        let fresh = rows.filter { !existing.contains($0.1) }
        guard !fresh.isEmpty else { throw PostgresError.usage("the clean \(job) run wrote no \(keyPrefix) rows in \(section)") }
        let pick = fresh[min(fresh.count - 1, Int(Double(fresh.count) * fraction))]
        return (pick.0, pick.1)
    }

    /// Any job_runs id, for rows a blocker inserts (run_id is NOT NULL).
    func anyRunID() throws -> Int64 {
        try watcher.query("SELECT min(id) FROM job_runs").scalar(Int64.self) ?? 0
    }
}
