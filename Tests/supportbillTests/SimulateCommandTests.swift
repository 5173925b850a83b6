import BillingCore
import Foundation
import Postgres
import TestSupport
import Testing

@Suite("supportbill simulate: billing periods dry-run day by day")
struct SimulateCommandTests {
    static let tables = [
        "customers", "services", "tickets", "time_entries", "payments", "contracts", "customer_group_members",
        "job_runs", "invoices", "billable_items", "credit_ledger", "incident_grants", "incident_uses", "contract_charges", "audit_events",
    ]

    /// A fingerprint of every table's rows (sequences advance even in a rolled-back transaction;
    /// rows do not).
    private func fingerprint(_ db: PostgresConnection) throws -> [String: String] {
        var result: [String: String] = [:]
        for table in Self.tables {
            result[table] = try db.query("SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM \(table) t").scalar(String.self)
        }
        return result
    }

    @Test("five weeks over the demo month: deterministic output, and the database is left as it was")
    func fiveWeeks() throws {
        let database = try DemoData.load()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let before = try fingerprint(db)
        let arguments = ["simulate", "--from", "2026-10-01", "--to", "2026-11-04", "--format", "json", "--database", database.conninfo]
        let first = try ChildProcess.supportbill(arguments)
        let second = try ChildProcess.supportbill(arguments)
        // Blue Yonder has no EUR price: the rollup skips it, so the simulation exits 65.
        #expect(first.status == 65, "\(first.stderr)")
        #expect(first.stdout == second.stdout)
        #expect(try fingerprint(db) == before)

        let report = try JSONValue(parsing: first.stdout)
        let runs = report["runs"]?.arrayValue ?? []
        // 35 days of the four daily jobs, monthly-rollup on Oct 1 and Nov 1.
        #expect(runs.count == 35 * 4 + 2)
        #expect(report["committed"] == false)
        let rollups = runs.filter { $0["job"] == "monthly-rollup" }
        #expect(rollups.map { $0["as_of"]?.stringValue } == ["2026-10-01T14:00:00Z", "2026-11-01T14:00:00Z"])
        // The November 1st rollup bills October: Northwind's 335.00 among the USD total.
        let october = rollups[1]["invoices"]?.arrayValue ?? []
        #expect(october.contains { $0["customer_id"] == 1 && $0["total"] == 33500 })
        #expect(!first.stdout.contains("\"run_id\""))
        #expect(!first.stdout.contains("\"id\""))

        let text = try ChildProcess.supportbill(["simulate", "--from", "2026-10-31", "--to", "2026-11-01", "--database", database.conninfo])
        #expect(text.stdout.contains("simulate 2026-10-31..2026-11-01: 9 runs, rolled back"))
        #expect(text.stdout.contains("2026-11-01T14:00:00Z  monthly-rollup"))
    }

    @Test("--commit keeps what the runs wrote")
    func commit() throws {
        let database = try DemoData.load()
        defer { database.drop() }
        let result = try ChildProcess.supportbill(["simulate", "--from", "2026-11-01", "--to", "2026-11-01", "--commit", "--database", database.conninfo])
        #expect(result.status == 65, "\(result.stderr)")
        let db = try database.connect()
        defer { db.close() }
        #expect(try db.query("SELECT count(*) FROM invoices WHERE kind = 'period'").scalar(Int.self) ?? 0 >= 5)
        #expect(try db.query("SELECT bool_and(NOT dry_run) FROM job_runs").scalar(Bool.self) == true)
    }

    @Test("bad ranges are usage errors", arguments: [
        ["--from", "2026-11-02", "--to", "2026-11-01"],
        ["--from", "2026-11-01"],
        ["--from", "yesterday", "--to", "2026-11-01"],
        ["--from", "2020-01-01", "--to", "2026-11-01"],
    ])
    func usage(arguments: [String]) throws {
        let result = try ChildProcess.supportbill(["simulate"] + arguments)
        #expect(result.status == 64)
    }
}
