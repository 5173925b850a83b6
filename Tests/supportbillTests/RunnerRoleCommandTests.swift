import BillingCore
import Foundation
import Postgres
import TestSupport
import Testing

/// The five jobs and the read-only commands, run by the CLI as a login member of
/// `supportbill_runner` (sql/188_runner_role.sql): the least privilege is enough for all of it.
@Suite("supportbill as supportbill_runner: every job, least privilege")
struct RunnerRoleCommandTests {
    /// Row counts per output table, to show each job wrote through the runner's grants.
    private func counts(_ db: PostgresConnection) throws -> [String: Int] {
        var result: [String: Int] = [:]
        for table in ["invoices", "billable_items", "credit_ledger", "incident_grants", "incident_uses", "contract_charges",
                      "audit_events", "customer_group_members"] {
            result[table] = try db.query("SELECT count(*) FROM \(table)").scalar(Int.self) ?? 0
        }
        return result
    }

    @Test("five weeks of the demo data, all five jobs, committed as the runner: the same result as the schema owner's")
    func demoMonth() throws {
        let asOwner = try DemoData.load()
        defer { asOwner.drop() }
        let asRunner = try DemoData.load()
        defer { asRunner.drop() }
        let range = ["simulate", "--from", "2026-10-01", "--to", "2026-11-04", "--commit", "--format", "json"]
        let owner = try ChildProcess.supportbill(range + ["--database", asOwner.conninfo])
        let runner = try ChildProcess.supportbill(range + ["--database", asRunner.runnerConninfo])
        // Blue Yonder has no EUR price: the rollup skips it (65); nothing else may fail.
        #expect(owner.status == 65, "\(owner.stderr)")
        #expect(runner.status == 65, "\(runner.stderr)")
        #expect(!runner.stderr.contains("permission denied"), "\(runner.stderr)")
        #expect(runner.stdout == owner.stdout)

        let db = try asRunner.connect()
        defer { db.close() }
        let jobs = try db.query("SELECT job, count(*) FILTER (WHERE status = 'failed'), count(*) FROM job_runs GROUP BY job ORDER BY job")
            .map { "\(try $0.decode(0, as: String.self)): \(try $0.decode(1, as: Int.self)) failed of \(try $0.decode(2, as: Int.self))" }
        #expect(jobs == [
            "contract-expiry-rollover: 0 failed of 35", "incident-grants: 0 failed of 35", "monthly-rollup: 0 failed of 2",
            "suspension-sweep: 0 failed of 35", "threshold-topup: 0 failed of 35",
        ])
        let written = try counts(db)
        for table in ["invoices", "billable_items", "credit_ledger", "incident_grants", "incident_uses", "contract_charges", "audit_events"] {
            #expect(written[table] ?? 0 > 0, "\(table) has rows written by the runner")
        }
        let ownerDB = try asOwner.connect()
        defer { ownerDB.close() }
        #expect(try counts(ownerDB) == written)
    }

    @Test("`supportbill run` of each job, a rerun, and the read-only commands as the runner")
    func eachJob() throws {
        let database = try DemoData.load()
        defer { database.drop() }
        let conninfo = database.runnerConninfo
        let runs: [(job: String, arguments: [String])] = [
            ("contract-expiry-rollover", ["--as-of", "2026-11-02T00:15:00Z"]),
            ("incident-grants", ["--as-of", "2026-11-02T00:30:00Z"]),
            ("threshold-topup", ["--as-of", "2026-11-02T01:05:00Z"]),
            ("monthly-rollup", ["--period", "2026-10", "--as-of", "2026-11-02T14:00:00Z"]),
            ("suspension-sweep", ["--as-of", "2026-11-30T06:00:00Z", "--force"]),
        ]
        for (job, arguments) in runs {
            let first = try ChildProcess.supportbill(["run", job] + arguments + ["--format", "json", "--database", conninfo])
            // Only monthly-rollup skips a customer in the demo (Blue Yonder's missing EUR price).
            #expect(first.status == (job == "monthly-rollup" ? 65 : 0), "\(job): \(first.stderr)")
            let report = try JSONValue(parsing: first.stdout)
            #expect(report["error"] == .null, "\(job)")
            let again = try ChildProcess.supportbill(["run", job] + arguments + ["--format", "json", "--database", conninfo])
            #expect(again.status == first.status, "\(job) rerun: \(again.stderr)")
            let rerun = try JSONValue(parsing: again.stdout)
            for section in ["invoices", "items", "ledger", "grants", "uses", "charges"] {
                #expect(rerun[section]?.arrayValue?.isEmpty == true, "\(job) rerun emitted \(section)")
            }
        }
        let db = try database.connect()
        defer { db.close() }
        #expect(try db.query("SELECT count(*) FROM invoices WHERE kind = 'period' AND status <> 'draft'").scalar(Int.self) ?? 0 >= 5)
        #expect(try db.query("SELECT count(*) FROM services WHERE status = 'suspended' AND suspend_reason = 'overdue'").scalar(Int.self) ?? 0 > 0)

        for arguments in [
            ["runs"], ["runs", "--format", "json"], ["contracts"], ["incidents", "--customer", "4", "--as-of", "2026-10-20"],
            ["report", "usage", "--customer", "1", "--period", "2026-10"],
        ] {
            let result = try ChildProcess.supportbill(arguments + ["--database", conninfo])
            #expect(result.status == 0, "\(arguments): \(result.stderr)")
        }
        // migrate needs DDL: the runner may check the version but not change the schema.
        let migrate = try ChildProcess.supportbill(["migrate", "--database", conninfo])
        #expect(migrate.status != 0)
        #expect(migrate.stderr.contains("permission denied") || migrate.stderr.contains("must be owner"), "\(migrate.stderr)")
    }
}
