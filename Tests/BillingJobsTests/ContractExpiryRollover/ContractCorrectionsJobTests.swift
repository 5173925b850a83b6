import BillingCore
import BillingJobs
import BillingStore
import Foundation
import Postgres
import TestSupport
import Testing

private typealias Charge = Fixtures.ContractCharge

/// contract-expiry-rollover when the past changes (docs/design.md §9): each test starts from data
/// charged by a run, corrects it, and checks the corrections the next run appends.
@Suite("contract-expiry-rollover corrections: edited, re-dated, withdrawn, deleted and moved entries; reactivation; per-incident offsets")
struct ContractCorrectionsJobTests {
    static func run(_ database: TestDatabase, asOf: String, dryRun: Bool = false) throws -> JobReport {
        try ContractExpiryRolloverJobTests.run(database, asOf: asOf, dryRun: dryRun)
    }

    /// The report's counts of what was written (the runner's `customers` count left out).
    static func emitted(_ report: JobReport) -> [String: Int] {
        report.output.counts.filter { $0.key != "customers" }
    }

    // A 600-minute support_hours contract, Oct 1 .. Dec 1:
    //
    //     Oct 2  e1 300 ──┐
    //     Oct 3  e2 300 ──┴─ 600 used -> expired (minutes)     run Oct 10
    //     e2 edited down to 210: 90 return, 510 used, Dec 1 ahead -> active again (reactivated)
    //     e1 withdrawn (billable false): 300 return, 210 used
    //     e2 deleted: 210 return, 0 used
    @Test("an entry edited down or withdrawn returns its minutes; the expired contract is active again; a rerun emits nothing")
    func editedAndWithdrawn() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let customer = try f.customer("C")
        let hours = try f.contract(kind: "support_hours", customer: customer, startsOn: "2026-10-01", endsOn: "2026-12-01", minutesTotal: 600, status: "active")
        let ticket = try f.ticket(customer: customer, subject: "Backups", openedAt: "2026-10-02T08:00:00Z")
        let e1 = try f.entry(customer: customer, ticket: ticket, workedAt: "2026-10-02T09:00:00Z", minutes: 300)
        let e2 = try f.entry(customer: customer, ticket: ticket, workedAt: "2026-10-03T09:00:00Z", minutes: 300)

        _ = try Self.run(database, asOf: "2026-10-10T00:00:00Z")
        #expect(try f.contractStatus(hours) == "expired")

        try db.execute("UPDATE time_entries SET minutes = 210 WHERE id = $1", [e2])
        let edited = try Self.run(database, asOf: "2026-10-11T00:00:00Z")
        #expect(edited.exitStatus == .success)
        #expect(try f.contractCharges().suffix(1) == [Charge(e2, hours, -90, "covered")])
        #expect(try f.contractUsage(hours) == (510, 90, 0))
        #expect(try f.contractStatus(hours) == "active")
        #expect(edited.output.counts["returns"] == 1)
        #expect(edited.output.counts["minutes_returned"] == 90)
        #expect(edited.output.counts["reactivated"] == 1)
        #expect(try f.contractEvents().last == "contract_reactivated #\(hours) customer \(customer) ce:reactivated:\(hours):1")
        let returned = try #require(edited.output.records[.events]?.first { $0.fields["event"]?.stringValue == "contract_minutes_returned" })
        #expect(returned.fields["entity_id"]?.intValue == e2)
        #expect(returned.fields["source_key"]?.stringValue == "ce:returned:ce:return:\(e2):2")
        #expect(try f.count("contract_charges", where: "source_key = $1 AND correction", ["ce:return:\(e2):2"]) == 1)

        try db.execute("UPDATE time_entries SET billable = false WHERE id = $1", [e1])
        _ = try Self.run(database, asOf: "2026-10-12T00:00:00Z")
        try db.execute("DELETE FROM time_entries WHERE id = $1", [e2])
        let deleted = try Self.run(database, asOf: "2026-10-13T00:00:00Z")
        #expect(try f.contractNetCharges().isEmpty)
        #expect(try f.contractUsage(hours) == (0, 600, 0))
        let reason = try db.query("SELECT detail->>'reason' FROM audit_events WHERE event = 'contract_minutes_returned' AND entity_id = $1 ORDER BY id DESC LIMIT 1", [e2]).scalar(String.self)
        #expect(reason == "the entry was deleted")
        #expect(deleted.output.counts["minutes_returned"] == 210)
        // The drift view is empty once corrected.
        #expect(try f.count("contract_charge_drift") == 0)

