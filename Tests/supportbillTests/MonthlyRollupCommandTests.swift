import BillingCore
import BillingStore
import Foundation
import Postgres
import TestSupport
import Testing

/// `supportbill run monthly-rollup` and the demo, as an operator sees them: exit codes, reports
/// and concrete invoice totals.
@Suite("supportbill run monthly-rollup: the command line end to end")
struct MonthlyRollupCommandTests {
    /// A migrated database of the shared cluster (migrated by the CLI itself), dropped afterwards.
    private func database() throws -> (conninfo: String, db: PostgresConnection, drop: () -> Void) {
        let cluster = try TestCluster.shared()
        let admin = try cluster.connect()
        let name = "mr_cli_\(getpid())_\(Int.random(in: 0..<1_000_000))"
        try admin.execute("CREATE DATABASE \(name)")
        let conninfo = cluster.conninfo(database: name)
        let migrate = try ChildProcess.supportbill(["migrate", "--database", conninfo])
        #expect(migrate.status == 0, "\(migrate.stderr)")
        let db = try cluster.connect(database: name)
        return (conninfo, db, {
            db.close()
            _ = try? admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            admin.close()
        })
    }

    @Test("the demo bills October: 335.00, 32.25 + 19 % = 38.38, 99.00 (reverse charge), 200.00, 41250 JPY, 49.00 and a 49.00 incident; Blue Yonder is skipped; the rerun bills nothing; a late entry adds 30.00")
    func demo() throws {
        let result = try ChildProcess.supportbill(["demo", "--month", "2026-10"])
        #expect(result.status == 0, "\(result.stderr)")
        let output = result.stdout
        let parts = output.components(separatedBy: "## The same rollup again")
        try #require(parts.count == 2, "the demo did not run the rollup twice:\n\(output)")
        let first = parts[0]
        for line in [
            "  customer 1  period  2026-10-01..2026-10-31  issued  due 2026-11-15  total 335.00 USD",
            // Contoso Web pays 19 % VAT: 32.25 net, 6.1275 -> 6.13 tax (docs/invoices.md).
            "  customer 2  period  2026-10-01..2026-10-31  issued  due 2026-11-15  total 38.38 USD",
            "  customer 5  period  2026-10-01..2026-10-31  issued  due 2026-11-15  total 200.00 USD",
            "  customer 6  period  2026-10-01..2026-10-31  issued  due 2026-11-15  total 41250 JPY",
            "  customer 8  period  2026-10-01..2026-10-31  issued  due 2026-11-16  total 49.00 USD",
            // 616.25 of fees and usage, plus Litware's per-incident ticket (49.00 in the demo's
            // jobs directory) that contract-expiry-rollover emitted and the rollup invoiced,
            // plus Tailspin's incident pack (99.00: fees on every plan kind, docs/design.md §8),
            // plus Contoso's 6.13 of VAT.
            "USD  invoiced 770.38 USD",
            "  customer 4  period  2026-10-01..2026-10-31  issued  due 2026-11-15  total 99.00 USD",
            "Incident Pack (10 per month), 2026-10-11..2026-11-10",
            "  customer 7  period  2026-10-01..2026-10-31  issued  due 2026-11-15  total 49.00 USD",
            "customer 9: service 8 (plan retainer-q) has no price in EUR: add a plan_prices row for plan 7 in EUR, then re-run",
            "Support time 2026-10: 4.25 h worked, 2 h included",
            "Priority Support (flat, monthly), 2026-11-17..2026-12-16 (in advance)",
        ] {
            #expect(first.contains(line), "the first rollup lacks: \(line)")
        }
        let rerun = try #require(parts[1].components(separatedBy: "\n## ").first)
        #expect(rerun.contains("status partial"))
        #expect(!rerun.contains("invoice "), "the rerun emitted invoices:\n\(rerun)")
        #expect(!rerun.contains("Totals"))
        // A late 30-minute entry: 285 min -> 2.75 h beyond 2 h = 165.00, 135.00 billed: +30.00.
        let rerating = try #require(parts[1].components(separatedBy: "## Re-rating the month").last?.components(separatedBy: "\n=====").first)
        #expect(rerating.contains("  customer 1  adjustment  2026-10-01..2026-10-31  issued  due 2026-11-17  total 30.00 USD"))
        #expect(rerating.contains("Support time 2026-10 re-rated: 4.25 h → 4.75 h worked"))
        #expect(rerating.contains("USD  adjusted 30.00 USD"))
        // The final listing: Northwind's issued invoice unchanged (2.25 h at 60.00 = 135.00).
        #expect(output.contains("2.25 × 60.00 USD     135.00 USD"))
        #expect(output.contains("total 335.00 USD"))
    }

