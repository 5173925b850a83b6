import BillingCore
import BillingJobs
import BillingStore
import Foundation
import Postgres
import TestSupport
import Testing

/// threshold-topup on corrected data (issue 16, docs/design.md §9): each correction is one explicit
/// ledger row and one `debit_corrected` audit event; the ledger's net per service ends where one
/// run over the corrected data would.
@Suite("threshold-topup: when the past changes")
struct ThresholdTopupCorrectionTests {
    private func run(_ database: TestDatabase, _ asOf: String) throws -> JobReport {
        try ThresholdTopupJobTests.run(database, asOf)
    }

    private func entryLedger(_ db: PostgresConnection, _ entry: Int64) throws -> [Int64] {
        try db.query("SELECT amount FROM credit_ledger WHERE time_entry_id = $1 ORDER BY id", [entry]).map { try $0.decode(0, as: Int64.self) }
    }

    private func corrections(_ db: PostgresConnection, _ entry: Int64) throws -> [String] {
        try db.query("""
            SELECT detail->>'reason' FROM audit_events
             WHERE entity = 'time_entry' AND entity_id = $1 AND event = 'debit_corrected' ORDER BY id
            """, [entry]).map { try $0.decode(0, as: String.self) }
    }

    //   Oct 5: 60 min worked, debited on Oct 10 (-1.00). The helpdesk re-dates it to Oct 20:
    //   the run of Oct 12 gives it back (+1.00, it is not worked yet), the run of Oct 21 debits
    //   it again (-1.00). Net -1.00, as one run on Oct 21 over the corrected entry.
    @Test("an entry re-dated after as-of is given back until it is worked, then debited again")
    func redated() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let (customer, _, ticket) = try f.prepaidCustomer(plan: try f.prepaidPlan())
        let entry = try f.entry(customer: customer, ticket: ticket, workedAt: "2026-10-05T10:00:00Z", minutes: 60)
        #expect(try run(database, "2026-10-10T12:00:00Z").exitStatus == .success)
        #expect(try entryLedger(db, entry) == [-100])

        try db.execute("UPDATE time_entries SET worked_at = '2026-10-20T10:00:00Z' WHERE id = $1", [entry])
        let early = try run(database, "2026-10-12T12:00:00Z")
        #expect(early.exitStatus == .success)
        #expect(try entryLedger(db, entry) == [-100, 100])
        #expect(try corrections(db, entry).first?.contains("re-dated after as-of") == true)
        #expect(early.output.records[.events]?.contains { $0.fields["event"] == "debit_corrected" && $0.fields["entity"] == "time_entry" } == true)
        #expect(try f.count("topup_entry_queue", where: "time_entry_id = $1", [entry]) == 1)  // waits for Oct 20
        #expect(try run(database, "2026-10-13T12:00:00Z").output.counts["ledger"] == nil)