        let rerun = try Self.run(database, asOf: "2026-10-13T00:00:00Z")
        #expect(Self.emitted(rerun).isEmpty)
        #expect(rerun.output.records[.charges] == nil && rerun.output.records[.events] == nil)
    }

    // Two contracts of one customer; an entry re-dated out of the first's period moves to the
    // second, and an entry moved to a ticket on an item follows the item's contract:
    //
    //     A  [Oct 1, Nov 1)  customer       B  [Nov 1, Dec 1)  customer      I  item contract
    //     e1 Oct 5 -> A; re-dated to Nov 5 -> return A, charge B
    //     e2 Oct 6 -> A; moved to a ticket on the item -> return A, charge I
    @Test("a re-dated entry and one moved to another ticket are charged where today's data sends them")
    func reDatedAndMoved() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let customer = try f.customer("C")
        let item = try f.item("Mail", customer: customer)
        let a = try f.contract(kind: "subscription", customer: customer, startsOn: "2026-10-01", endsOn: "2026-11-01", status: "active")
        let b = try f.contract(kind: "subscription", customer: customer, startsOn: "2026-11-01", endsOn: "2026-12-01")
        let i = try f.contract(kind: "subscription", item: item, startsOn: "2026-10-01", endsOn: "2026-12-01", status: "active")
        let t1 = try f.ticket(customer: customer, subject: "Web", openedAt: "2026-10-05T08:00:00Z")
        let t2 = try f.ticket(customer: customer, subject: "DNS", openedAt: "2026-10-06T08:00:00Z")
        let onItem = try f.ticket(customer: customer, item: item, subject: "Mail", openedAt: "2026-10-06T08:00:00Z")
        let e1 = try f.entry(customer: customer, ticket: t1, workedAt: "2026-10-05T09:00:00Z", minutes: 60)
        let e2 = try f.entry(customer: customer, ticket: t2, workedAt: "2026-10-06T09:00:00Z", minutes: 45)
        _ = try Self.run(database, asOf: "2026-11-10T00:00:00Z")
        #expect(try f.contractNetCharges() == ["\(e1) -> \(a) 60 covered", "\(e2) -> \(a) 45 covered"])

        try db.execute("UPDATE time_entries SET worked_at = '2026-11-05T09:00:00Z' WHERE id = $1", [e1])
        try db.execute("UPDATE time_entries SET ticket_id = $2 WHERE id = $1", [e2, onItem])
        let report = try Self.run(database, asOf: "2026-11-10T00:00:00Z")
        #expect(try f.contractNetCharges() == ["\(e1) -> \(b) 60 covered", "\(e2) -> \(i) 45 covered"])
        #expect(try f.contractCharges().suffix(4) == [
            Charge(e1, a, -60, "covered"), Charge(e1, b, 60, "covered"), Charge(e2, a, -45, "covered"), Charge(e2, i, 45, "covered"),
        ])
        #expect(report.output.counts["returns"] == 2 && report.output.counts["charges"] == 2)
        #expect(try f.count("contract_charges", where: "source_key IN ($1, $2)", ["ce:return:\(e1):2", "ce:charge:\(e1):3"]) == 2)
        #expect(Self.emitted(try Self.run(database, asOf: "2026-11-10T00:00:00Z")).isEmpty)
    }

    // A ticket with no contract is billed per incident; its only billable entry is withdrawn:
    // the item is offset (amount -4500, same month, uninvoiced). Time is logged on it again: a
    // new item with the next key. Once an item is on an issued invoice, the offset is the same
    // uninvoiced row (monthly-rollup puts it on an adjustment invoice for that month).
    @Test("a per-incident charge whose ticket has no billable time left is offset; charged again under a new key; invoiced ones too")
    func perIncidentWithdrawn() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let customer = try f.customer("C")
        let ticket = try f.ticket(customer: customer, subject: "VPN", openedAt: "2026-10-04T08:00:00Z")
        let entry = try f.entry(customer: customer, ticket: ticket, workedAt: "2026-10-04T09:00:00Z", minutes: 30)
        _ = try Self.run(database, asOf: "2026-10-10T00:00:00Z")
        #expect(try f.perIncidentMoney() == ["\(customer) USD 2026-10-01 4500"])

        try db.execute("UPDATE time_entries SET billable = false WHERE id = $1", [entry])
        let withdrawn = try Self.run(database, asOf: "2026-10-11T00:00:00Z")
        #expect(try f.perIncidentMoney().isEmpty)
        let offset = try #require(try db.query("""
            SELECT amount, quantity::text, unit_price, period_start::text, period_end::text, service_id IS NULL, invoice_id IS NULL, currency
              FROM billable_items WHERE source_key = $1
            """, ["ce:incident:\(ticket):offset"]).first)
        #expect(try offset.decode(0, as: Int64.self) == -4500)
        #expect(try offset.decode(1, as: String.self) == "-1")
        #expect(try offset.decode(3, as: String.self) == "2026-10-01" && offset.decode(4, as: String.self) == "2026-11-01")
        #expect(try offset.decode(5, as: Bool.self) && offset.decode(6, as: Bool.self))
        #expect(withdrawn.output.counts["offsets"] == 1)
        let event = try #require(withdrawn.output.records[.events]?.first { $0.fields["event"]?.stringValue == "per_incident_withdrawn" })
        #expect(event.fields["source_key"]?.stringValue == "ce:withdrawn:ce:incident:\(ticket):offset")
        #expect(try f.contractNetCharges().isEmpty)

        // Time on the ticket again: a new charge under the next key.
        _ = try f.entry(customer: customer, ticket: ticket, workedAt: "2026-10-12T09:00:00Z", minutes: 15)
        _ = try Self.run(database, asOf: "2026-10-13T00:00:00Z")
        #expect(try f.count("billable_items", where: "source_key = $1 AND amount = 4500", ["ce:incident:\(ticket):2"]) == 1)
        #expect(try f.perIncidentMoney() == ["\(customer) USD 2026-10-01 4500"])

        // On an issued invoice now; then a contract covers the ticket's time: the offset is a new
        // uninvoiced row, the invoice is untouched.
        let invoice = try #require(try db.query("""
            INSERT INTO invoices (customer_id, currency, kind, period_start, period_end, status, issued_at, due_on, total, source_key, run_id)
            VALUES ($1, 'USD', 'period', '2026-10-01', '2026-11-01', 'draft', NULL, NULL, 4500, 'test:inv', (SELECT max(id) FROM job_runs))
            RETURNING id
            """, [customer]).scalar(Int64.self))
        try db.execute("UPDATE billable_items SET invoice_id = $1 WHERE source_key = $2", [invoice, "ce:incident:\(ticket):2"])
        try db.execute("UPDATE invoices SET status = 'issued', issued_at = '2026-11-02T00:00:00Z', due_on = '2026-11-16' WHERE id = $1", [invoice])
        _ = try f.contract(kind: "subscription", customer: customer, startsOn: "2026-10-01", status: "active")
        _ = try Self.run(database, asOf: "2026-11-03T00:00:00Z")
        #expect(try f.count("billable_items", where: "source_key = $1 AND amount = -4500 AND invoice_id IS NULL", ["ce:incident:\(ticket):2:offset"]) == 1)
        #expect(try f.count("billable_items", where: "invoice_id = $1", [invoice]) == 1)
        #expect(try f.perIncidentMoney().isEmpty)
        #expect(Self.emitted(try Self.run(database, asOf: "2026-11-03T00:00:00Z")).isEmpty)
    }

    // docs/design.md §8: every limit a contract sets counts, whatever its kind.
    //
    //     support_hours 600 min, ends_on Nov 1:   Oct 1 [===== 60 used =====) Nov 1   run Nov 2 -> expired (ends_on)
    //     subscription to Dec 1, minutes_total 90: Oct 1 [== 90 used ==|                run Nov 2 -> expired (minutes)
    //     an entry on Nov 5 on the support_hours customer: past its end -> per incident
    @Test("a support_hours contract lapses at its ends_on and a subscription at its minutes_total, in the job")
    func everyKindCountsItsLimits() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let c1 = try f.customer("Hours")
        let c2 = try f.customer("Subscription")
        let hours = try f.contract(kind: "support_hours", customer: c1, startsOn: "2026-10-01", endsOn: "2026-11-01", minutesTotal: 600, status: "active")
        let subscription = try f.contract(kind: "subscription", customer: c2, startsOn: "2026-10-01", endsOn: "2026-12-01", minutesTotal: 90, status: "active")
        let t1 = try f.ticket(customer: c1, subject: "A", openedAt: "2026-10-02T08:00:00Z")
        let t2 = try f.ticket(customer: c2, subject: "B", openedAt: "2026-10-02T08:00:00Z")
        let late = try f.ticket(customer: c1, subject: "Late", openedAt: "2026-11-05T08:00:00Z")
        _ = try f.entry(customer: c1, ticket: t1, workedAt: "2026-10-02T09:00:00Z", minutes: 60)
        _ = try f.entry(customer: c2, ticket: t2, workedAt: "2026-10-02T09:00:00Z", minutes: 90)
        let lateEntry = try f.entry(customer: c1, ticket: late, workedAt: "2026-11-05T09:00:00Z", minutes: 30)
        _ = try Self.run(database, asOf: "2026-11-06T00:00:00Z")
        #expect(try f.contractStatus(hours) == "expired")
        #expect(try f.contractStatus(subscription) == "expired")
        let events = try f.contractEvents()
        #expect(events.contains("contract_expired #\(hours) customer \(c1) ce:expired:\(hours):ends:2026-11-01"))
        #expect(events.contains("contract_expired #\(subscription) customer \(c2) ce:expired:\(subscription):minutes:90"))
        #expect(try f.contractNetCharges().contains("\(lateEntry) -> - 30 per_incident"))
        #expect(try f.contractUsage(hours) == (60, 540, 0))
        #expect(try f.contractUsage(subscription) == (90, 0, 0))
    }
}
