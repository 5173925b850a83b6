import BillingCore
import Foundation
import Postgres
import TestSupport
import Testing

/// `supportbill cutover` (docs/operations.md "Cut-over") and `migrate`'s warning, as an operator
/// runs them.
@Suite("supportbill cutover: show, set, refused past what was emitted; migrate warns without one")
struct CutoverCommandTests {
    @Test("show 'not set', set, show the date, move earlier; moving later past an emitted item exits 64 naming it")
    func showSetRefuse() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let owner = ["--database", database.conninfo]

        let unset = try ChildProcess.supportbill(["cutover"] + owner)
        #expect(unset.status == 0, "\(unset.stderr)")
        #expect(unset.stdout.hasPrefix("cut-over: not set\n"))
        #expect(unset.stdout.contains("supportbill cutover --set YYYY-MM-DD"))

        // An item of October (a per-incident item, period Oct 1..Nov 1) was already emitted.
        let f = Fixtures(db)
        let customer = try f.customer("Northwind")
        let item = try f.uninvoicedItem(customer: customer, amount: 4500, month: "2026-10", sourceKey: "ce:incident:1")

        let refused = try ChildProcess.supportbill(["cutover", "--set", "2026-11-01"] + owner)
        #expect(refused.status == 64)
        #expect(refused.stdout == "")
        #expect(refused.stderr.contains("refusing to move the cut-over to 2026-11-01"), "\(refused.stderr)")
        #expect(refused.stderr.contains("1 billable_items row dated from 2026-10-01 (e.g. id \(item), customer \(customer))"), "\(refused.stderr)")
        #expect(refused.stderr.contains("Choose a date on or before 2026-10-01"))
        #expect(try db.query("SELECT count(*) FROM billing_cutover").scalar(Int.self) == 0)

        let set = try ChildProcess.supportbill(["cutover", "--set", "2026-10-01"] + owner)
        #expect(set.status == 0, "\(set.stderr)")
        #expect(set.stdout.hasPrefix("cut-over set to 2026-10-01\n"))
        #expect(set.stdout.contains("before 2026-10-01 (each customer's local date)"))
        let shown = try ChildProcess.supportbill(["cutover"] + owner)
        #expect(shown.status == 0)
        #expect(shown.stdout.hasPrefix("cut-over: 2026-10-01 (set "), "\(shown.stdout)")

        // Earlier: always allowed. Back to Oct 1: nothing dated before it. Oct 2: refused.
        let earlier = try ChildProcess.supportbill(["cutover", "--set", "2026-09-01"] + owner)
        #expect(earlier.status == 0)
        #expect(earlier.stdout.hasPrefix("cut-over moved from 2026-10-01 to 2026-09-01\n"))
        #expect(try ChildProcess.supportbill(["cutover", "--set", "2026-10-01"] + owner).status == 0)
        let later = try ChildProcess.supportbill(["cutover", "--set", "2026-10-02"] + owner)
        #expect(later.status == 64)
        #expect(later.stderr.contains("from 2026-10-01 to 2026-10-02"), "\(later.stderr)")
        let same = try ChildProcess.supportbill(["cutover", "--set", "2026-10-01"] + owner)
        #expect(same.stdout.hasPrefix("cut-over unchanged: 2026-10-01\n"))
        #expect(try db.query("SELECT cutover FROM billing_cutover").scalar(LocalDate.self) == LocalDate("2026-10-01"))

        // The jobs' role reads it but may not set it.
        let runner = try ChildProcess.supportbill(["cutover", "--set", "2026-09-01", "--database", database.runnerConninfo])
        #expect(runner.status == 1)
        #expect(runner.stderr.contains("schema owner"), "\(runner.stderr)")
        let runnerShow = try ChildProcess.supportbill(["cutover", "--database", database.runnerConninfo])
        #expect(runnerShow.status == 0)
        #expect(runnerShow.stdout.hasPrefix("cut-over: 2026-10-01"))
    }

    @Test("a bad date is a usage error (64) before connecting", arguments: ["2026-13-01", "2026-02-30", "yesterday", "2026-10"])
    func badDates(value: String) throws {
        let result = try ChildProcess.supportbill(["cutover", "--set", value, "--database", "host=/nonexistent dbname=x"])
        #expect(result.status == 64)
        #expect(result.stderr.contains("--set"), "\(result.stderr)")
    }

    @Test("migrate warns (exit 0) about history older than a month while no cut-over is set, and names the command")
    func migrateWarns() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let owner = ["--database", database.conninfo]
        let quiet = try ChildProcess.supportbill(["migrate"] + owner)
        #expect(quiet.status == 0)
        #expect(!quiet.stderr.contains("warning"), "\(quiet.stderr)")

        let f = Fixtures(db)
        let customer = try f.customer("Northwind")
        let ticket = try f.ticket(customer: customer, openedAt: "2026-01-05T09:00:00Z")
        let old = try #require(try db.query("SELECT to_char(now() - interval '40 days', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')").scalar(String.self))
        try f.entry(customer: customer, ticket: ticket, workedAt: old, minutes: 30)
        try f.payment(customer: customer, amount: 1000, receivedAt: old)
        let warned = try ChildProcess.supportbill(["migrate"] + owner)
        #expect(warned.status == 0)
        #expect(warned.stdout.contains("schema is up to date"))
        #expect(warned.stderr.contains("supportbill: warning: the database holds 1 time entry and 1 payment older than"), "\(warned.stderr)")
        #expect(warned.stderr.contains("supportbill cutover --set YYYY-MM-DD"))

        #expect(try ChildProcess.supportbill(["cutover", "--set", String(old.prefix(10))] + owner).status == 0)
        let set = try ChildProcess.supportbill(["migrate"] + owner)
        #expect(set.status == 0)
        #expect(!set.stderr.contains("warning"), "\(set.stderr)")
    }
}
