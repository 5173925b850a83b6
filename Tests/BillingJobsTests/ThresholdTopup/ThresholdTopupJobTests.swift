import BillingCore
import BillingJobs
import BillingStore
import Foundation
import Postgres
import TestSupport
import Testing

/// threshold-topup end to end on a real database: the rules of issue 4 with their numbers.
/// Plans are the seed unless a test says otherwise: 1 h = 1.00 USD, a pack of 10.00, threshold 0.
@Suite("threshold-topup end to end")
struct ThresholdTopupJobTests {
    static func run(_ database: TestDatabase, _ asOf: String, dryRun: Bool = false, maxPerDay: Int = 3, customers: [Int64] = [], batchSize: Int = 500) throws -> JobReport {
        var parameters = ThresholdTopupParameters()
        parameters.maxTopupsPerDay = maxPerDay
        return JobRunner(target: database.target).run(ThresholdTopupJob(parameters: parameters), JobRunRequest(
            asOf: try Instant(rfc3339: asOf), customers: customers, dryRun: dryRun, batchSize: batchSize, invokedBy: "test"))
    }

    static func keys(_ report: JobReport, _ section: ReportSection) -> [String] {
        (report.output.records[section] ?? []).compactMap { $0.fields["source_key"]?.stringValue }
    }

    static func amounts(_ report: JobReport) -> [Int64] {
        (report.output.records[.ledger] ?? []).compactMap { $0.fields["amount"]?.intValue }
    }

    /// The balance kept by the trigger equals the ledger's sum.
    static func expectBalance(_ f: Fixtures, customer: Int64, service: Int64, _ expected: Int64, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(try f.balance(service: service) == expected, sourceLocation: sourceLocation)
        let kept = try f.db.query("SELECT balance FROM topup_balances WHERE customer_id = $1 AND service_id = $2", [customer, service]).scalar(Int64.self) ?? 0
        #expect(kept == expected, sourceLocation: sourceLocation)
    }

    @Test("the seed: first pack, paid and credited, ten hours used, the next pack; reruns with it unpaid issue nothing")
    func seedCase() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let plan = try f.prepaidPlan()
        let (customer, service, ticket) = try f.prepaidCustomer(plan: plan)

        // Oct 1: no credit, nothing pending: B + P = 0 <= 0, one pack.
        let first = try Self.run(database, "2026-10-01T00:05:00Z")
        #expect(first.exitStatus == .success)
        #expect(first.output.counts["invoices"] == 1)
        #expect(first.output.totals[try CurrencyCode("USD")]?["invoiced"] == 1000)
        let invoice = try #require(first.output.records[.invoices]?.first?.fields)
        #expect(invoice["kind"] == "topup")
        #expect(invoice["status"] == "issued")
        #expect(invoice["due_on"] == "2026-10-08")
        #expect(invoice["total"] == 1000)
        #expect(invoice["source_key"]?.stringValue == "tt:inv:\(service):2026-10-01:1")
        let item = try #require(invoice["items"]?.arrayValue?.first)
        #expect(item["kind"] == "topup")
        #expect(item["service_id"]?.intValue == service)
        #expect(item["quantity"] == .decimal("1"))
        #expect(item["unit_price"] == 1000)
        #expect(item["amount"] == 1000)
        let packOne = try #require(invoice["id"]?.intValue)
        #expect(try db.query("SELECT period_start IS NULL AND period_end IS NULL AND issued_at = '2026-10-01T00:05:00Z' FROM invoices WHERE id = $1", [packOne]).scalar(Bool.self) == true)

        // An hour later, the pack unpaid: B + P = 10.00 > 0. Nobody is even visited.
        let unpaid = try Self.run(database, "2026-10-01T01:05:00Z")
        #expect(unpaid.exitStatus == .success)
        #expect(unpaid.output.counts["customers"] == 0)
        #expect(unpaid.output.records.isEmpty)

        // Paid on Oct 2: credited once (+10.00), marked paid, audited.
        try f.payment(customer: customer, invoice: packOne, amount: 1000, receivedAt: "2026-10-02T09:00:00Z")
        let paid = try Self.run(database, "2026-10-02T10:05:00Z")
        #expect(Self.keys(paid, .ledger) == ["tt:credit:\(packOne):1"])
        #expect(Self.amounts(paid) == [1000])
        #expect(paid.output.counts["invoices_paid"] == 1)
        #expect(Self.keys(paid, .events) == ["tt:paid:\(packOne):1"])
        #expect(try f.topups(customer: customer).map(\.status) == ["paid"])
        #expect(try f.count("audit_events", where: "event = 'invoice_paid' AND entity = 'invoice' AND entity_id = $1 AND at = '2026-10-02T10:05:00Z'", [packOne]) == 1)
        try Self.expectBalance(f, customer: customer, service: service, 1000)