        #expect(try run(database, "2026-10-21T12:00:00Z").exitStatus == .success)
        #expect(try entryLedger(db, entry) == [-100, 100, -100])
        #expect(try corrections(db, entry).count == 2)
        #expect(try run(database, "2026-10-21T13:00:00Z").output.counts["ledger"] == nil)
    }

    //   60 min debited at 1.00/h on plan A. The service's plan is corrected to pre-paid plan B
    //   (2.00/h): re-rated, -1.00 more. B's price then rises to 3.00/h: a catalogue change,
    //   nothing is re-rated. The service is then corrected to a recurring plan: given back.
    @Test("a corrected plan re-rates debits at its terms, a price change does not, a plan that is not pre-paid gives them back")
    func planCorrected() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let a = try f.prepaidPlan()
        let b = try f.prepaidPlan("prepaid-b", hourlyRate: 200)
        let flat = try f.plan("flat", billing: "recurring")
        try f.price(plan: flat, recurringFee: 4900)
        let (customer, service, ticket) = try f.prepaidCustomer(plan: a)
        let entry = try f.entry(customer: customer, ticket: ticket, workedAt: "2026-10-05T10:00:00Z", minutes: 60)
        #expect(try run(database, "2026-10-10T12:00:00Z").exitStatus == .success)
        #expect(try entryLedger(db, entry) == [-100])

        try db.execute("UPDATE services SET plan_id = $2 WHERE id = $1", [service, b])
        #expect(try run(database, "2026-10-11T12:00:00Z").exitStatus == .success)
        #expect(try entryLedger(db, entry) == [-100, -100])
        #expect(try corrections(db, entry).last?.contains("moved to plan prepaid-b") == true)

        try db.execute("UPDATE plan_prices SET hourly_rate = 300 WHERE plan_id = $1", [b])
        #expect(try run(database, "2026-10-12T12:00:00Z").exitStatus == .success)
        #expect(try entryLedger(db, entry) == [-100, -100])

        try db.execute("UPDATE services SET plan_id = $2 WHERE id = $1", [service, flat])
        let away = try run(database, "2026-10-13T12:00:00Z")
        #expect(away.exitStatus == .success, "\(away.output.skipped)")
        #expect(try entryLedger(db, entry) == [-100, -100, 200])
        #expect(try corrections(db, entry).last?.contains("no longer on a pre-paid plan") == true)
        #expect(try run(database, "2026-10-13T13:00:00Z").output.counts["ledger"] == nil)
    }

    //   Pack 1 (10.00) paid and credited. Its payment is deleted: the credit is taken back and
    //   the invoice is issued again. Paid again, then the payment reduced to 5.00: taken back
    //   again. The payment moved to pack 2: pack 2 credited, pack 1 stays unpaid.
    @Test("payments deleted, reduced or moved off a credited top-up take its credit back")
    func payments() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let (customer, service, _) = try f.prepaidCustomer(plan: try f.prepaidPlan())
        #expect(try run(database, "2026-10-01T00:05:00Z").exitStatus == .success)
        let first = try #require(try f.topups(customer: customer).first?.id)
        let payment = try f.payment(customer: customer, invoice: first, amount: 1000, receivedAt: "2026-10-02T10:00:00Z")
        #expect(try run(database, "2026-10-03T12:00:00Z").exitStatus == .success)
        try ThresholdTopupJobTests.expectBalance(f, customer: customer, service: service, 1000)

        try db.execute("DELETE FROM payments WHERE id = $1", [payment])
        let deleted = try run(database, "2026-10-04T12:00:00Z")
        #expect(deleted.output.counts["credits_taken_back"] == 1)
        try ThresholdTopupJobTests.expectBalance(f, customer: customer, service: service, 0)
        #expect(try f.topups(customer: customer).first?.status == "issued")

        let again = try f.payment(customer: customer, invoice: first, amount: 1000, receivedAt: "2026-10-05T10:00:00Z")
        #expect(try run(database, "2026-10-05T12:00:00Z").exitStatus == .success)
        try ThresholdTopupJobTests.expectBalance(f, customer: customer, service: service, 1000)
        try db.execute("UPDATE payments SET amount = 500 WHERE id = $1", [again])
        #expect(try run(database, "2026-10-06T12:00:00Z").output.counts["credits_taken_back"] == 1)
        try ThresholdTopupJobTests.expectBalance(f, customer: customer, service: service, 0)

        // B = 0 with pack 1 unpaid (P = 10.00): no second pack yet. Pack 2 once pack 1 is void.
        try db.execute("UPDATE invoices SET status = 'void' WHERE id = $1", [first])
        #expect(try run(database, "2026-10-07T12:00:00Z").exitStatus == .success)
        let second = try #require(try f.topups(customer: customer).first { $0.id != first }?.id)
        try db.execute("UPDATE payments SET invoice_id = $2, amount = 1000 WHERE id = $1", [again, second])
        #expect(try run(database, "2026-10-08T12:00:00Z").exitStatus == .success)
        try ThresholdTopupJobTests.expectBalance(f, customer: customer, service: service, 1000)
        #expect(try f.topups(customer: customer).map(\.status) == ["void", "paid"])
        #expect(try run(database, "2026-10-08T13:00:00Z").output.counts["ledger"] == nil)
    }
}
