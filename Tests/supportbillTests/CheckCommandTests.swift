import BillingCore
import Foundation
import Postgres
import TestSupport
import Testing

@Suite("supportbill check: every defect in the data, billing nothing")
struct CheckCommandTests {
    /// Every row of every table, to prove check writes nothing.
    private func fingerprint(_ db: PostgresConnection) throws -> String {
        try SimulateCommandTests.tables.map { table in
            try db.query("SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM \(table) t").scalar(String.self) ?? ""
        }.joined(separator: " ")
    }

    @Test("the demo data: Blue Yonder's missing EUR price, in text, JSON and CSV; exit 65; nothing written")
    func demo() throws {
        let database = try DemoData.load()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let before = try fingerprint(db)
        let base = ["check", "--as-of", "2026-11-05T00:00:00Z", "--database", database.runnerConninfo]

        let text = try ChildProcess.supportbill(base)
        #expect(text.status == 65, "\(text.stderr)")
        #expect(text.stdout == """
            check as of 2026-11-05T00:00:00Z: 1 defect (1 customer)

            customer 9  missing_price  (services 8; blocks monthly-rollup)
                service 8 (plan retainer-q) has no price in EUR: add a plan_prices row for plan 7 in EUR

            """)

        let json = try ChildProcess.supportbill(base + ["--format", "json"])
        #expect(json.status == 65)
        let report = try JSONValue(parsing: json.stdout)
        #expect(report["count"] == 1)
        #expect(report["customers"] == 1)
        let defect = try #require(report["defects"]?.arrayValue?.first)
        #expect(defect["customer_id"] == 9)
        #expect(defect["kind"] == "missing_price")
        #expect(defect["entity"] == "services")
        #expect(defect["entity_id"] == 8)
        #expect(defect["jobs"] == .array(["monthly-rollup"]))

        let csv = try ChildProcess.supportbill(base + ["--format", "csv"])
        #expect(csv.status == 65)
        #expect(csv.stdout == """
            customer_id,kind,entity,entity_id,detail,jobs
            9,missing_price,services,8,service 8 (plan retainer-q) has no price in EUR: add a plan_prices row for plan 7 in EUR,monthly-rollup

            """)

        // --customer narrows it: Northwind has nothing wrong.
        let northwind = try ChildProcess.supportbill(base + ["--customer", "1"])
        #expect(northwind.status == 0)
        #expect(northwind.stdout == "check as of 2026-11-05T00:00:00Z: no defect found\n")

        #expect(try fingerprint(db) == before)
        #expect(try db.query("SELECT count(*) FROM job_runs").scalar(Int.self) == 0)
    }

    @Test("clean data exits 0 in every format")
    func clean() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let plan = try f.plan("flat", billing: "recurring")
        try f.price(plan: plan, recurringFee: 4900)
        try f.service(customer: try f.customer("Northwind"), plan: plan, startsOn: "2026-10-01")
        for format in ["text", "json", "csv"] {
            let result = try ChildProcess.supportbill(["check", "--format", format, "--as-of", "2026-11-05", "--database", database.conninfo])
            #expect(result.status == 0, "\(format): \(result.stderr)")
            switch format {
            case "json": #expect(try JSONValue(parsing: result.stdout)["count"] == 0)
            case "csv": #expect(result.stdout == "customer_id,kind,entity,entity_id,detail,jobs\n")
            default: #expect(result.stdout == "check as of 2026-11-05T00:00:00Z: no defect found\n")
            }
        }
    }

    @Test("usage errors exit 64, an unreachable database 69, an unmigrated one 1 naming migrate")
    func exitCodes() throws {
        for arguments in [["--as-of", "yesterday"], ["--customer", "0"], ["--format", "xml"]] {
            let result = try ChildProcess.supportbill(["check"] + arguments)
            #expect(result.status == 64, "\(arguments)")
        }
        let unreachable = try ChildProcess.supportbill(["check", "--database", "host=/nonexistent/socket dbname=x connect_timeout=2"])
        #expect(unreachable.status == 69)

        let empty = try TestCluster.makeEmptyDatabase("unmigrated_check")
        defer { empty.drop() }
        let unmigrated = try ChildProcess.supportbill(["check", "--database", empty.conninfo])
        #expect(unmigrated.status == 1)
        #expect(unmigrated.stderr.contains("migrate"), "\(unmigrated.stderr)")
    }
}