        // Nine hours (3 x 180 min): B = 1.00 > 0, no pack.
        for day in ["03", "05", "08"] {
            try f.entry(customer: customer, ticket: ticket, workedAt: "2026-10-\(day)T10:00:00Z", minutes: 180)
        }
        let nine = try Self.run(database, "2026-10-12T09:05:00Z")
        #expect(Self.amounts(nine) == [-300, -300, -300])
        #expect(nine.output.counts["invoices"] == nil)
        try Self.expectBalance(f, customer: customer, service: service, 100)

        // The tenth hour: B = 0 <= 0, the next pack.
        try f.entry(customer: customer, ticket: ticket, workedAt: "2026-10-12T09:30:00Z", minutes: 60)
        let tenth = try Self.run(database, "2026-10-12T10:05:00Z")
        #expect(Self.amounts(tenth) == [-100])
        #expect(Self.keys(tenth, .invoices) == ["tt:inv:\(service):2026-10-12:1"])
        #expect(tenth.output.records[.invoices]?.first?.fields["due_on"] == "2026-10-19")
        #expect(tenth.output.records[.invoices]?.first?.fields["items"]?.arrayValue?.first?["description"]?.stringValue == "prepaid-credit for service \(service), balance 0.00 USD")
        try Self.expectBalance(f, customer: customer, service: service, 0)