    @Test("run: exit 0 with the invoices as JSON, 0 again on a rerun emitting nothing, 65 when a customer cannot be billed")
    func exitCodes() throws {
        let (conninfo, db, drop) = try database()
        defer { drop() }
        let fixtures = Fixtures(db)
        let plans = try fixtures.rollupPlans()
        let customer = try fixtures.customer("Northwind", timezone: "America/New_York")
        let service = try fixtures.service(customer: customer, plan: plans.bundle, startsOn: "2026-08-01")
        let ticket = try fixtures.ticket(customer: customer, service: service, openedAt: "2026-10-01T12:00:00Z")
        try fixtures.entry(customer: customer, ticket: ticket, workedAt: "2026-10-05T12:00:00Z", minutes: 255)
        let base = ["run", "monthly-rollup", "--database", conninfo, "--as-of", "2026-11-01T14:00:00Z", "--period", "2026-10"]

        let dry = try ChildProcess.supportbill(base + ["--dry-run", "--format", "json"])
        #expect(dry.status == 0, "\(dry.stderr)")
        let dryJSON = try JSONValue(parsing: dry.stdout)
        #expect(dryJSON["dry_run"] == true)
        #expect(dryJSON["invoices"]?.arrayValue?.first?["total"] == 33500)
        #expect(try fixtures.count("invoices") == 0)

        let real = try ChildProcess.supportbill(base + ["--format", "json"])
        #expect(real.status == 0, "\(real.stderr)")
        let json = try JSONValue(parsing: real.stdout)
        #expect(json["status"] == "succeeded")
        #expect(json["totals"]?["USD"]?["invoiced"] == 33500)
        let invoice = try #require(json["invoices"]?.arrayValue?.first)
        #expect(invoice["kind"] == "period")
        #expect(invoice["due_on"] == "2026-11-15")
        #expect(invoice["items"]?.arrayValue?.map { $0["amount"] } == [20000, 13500])
        #expect(try fixtures.count("invoices", where: "total = 33500 AND status = 'issued'") == 1)

        let rerun = try ChildProcess.supportbill(base + ["--format", "json"])
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(try JSONValue(parsing: rerun.stdout)["invoices"] == [])

        // A EUR customer on a plan without a EUR price: skipped with the reason, exit 65.
        let blue = try fixtures.customer("Blue Yonder", currency: "EUR", timezone: "Europe/Paris")
        let retainer = try fixtures.service(customer: blue, plan: plans.retainer, currency: "EUR", startsOn: "2026-05-03")
        let partial = try ChildProcess.supportbill(base)
        #expect(partial.status == 65, "\(partial.stderr)")
        #expect(partial.stdout.contains("customer \(blue): service \(retainer) (plan retainer-q) has no price in EUR"))
        #expect(partial.stdout.contains("status partial"))
    }

    @Test("a jobs/monthly-rollup.toml with an unknown key or a wrong type exits 64 naming the file and the key")
    func badJobsFile() throws {
        let directory = NSTemporaryDirectory() + "/mr-jobs-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/monthly-rollup.toml"
        for (text, key) in [("lookback_months = 3\nlookback_month = 6\n", "lookback_month"), ("due_days = \"fourteen\"\n", "due_days")] {
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            let result = try ChildProcess.supportbill(["run", "monthly-rollup", "--jobs-dir", directory, "--dry-run",
                                                       "--database", "host=/nonexistent/socket dbname=x"])
            #expect(result.status == 64, "\(result.stderr)")
            #expect(result.stderr.contains(file), "\(result.stderr)")
            #expect(result.stderr.contains(key), "\(result.stderr)")
        }
    }
}
