import BillingCore
import BillingStore
import Foundation
import Postgres
import TestSupport
import Testing
@testable import supportbill

/// The schema and the jobs on a Citus cluster, a coordinator and two workers (docs/design.md
/// §12, docs/scale-out.md). Where Citus is not installed every test here is skipped, listed
/// with the reason, and `capability` prints it: a run without Citus never looks like a pass.
@Suite("Scale-out on Citus: the schema distributed by customer", .serialized)
struct CitusScaleOutTests {
    /// The tables sql/211 makes reference tables, and those it distributes by customer.
    static let referenceTables = [
        "audit_event_names", "contract_events", "contracts", "currencies", "customer_groups", "invoice_counters",
        "invoice_series", "items", "job_run_rows", "job_runs", "org_units", "plan_prices", "plans", "schema_migrations",
        "tax_rates",
    ]
    static let distributedTables = [
        "audit_events", "billable_items", "contract_charges", "credit_applications", "credit_ledger",
        "customer_group_members", "customers", "incident_grants", "incident_uses", "invoice_taxes", "invoices", "payments",
        "rollup_entry_changes", "rollup_netted_items", "services", "tickets", "time_entries", "topup_balances",
        "topup_entry_queue", "topup_invoice_queue", "topup_service_queue",
    ]

    @Test("capability: says whether the Citus tests run")
    func capability() {
        CitusTestCluster.reportSkipped("CitusScaleOutTests")
        if CitusTestCluster.isAvailable { print("CitusScaleOutTests: Citus is installed; the scale-out tests run") }
    }