        // Reruns with that pack unpaid: nothing.
        for asOf in ["2026-10-12T10:05:00Z", "2026-10-12T11:05:00Z", "2026-10-13T11:05:00Z"] {
            let rerun = try Self.run(database, asOf)
            #expect(rerun.exitStatus == .success)
            #expect(rerun.status == .succeeded)
            #expect(rerun.output.records.isEmpty)
            #expect(rerun.output.counts["customers"] == 0)
        }
        #expect(try f.topups(customer: customer).map(\.total) == [1000, 1000])
        #expect(try f.topups(customer: customer).map(\.status) == ["paid", "issued"])
        #expect(try f.count("topup_entry_queue") == 0)
        #expect(try f.count("topup_invoice_queue") == 0)
        #expect(try f.count("topup_service_queue") == 0)
    }

    @Test("debits are never edited: edits, withdrawals, deletions and a price change are corrected by adjustment rows")
    func corrections() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        // A threshold of -1000.00 keeps top-ups out of this test.
        let plan = try f.prepaidPlan(threshold: -100_000)
        let (customer, service, ticket) = try f.prepaidCustomer(plan: plan)
        let a = try f.entry(customer: customer, ticket: ticket, workedAt: "2026-10-05T10:00:00Z", minutes: 60)

        let debit = try Self.run(database, "2026-10-06T00:05:00Z")
        #expect(Self.keys(debit, .ledger) == ["tt:usage:\(a)"])
        #expect(Self.amounts(debit) == [-100])
        #expect(debit.output.records[.ledger]?.first?.fields["minutes"] == 60)
        #expect(debit.output.records[.ledger]?.first?.fields["hourly_rate"] == 100)
        #expect(debit.output.records[.ledger]?.first?.fields["reason"] == "usage")

        // The plan now costs 2.00/h. Entry a is edited to 80 min (-> 90): the correction uses the
        // rate a was debited at: 90 min x 1.00 = 1.50 owed, 1.00 debited: -0.50. New work costs 2.00/h.
        try db.execute("UPDATE plan_prices SET hourly_rate = 200 WHERE plan_id = $1", [plan])
        try db.execute("UPDATE time_entries SET minutes = 80 WHERE id = $1", [a])
        let b = try f.entry(customer: customer, ticket: ticket, workedAt: "2026-10-06T10:00:00Z", minutes: 60)
        try db.execute("UPDATE time_entries SET note = 'typo fixed' WHERE id = $1", [b]) // not a billing change
        let edited = try Self.run(database, "2026-10-07T00:05:00Z")
        #expect(Self.keys(edited, .ledger) == ["tt:adj:\(a):\(customer):\(service):2", "tt:usage:\(b)"])
        #expect(Self.amounts(edited) == [-50, -200])
        #expect(edited.output.records[.ledger]?.map { $0.fields["minutes"] } == [30, 60])
        #expect(edited.output.records[.ledger]?.map { $0.fields["hourly_rate"] } == [100, 200])
        #expect(edited.output.counts["entries_corrected"] == 1)
        #expect(edited.output.counts["entries_debited"] == 1)

        // Withdrawn (not billable): 1.50 given back.
        try db.execute("UPDATE time_entries SET billable = false WHERE id = $1", [a])
        let withdrawn = try Self.run(database, "2026-10-08T00:05:00Z")
        #expect(Self.amounts(withdrawn) == [150])
        #expect(withdrawn.output.records[.ledger]?.first?.fields["minutes"] == -90)
        #expect(withdrawn.output.records[.ledger]?.first?.fields["reason"] == "adjustment")

        // Billable again: a fresh debit at today's 2.00/h, as an adjustment (the entry was debited once already).
        try db.execute("UPDATE time_entries SET billable = true WHERE id = $1", [a])
        let again = try Self.run(database, "2026-10-09T00:05:00Z")
        #expect(Self.keys(again, .ledger) == ["tt:adj:\(a):\(customer):\(service):4"])
        #expect(Self.amounts(again) == [-300])

        // Deleted: given back.
        try db.execute("DELETE FROM time_entries WHERE id = $1", [b])
        let deleted = try Self.run(database, "2026-10-10T00:05:00Z")
        #expect(Self.keys(deleted, .ledger) == ["tt:adj:\(b):\(customer):\(service):2"])
        #expect(Self.amounts(deleted) == [200])

        // Nothing changed: nothing written.
        let rerun = try Self.run(database, "2026-10-11T00:05:00Z")
        #expect(rerun.output.records.isEmpty)

        // The first debit is as it was written; the ledger refuses edits and deletions.
        #expect(try f.ledger(customer: customer).map(\.amount) == [-100, -50, -200, 150, -300, 200])
        try Self.expectBalance(f, customer: customer, service: service, -300)
        for statement in ["UPDATE credit_ledger SET amount = 0 WHERE customer_id = $1", "DELETE FROM credit_ledger WHERE customer_id = $1"] {
            #expect(throws: PostgresError.self) { try db.execute(statement, [customer]) }
        }
    }

    @Test("a moved ticket moves the entries that fall back to its service")
    func ticketMoved() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let cheap = try f.prepaidPlan("cheap", threshold: -100_000)
        let dear = try f.prepaidPlan("dear", hourlyRate: 300, threshold: -100_000)
        let metered = try f.plan("hourly", billing: "metered")
        let (customer, first, ticket) = try f.prepaidCustomer(plan: cheap)
        let second = try f.service(customer: customer, plan: dear, startsOn: "2026-09-01")
        let postpaid = try f.service(customer: customer, plan: metered, startsOn: "2026-09-01")
        let entry = try f.entry(customer: customer, ticket: ticket, workedAt: "2026-10-05T10:00:00Z", minutes: 45)
        _ = try Self.run(database, "2026-10-06T00:00:00Z")

        try db.execute("UPDATE tickets SET service_id = $2 WHERE id = $1", [ticket, second])
        let moved = try Self.run(database, "2026-10-07T00:00:00Z")
        #expect(Self.keys(moved, .ledger) == ["tt:adj:\(entry):\(customer):\(first):2", "tt:adj:\(entry):\(customer):\(second):1"])
        #expect(Self.amounts(moved) == [75, -225])

        try db.execute("UPDATE tickets SET service_id = $2 WHERE id = $1", [ticket, postpaid])
        let away = try Self.run(database, "2026-10-08T00:00:00Z")
        #expect(Self.amounts(away) == [225])
        try Self.expectBalance(f, customer: customer, service: first, 0)
        try Self.expectBalance(f, customer: customer, service: second, 0)
    }

    @Test("a reversed payment takes the credit back and unpays the invoice; a later payment credits it again, never twice")
    func reversedPayment() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let (customer, service, _) = try f.prepaidCustomer(plan: try f.prepaidPlan())
        _ = try Self.run(database, "2026-10-01T00:05:00Z")
        let invoice = try #require(try f.topups(customer: customer).first?.id)
        let payment = try f.payment(customer: customer, invoice: invoice, amount: 1000, receivedAt: "2026-10-02T09:00:00Z")
        _ = try Self.run(database, "2026-10-02T10:05:00Z")
        #expect(try f.topups(customer: customer).map(\.status) == ["paid"])

        // The bank reverses it: -10.00, issued again. B + P = 0 + 10.00 > 0: no second pack.
        try db.execute("UPDATE payments SET status = 'reversed' WHERE id = $1", [payment])
        let reversed = try Self.run(database, "2026-10-03T10:05:00Z")
        #expect(reversed.exitStatus == .success)
        #expect(Self.keys(reversed, .ledger) == ["tt:uncredit:\(invoice):1"])
        #expect(Self.amounts(reversed) == [-1000])
        #expect(reversed.output.records[.ledger]?.first?.fields["reason"] == "adjustment")
        #expect(reversed.output.records[.ledger]?.first?.fields["invoice_id"]?.intValue == invoice)
        #expect(reversed.output.counts["invoices_unpaid"] == 1)
        #expect(reversed.output.counts["invoices"] == nil)
        #expect(reversed.output.notices.contains { $0.contains("top-up invoice \(invoice) is unpaid again") })
        // The move back to issued is audited with the event suspension-sweep uses for it.
        #expect(Self.keys(reversed, .events) == ["tt:unpaid:\(invoice):1"])
        #expect(reversed.output.records[.events]?.first?.fields["event"] == "invoice_unpaid")
        #expect(try f.topups(customer: customer).map(\.status) == ["issued"])
        try Self.expectBalance(f, customer: customer, service: service, 0)

        let rerun = try Self.run(database, "2026-10-03T11:05:00Z")
        #expect(rerun.output.records.isEmpty)

        // Paid again: credited again under a new number, audited again.
        try f.payment(customer: customer, invoice: invoice, amount: 1000, receivedAt: "2026-10-04T09:00:00Z")
        let repaid = try Self.run(database, "2026-10-04T10:05:00Z")
        #expect(Self.keys(repaid, .ledger) == ["tt:credit:\(invoice):2"])
        #expect(Self.keys(repaid, .events) == ["tt:paid:\(invoice):2"])
        #expect(try f.topups(customer: customer).map(\.status) == ["paid"])
        #expect(try f.ledger(customer: customer).map(\.amount) == [1000, -1000, 1000])
        try Self.expectBalance(f, customer: customer, service: service, 1000)

        // Another payment on the already paid invoice credits nothing more.
        try f.payment(customer: customer, invoice: invoice, amount: 1000, receivedAt: "2026-10-05T09:00:00Z")
        let overpaid = try Self.run(database, "2026-10-05T10:05:00Z")
        #expect(overpaid.output.records.isEmpty)
        try Self.expectBalance(f, customer: customer, service: service, 1000)
    }

    @Test("an invoice suspension-sweep marked paid first is credited once, without a second invoice_paid event")
    func paidByAnotherJobFirst() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let (customer, service, _) = try f.prepaidCustomer(plan: try f.prepaidPlan())
        _ = try Self.run(database, "2026-10-01T00:05:00Z")
        let invoice = try #require(try f.topups(customer: customer).first?.id)
        try f.payment(customer: customer, invoice: invoice, amount: 1000, receivedAt: "2026-10-02T09:00:00Z")
        try db.execute("UPDATE invoices SET status = 'paid' WHERE id = $1", [invoice])
        let report = try Self.run(database, "2026-10-02T10:05:00Z")
        #expect(Self.keys(report, .ledger) == ["tt:credit:\(invoice):1"])
        #expect(report.output.records[.events] == nil)
        try Self.expectBalance(f, customer: customer, service: service, 1000)
    }

    @Test("a deep negative balance is closed by one invoice of n packs: -25.00 -> 3 x 10.00")
    func deepNegative() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let (customer, service, ticket) = try f.prepaidCustomer(plan: try f.prepaidPlan())
        for day in 1...5 { try f.entry(customer: customer, ticket: ticket, workedAt: "2026-10-0\(day)T10:00:00Z", minutes: 300) }
        let report = try Self.run(database, "2026-10-06T00:05:00Z")
        #expect(Self.amounts(report) == [-500, -500, -500, -500, -500])
        let invoice = try #require(report.output.records[.invoices]?.first?.fields)
        #expect(invoice["total"] == 3000)
        let item = try #require(invoice["items"]?.arrayValue?.first)
        #expect(item["quantity"] == .decimal("3"))
        #expect(item["unit_price"] == 1000)
        #expect(item["amount"] == 3000)
        #expect(item["description"]?.stringValue?.hasSuffix("balance -25.00 USD") == true)
        #expect(try f.topups(customer: customer).map(\.total) == [3000])
        #expect(try db.query("SELECT total = (SELECT sum(amount) FROM billable_items WHERE invoice_id = invoices.id) FROM invoices WHERE customer_id = $1", [customer]).scalar(Bool.self) == true)
        try Self.expectBalance(f, customer: customer, service: service, -2500)
    }

    @Test("at most max_topups_per_day invoices per service and customer-local day: the rest is reported (exit 65) and invoiced the next local day")
    func dailyLimit() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        // New York is UTC-4 in October: 2026-10-15T02:05Z is still Oct 14 there.
        let (customer, service, ticket) = try f.prepaidCustomer(plan: try f.prepaidPlan(), timezone: "America/New_York")
        func payAll(_ at: String) throws {
            try db.execute("""
                INSERT INTO payments (customer_id, invoice_id, amount, currency, received_at)
                SELECT customer_id, id, total, currency, $2::timestamptz FROM invoices WHERE customer_id = $1 AND status = 'issued'
                """, [customer, at])
        }
        let first = try Self.run(database, "2026-10-14T12:05:00Z", maxPerDay: 2)
        #expect(Self.keys(first, .invoices) == ["tt:inv:\(service):2026-10-14:1"])
        try payAll("2026-10-14T12:30:00Z")
        try f.entry(customer: customer, ticket: ticket, workedAt: "2026-10-14T12:30:00Z", minutes: 600)
        let second = try Self.run(database, "2026-10-14T13:05:00Z", maxPerDay: 2)
        #expect(Self.amounts(second).sorted() == [-1000, 1000])
        #expect(Self.keys(second, .invoices) == ["tt:inv:\(service):2026-10-14:2"])
        try payAll("2026-10-14T13:30:00Z")
        try f.entry(customer: customer, ticket: ticket, workedAt: "2026-10-14T13:30:00Z", minutes: 600)

        // A third would exceed 2 today: reported, exit 65; the debit and the credit are still recorded.
        let third = try Self.run(database, "2026-10-14T14:05:00Z", maxPerDay: 2)
        #expect(third.exitStatus == .dataError)
        #expect(third.status == .partial)
        #expect(third.output.skipped.isEmpty)
        #expect(third.output.reported.map(\.customerID) == [customer])
        #expect(third.output.reported.first?.reason.contains("max_topups_per_day = 2 reached on 2026-10-14 (2 top-up invoices issued that day)") == true)
        #expect(third.output.reported.first?.reason.contains("the next top-up is issued on 2026-10-15") == true)
        #expect(third.json["reported"]?.arrayValue?.first?["customer_id"]?.intValue == customer)
        #expect(TextReport.render(third).contains("Reported customers"))
        #expect(Self.amounts(third).sorted() == [-1000, 1000])
        #expect(third.output.counts["invoices"] == nil)
        #expect(third.output.counts["invoices_paid"] == 1)
        try Self.expectBalance(f, customer: customer, service: service, 0)
        let runID = try #require(third.runID)
        #expect(try JobRunStore.find(db, id: runID)?.stats["reported"]?.arrayValue?.count == 1)

        // Held back: queued again, so every run looks again.
        #expect(try f.count("topup_service_queue", where: "service_id = $1", [service]) == 1)

        // Still Oct 14 in New York: reported again, nothing written.
        let lateEvening = try Self.run(database, "2026-10-15T02:05:00Z", maxPerDay: 2)
        #expect(lateEvening.exitStatus == .dataError)
        #expect(lateEvening.output.records.isEmpty)

        // Oct 15 in New York: invoiced.
        let nextDay = try Self.run(database, "2026-10-15T04:05:00Z", maxPerDay: 2)
        #expect(nextDay.exitStatus == .success)
        #expect(Self.keys(nextDay, .invoices) == ["tt:inv:\(service):2026-10-15:1"])
        #expect(nextDay.output.records[.invoices]?.first?.fields["due_on"] == "2026-10-22")
        #expect(try f.count("topup_service_queue") == 0)
    }

    @Test("pending services get their first pack; suspended and cancelled ones are debited but get no pack")
    func serviceStatuses() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let plan = try f.prepaidPlan()
        let customer = try f.customer("Statuses")
        var services: [String: Int64] = [:]
        for status in ["pending", "active", "suspended", "cancelled"] {
            let service = try f.service(customer: customer, plan: plan, status: status, startsOn: status == "pending" ? "2026-11-01" : "2026-09-01")
            services[status] = service
            let ticket = try f.ticket(customer: customer, service: service, openedAt: "2026-10-01T08:00:00Z")
            if status == "suspended" || status == "cancelled" {
                try f.entry(customer: customer, ticket: ticket, workedAt: "2026-10-03T10:00:00Z", minutes: 60)
            }
        }
        let report = try Self.run(database, "2026-10-05T00:05:00Z")
        #expect(report.exitStatus == .success)
        let invoiced = (report.output.records[.invoices] ?? []).compactMap { $0.fields["items"]?.arrayValue?.first?["service_id"]?.intValue }
        #expect(Set(invoiced) == [services["pending"]!, services["active"]!])
        let debited = (report.output.records[.ledger] ?? []).compactMap { $0.fields["service_id"]?.intValue }
        #expect(Set(debited) == [services["suspended"]!, services["cancelled"]!])
        #expect(Self.amounts(report) == [-100, -100])
        #expect(try f.balance(service: services["suspended"]!) == -100)
    }

    @Test("a dry run reports what the real run writes and leaves no rows; the queues stay for the real run")
    func dryRun() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let plan = try f.prepaidPlan()
        let (customer, _, ticket) = try f.prepaidCustomer(plan: plan)
        _ = try Self.run(database, "2026-10-01T00:05:00Z")
        let invoice = try #require(try f.topups(customer: customer).first?.id)
        try f.payment(customer: customer, invoice: invoice, amount: 1000, receivedAt: "2026-10-02T09:00:00Z")
        try f.entry(customer: customer, ticket: ticket, workedAt: "2026-10-03T10:00:00Z", minutes: 600)
        try f.entry(customer: customer, ticket: ticket, workedAt: "2026-10-03T14:00:00Z", minutes: 50)
        let (other, _, otherTicket) = try f.prepaidCustomer("Other", plan: plan)
        try f.entry(customer: other, ticket: otherTicket, workedAt: "2026-10-03T10:00:00Z", minutes: 45)
        let tables = ["credit_ledger", "invoices", "billable_items", "audit_events", "topup_entry_queue", "topup_invoice_queue", "job_runs"]
        let before = try tables.map { try f.count($0) }

        let dry = try Self.run(database, "2026-10-04T00:05:00Z", dryRun: true, batchSize: 1)
        #expect(dry.exitStatus == .success)
        #expect(dry.dryRun)
        #expect(try tables.map { try f.count($0) } == before)
        #expect(try f.topups(customer: customer).map(\.status) == ["issued"])

        let real = try Self.run(database, "2026-10-04T00:05:00Z", batchSize: 1)
        #expect(real.exitStatus == .success)
        // Both: credit +10.00, debits -10.00 and -1.00 -> B = -1.00 -> 1 pack; the other: -0.75 -> 1 pack.
        #expect(real.output.counts["invoices"] == 2)
        #expect(real.output.counts["ledger"] == 4)
        #expect(DryRun.comparable(dry) == DryRun.comparable(real))
        #expect(try f.count("credit_ledger") == 4)
        #expect(try f.count("topup_entry_queue") == 0)
    }

    @Test("a customer with invalid data is skipped with the reason and nothing written; the others are billed; fixed, it is billed")
    func invalidCustomers() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let seed = try f.prepaidPlan()
        let (good, goodService, goodTicket) = try f.prepaidCustomer("Good", plan: seed)
        try f.entry(customer: good, ticket: goodTicket, workedAt: "2026-10-03T10:00:00Z", minutes: 60)
        // A pre-paid plan without a pack price.
        let zero = try f.prepaidPlan("no-pack", topupAmount: 0)
        let (noPack, _, noPackTicket) = try f.prepaidCustomer("No pack", plan: zero)
        try f.entry(customer: noPack, ticket: noPackTicket, workedAt: "2026-10-03T10:00:00Z", minutes: 60)
        // An entry recorded on another customer's ticket.
        let (mixed, _, mixedTicket) = try f.prepaidCustomer("Mixed", plan: seed)
        try f.entry(customer: mixed, ticket: mixedTicket, workedAt: "2026-10-03T10:00:00Z", minutes: 30)
        let stray = try f.entry(customer: mixed, ticket: goodTicket, service: try f.service(customer: mixed, plan: seed, startsOn: "2026-09-01"),
                                workedAt: "2026-10-03T11:00:00Z", minutes: 30)
        // A plan with no price in the customer's currency.
        let euro = try f.customer("Euro", currency: "EUR")
        try f.service(customer: euro, plan: seed, currency: "EUR", startsOn: "2026-09-01")

        let report = try Self.run(database, "2026-10-04T00:05:00Z", batchSize: 10)
        #expect(report.exitStatus == .dataError)
        #expect(report.status == .partial)
        let skipped = Dictionary(uniqueKeysWithValues: report.output.skipped.map { ($0.customerID, $0.reason) })
        #expect(skipped.count == 3)
        #expect(skipped[noPack]?.contains("has topup_amount 0 in USD") == true)
        #expect(skipped[mixed] == "time entry \(stray) belongs to customer \(mixed) but its ticket \(goodTicket) belongs to customer \(good)")
        #expect(skipped[euro]?.contains("has no price in EUR") == true)
        #expect(report.json["skipped"]?.arrayValue?.count == 3)
        // The good customer is billed; nothing at all for the skipped ones, their queue rows kept.
        #expect(try f.ledger(customer: good).map(\.amount) == [-100])
        #expect(try f.topups(customer: good).count == 1)
        for customer in [noPack, mixed, euro] {
            #expect(try f.ledger(customer: customer).isEmpty)
            #expect(try f.topups(customer: customer).isEmpty)
        }
        #expect(try f.count("topup_entry_queue", where: "customer_id = $1", [mixed]) == 2)
        try Self.expectBalance(f, customer: good, service: goodService, -100)

        // Fixed: the next run bills them.
        try db.execute("UPDATE plan_prices SET topup_amount = 500 WHERE plan_id = $1", [zero])
        try db.execute("DELETE FROM time_entries WHERE id = $1", [stray])
        try f.price(plan: seed, currency: "EUR", hourlyRate: 90, topupAmount: 900)
        let fixed = try Self.run(database, "2026-10-04T01:05:00Z")
        #expect(fixed.exitStatus == .success)
        #expect(try f.ledger(customer: noPack).map(\.amount) == [-100])
        #expect(try f.topups(customer: noPack).map(\.total) == [500]) // -1.00 + 1 x 5.00 > 0
        #expect(try f.ledger(customer: mixed).map(\.amount) == [-50])
        #expect(try f.topups(customer: euro).map(\.total) == [900])
    }

    @Test("only customers with something to do are visited: queued changes, or a service at or below its threshold")
    func customersVisited() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let plan = try f.prepaidPlan()
        let (customer, service, _) = try f.prepaidCustomer(plan: plan)
        // Another plan kind's time is not queued at all.
        let metered = try f.plan("hourly", billing: "metered")
        let postpaid = try f.customer("Post-paid")
        let postpaidTicket = try f.ticket(customer: postpaid, service: try f.service(customer: postpaid, plan: metered, startsOn: "2026-09-01"), openedAt: "2026-10-01T08:00:00Z")
        try f.entry(customer: postpaid, ticket: postpaidTicket, workedAt: "2026-10-02T10:00:00Z", minutes: 60)
        #expect(try f.count("topup_entry_queue") == 0)

        let first = try Self.run(database, "2026-10-03T00:05:00Z")
        #expect(first.output.counts["customers"] == 1)
        let invoice = try #require(try f.topups(customer: customer).first?.id)
        try f.payment(customer: customer, invoice: invoice, amount: 1000, receivedAt: "2026-10-03T09:00:00Z")
        _ = try Self.run(database, "2026-10-03T10:05:00Z")
        let idle = try Self.run(database, "2026-10-03T11:05:00Z")
        #expect(idle.output.counts["customers"] == 0)

        // A price change without any time entry: threshold raised to 25.00 -> B + P = 10.00 <= 25.00,
        // n = (25.00 - 10.00) / 10.00 + 1 = 2 packs.
        try db.execute("UPDATE plan_prices SET threshold = 2500 WHERE plan_id = $1", [plan])
        let raised = try Self.run(database, "2026-10-03T12:05:00Z")
        #expect(raised.output.counts["customers"] == 1)
        #expect(raised.output.records[.invoices]?.first?.fields["total"] == 2000)

        // A new pending service: visited for its first pack.
        try f.service(customer: customer, plan: plan, status: "pending", startsOn: "2026-11-01")
        let newService = try Self.run(database, "2026-10-03T13:05:00Z")
        #expect(newService.output.counts["customers"] == 1)
        #expect(newService.output.counts["invoices"] == 1)
        // A metered plan switched to pre-paid (with a pack price): its services get their first pack.
        let switched = try f.plan("was-metered", billing: "metered")
        try f.price(plan: switched, hourlyRate: 100, topupAmount: 700)
        let (convert, _, _) = try f.prepaidCustomer("Switching", plan: switched)
        #expect(try Self.run(database, "2026-10-03T13:35:00Z").output.counts["customers"] == 0)
        try db.execute("UPDATE plans SET billing = 'prepaid' WHERE id = $1", [switched])
        let converted = try Self.run(database, "2026-10-03T13:45:00Z")
        #expect(converted.output.counts["customers"] == 1)
        #expect(try f.topups(customer: convert).map(\.total) == [700])
        // --customer narrows the visit.
        let filtered = try Self.run(database, "2026-10-03T14:05:00Z", customers: [postpaid])
        #expect(filtered.output.counts["customers"] == 0)
        try Self.expectBalance(f, customer: customer, service: service, 1000)
    }

    @Test("a service suspended, voided or reactivated is looked at again without any entry or payment change")
    func statusChangesAndVoids() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let (customer, service, _) = try f.prepaidCustomer(plan: try f.prepaidPlan())
        _ = try Self.run(database, "2026-10-01T00:05:00Z")
        let first = try #require(try f.topups(customer: customer).first?.id)

        // Suspended (by suspension-sweep, say): visited, but no pack for a suspended service.
        try db.execute("UPDATE services SET status = 'suspended', suspended_at = '2026-10-10T06:00:00Z', suspend_reason = 'overdue' WHERE id = $1", [service])
        let suspended = try Self.run(database, "2026-10-10T07:05:00Z")
        #expect(suspended.output.counts["customers"] == 1)
        #expect(suspended.output.records.isEmpty)

        // The unpaid pack is voided: P = 0, B = 0, but still suspended: nothing.
        try db.execute("UPDATE invoices SET status = 'void' WHERE id = $1", [first])
        let voided = try Self.run(database, "2026-10-10T08:05:00Z")
        #expect(voided.output.counts["customers"] == 1)
        #expect(voided.output.records.isEmpty)

        // Reactivated: B + P = 0 <= 0, a new pack.
        try db.execute("UPDATE services SET status = 'active', suspended_at = NULL, suspend_reason = NULL WHERE id = $1", [service])
        let reactivated = try Self.run(database, "2026-10-10T09:05:00Z")
        #expect(Self.keys(reactivated, .invoices) == ["tt:inv:\(service):2026-10-10:1"])
        let second = try #require(try f.topups(customer: customer).last?.id)

        // Paid and credited, then voided all the same: the credit is taken back, and B + P = 0 asks for a pack.
        try f.payment(customer: customer, invoice: second, amount: 1000, receivedAt: "2026-10-10T09:30:00Z")
        _ = try Self.run(database, "2026-10-10T10:05:00Z")
        try Self.expectBalance(f, customer: customer, service: service, 1000)
        try db.execute("UPDATE invoices SET status = 'void' WHERE id = $1", [second])
        let paidVoided = try Self.run(database, "2026-10-10T11:05:00Z")
        #expect(Self.keys(paidVoided, .ledger) == ["tt:uncredit:\(second):1"])
        #expect(Self.amounts(paidVoided) == [-1000])
        #expect(Self.keys(paidVoided, .invoices) == ["tt:inv:\(service):2026-10-10:2"])
        try Self.expectBalance(f, customer: customer, service: service, 0)
        #expect(try f.topups(customer: customer).map(\.status) == ["void", "void", "issued"])

        // Nothing left to look at.
        #expect(try Self.run(database, "2026-10-10T12:05:00Z").output.counts["customers"] == 0)
    }

    // A metered service moved to a pre-paid plan on Nov 5, before monthly-rollup billed any of
    // its time: the 3 h worked on Nov 2 and 3 were queued by no entry trigger (the service was
    // not pre-paid then). The move queues them (sql/120), so the credit pays for them; nothing
    // is billed by nobody, and a rollup of November bills no usage for the service.
    //
    //   Nov 2 (90 min) · Nov 3 (90 min)   plan: metered          Nov 5: plan -> pre-paid
    //   run of Nov 5: -1.50 -1.50, first pack 10.00 (B = -3.00, P = 0)
    @Test("a metered service moved to a pre-paid plan before it was rolled up: its earlier time is debited, once")
    func movedToPrepaid() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let metered = try f.plan("metered-hourly", billing: "metered")
        try f.price(plan: metered, hourlyRate: 6000)
        let prepaid = try f.prepaidPlan()
        let customer = try f.customer("Tailspin")
        let service = try f.service(customer: customer, plan: metered, startsOn: "2026-09-01")
        let ticket = try f.ticket(customer: customer, service: service, openedAt: "2026-11-02T08:00:00Z")
        let direct = try f.entry(customer: customer, ticket: ticket, service: service, workedAt: "2026-11-02T10:00:00Z", minutes: 90)
        let viaTicket = try f.entry(customer: customer, ticket: ticket, workedAt: "2026-11-03T10:00:00Z", minutes: 90)
        #expect(try f.count("topup_entry_queue") == 0)

        try db.execute("UPDATE services SET plan_id = $1 WHERE id = $2", [prepaid, service])
        #expect(try f.count("topup_entry_queue") == 2)
        let report = try Self.run(database, "2026-11-05T12:05:00Z")
        #expect(report.exitStatus == .success)
        #expect(Self.keys(report, .ledger).sorted() == ["tt:usage:\(direct)", "tt:usage:\(viaTicket)"].sorted())
        #expect(Self.amounts(report) == [-150, -150])
        #expect(report.output.records[.invoices]?.first?.fields["total"] == 1000)
        try Self.expectBalance(f, customer: customer, service: service, -300)
        #expect(try f.count("topup_entry_queue") == 0)

        // A rerun debits nothing more, and November's rollup bills the service nothing.
        let rerun = try Self.run(database, "2026-11-05T13:05:00Z")
        #expect(rerun.output.records[.ledger] == nil)
        let rollup = JobRunner(target: database.target).run(MonthlyRollupJob(parameters: MonthlyRollupParameters()), JobRunRequest(
            asOf: try Instant(rfc3339: "2026-12-01T14:00:00Z"), period: try YearMonth("2026-11"), invokedBy: "test"))
        #expect(rollup.exitStatus == .success)
        #expect(try f.count("billable_items", where: "service_id = $1 AND kind = 'usage'", [service]) == 0)
    }

    @Test("entries of a pre-paid service recorded before the migration are debited by the first run")
    func backfill() throws {
        let empty = try TestCluster.makeEmptyDatabase("tt_backfill")
        defer { empty.drop() }
        let target = empty.target
        let db = try target.connect()
        defer { db.close() }
        // The schema as it was before threshold-topup's migration, with a month of data in it.
        _ = try Migrator(migrations: Migration.legacy.filter { $0.version < 20 }, legacy: []).migrate(db)
        let f = Fixtures(db)
        let (customer, service, ticket) = try f.prepaidCustomer(plan: try f.prepaidPlan())
        let entries = try (1...3).map { try f.entry(customer: customer, ticket: ticket, workedAt: "2026-10-0\($0)T10:00:00Z", minutes: 90) }
        _ = try Migrator().migrate(db)
        #expect(try f.count("topup_entry_queue") == 3)
        #expect(try f.count("topup_service_queue", where: "service_id = $1", [service]) == 1)

        var parameters = ThresholdTopupParameters()
        parameters.maxTopupsPerDay = 3
        let report = JobRunner(target: target).run(ThresholdTopupJob(parameters: parameters),
                                                   JobRunRequest(asOf: try Instant(rfc3339: "2026-10-05T00:05:00Z"), invokedBy: "test"))
        #expect(report.exitStatus == .success)
        #expect(Self.keys(report, .ledger) == entries.map { "tt:usage:\($0)" })
        #expect(Self.amounts(report) == [-150, -150, -150])
        // -4.50 -> one pack brings it to 5.50 > 0.
        #expect(report.output.records[.invoices]?.first?.fields["total"] == 1000)
        #expect(try f.balance(service: service) == -450)
    }
}