    @Test("on plain PostgreSQL the distribution step does nothing: no Citus, nothing distributed")
    func plainPostgres() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        #expect(try Migrator.distribute(db) == [])
        #expect(try db.query("SELECT to_regclass('pg_dist_partition') IS NULL").scalar(Bool.self) == true)
    }

    @Test("migrate distributes: 21 tables by customer in one co-location group, 15 reference tables; migrating again changes nothing",
          .enabled(if: CitusTestCluster.isAvailable, "Citus is not installed (see the capability test's line)"))
    func migrateDistributes() throws {
        let database = try CitusTestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        func layout() throws -> [String] {
            try db.query("""
                SELECT logicalrelid::text || ':' || partmethod::text || ':' || repmodel::text || ':' || coalesce(column_to_column_name(logicalrelid, partkey), '-')
                  FROM pg_dist_partition ORDER BY logicalrelid::text
                """).map { try $0.decode(0, as: String.self) }
        }
        let before = try layout()
        #expect(before.filter { $0.hasSuffix(":n:t:-") }.map { String($0.split(separator: ":")[0]) } == Self.referenceTables)
        #expect(before.filter { $0.contains(":h:s:") }.map { String($0.split(separator: ":")[0]) } == Self.distributedTables)
        #expect(before.filter { $0.contains(":h:s:") && !$0.hasPrefix("customers:") }.allSatisfy { $0.hasSuffix(":customer_id") })
        #expect(before.contains("customers:h:s:id"))
        #expect(try db.query("SELECT count(DISTINCT colocationid) FROM pg_dist_partition WHERE partmethod = 'h'").scalar(Int.self) == 1)
        // Every shard group has a placement on a worker, and both workers hold some.
        #expect(try db.query("""
            SELECT count(DISTINCT p.groupid) FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid)
             WHERE s.logicalrelid = 'invoices'::regclass
            """).scalar(Int.self) == 2)

        let again = try Migrator().migrate(db)
        #expect(again.applied.isEmpty)
        #expect(try Migrator.distribute(db) == [])
        #expect(try layout() == before)
        // The keys the jobs rely on are there, per customer, and the invoice numbers too.
        #expect(try db.query("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'invoices_number_key'").scalar(String.self)
            == "UNIQUE (customer_id, number) DEFERRABLE INITIALLY DEFERRED")
    }

    @Test("a database migrated on one server, then given Citus, is distributed by its next migrate",
          .enabled(if: CitusTestCluster.isAvailable, "Citus is not installed (see the capability test's line)"))
    func distributeLater() throws {
        let database = try CitusTestCluster.makeDatabase(migrate: false)
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        // Migrated while Citus had no workers: nothing is distributed.
        let workers = try db.query("SELECT nodename, nodeport FROM pg_dist_node WHERE groupid <> 0 ORDER BY nodename")
            .map { (try $0.decode(0, as: String.self), try $0.decode(1, as: Int32.self)) }
        for (name, port) in workers { _ = try db.query("SELECT citus_remove_node($1, $2)", [name, port]) }
        _ = try Migrator().migrate(db)
        #expect(try db.query("SELECT count(*) FROM pg_dist_partition").scalar(Int.self) == 0)
        try db.execute("INSERT INTO customers (id, name, currency, timezone) VALUES (1, 'Early', 'USD', 'UTC')")

        for (name, port) in workers { _ = try db.query("SELECT citus_add_node($1, $2)", [name, port]) }
        let outcome = try Migrator().migrate(db)
        #expect(outcome.applied.isEmpty)
        #expect(try db.query("SELECT count(*) FROM pg_dist_partition WHERE partmethod = 'h'").scalar(Int.self) == Self.distributedTables.count)
        #expect(try db.query("SELECT name FROM customers WHERE id = 1").scalar(String.self) == "Early")
    }

    /// The demo month's five weeks (`supportbill simulate`, all five jobs, rolled back) on the
    /// cluster, run by run against the golden file, which is the plain-PostgreSQL report for the
    /// same data (GoldenSimulationTests; ids and timings are left out of both).
    @Test("the demo month on Citus: threshold-topup's 35 reports equal plain PostgreSQL's, suspension-sweep and incident-grants run without error; the whole report equals the golden file (known issue: two jobs not rewritten yet)",
          .enabled(if: CitusTestCluster.isAvailable, "Citus is not installed (see the capability test's line)"))
    func demoMonth() throws {
        let database = try CitusTestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        try db.execute("SELECT set_config('supportbill.demo_month', $1, false)", [try YearMonth("2026-10").firstDay.description])
        for file in EmbeddedDemoFiles.files { try db.executeScript(file.contents) }
        db.close()

        let result = try ChildProcess.supportbill(["simulate", "--from", "2026-10-01", "--to", "2026-11-04", "--format", "json",
                                                   "--database", database.conninfo])
        let report = try JSONValue(parsing: result.stdout)
        let golden = try JSONValue(parsing: String(contentsOf: GoldenSimulationTests.golden, encoding: .utf8))
        let runs = report["runs"]?.arrayValue ?? []
        let expected = golden["runs"]?.arrayValue ?? []
        #expect(runs.count == expected.count)
        let topups = runs.filter { $0["job"]?.stringValue == "threshold-topup" }
        #expect(topups.count == 35)
        #expect(topups.allSatisfy { $0["error"]?.stringValue == nil }, "\(topups.compactMap { $0["error"]?.stringValue }.prefix(3))")
        #expect(runs.first == expected.first, "the first run (threshold-topup, a pack issued) differs from plain PostgreSQL")
        #expect(zip(runs, expected).filter { $0.0["job"]?.stringValue == "threshold-topup" }.allSatisfy { $0.0 == $0.1 })
        // suspension-sweep and incident-grants run every day without a refused statement.
        for job in ["suspension-sweep", "incident-grants"] {
            let failed = runs.filter { $0["job"]?.stringValue == job }.compactMap { $0["error"]?.stringValue }
            #expect(failed.isEmpty, "\(job): \(failed.prefix(2))")
        }

        let differing = zip(runs, expected).filter { $0.0 != $0.1 }.map { run, _ in
            "\(run["job"]?.stringValue ?? "?") \(run["as_of"]?.stringValue ?? "?"): \(run["error"]?.stringValue ?? "report differs")"
        }
        print("CitusScaleOutTests: \(runs.count - differing.count) of \(runs.count) demo runs equal plain PostgreSQL; first differences: \(differing.prefix(5))")
        withKnownIssue("contract-expiry-rollover and monthly-rollup send statements Citus refuses (docs/scale-out.md, Status)") {
            #expect(differing.isEmpty)
            #expect(result.status == 65, "\(result.stderr.suffix(2000))")   // Blue Yonder has no EUR price, as on one server
        }
    }
}
