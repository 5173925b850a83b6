import BillingCore
import BillingJobs
import BillingStore
import Foundation
import Postgres
import TestSupport
import Testing

/// The cut-over (docs/operations.md "Cut-over") for every job, end to end on PostgreSQL: a
/// database whose history starts before the cut-over bills nothing of it, and bills what lies
/// on and after it exactly as before.
@Suite("cut-over: no job emits anything dated before it")
struct CutoverJobTests {
    private func d(_ text: String) -> LocalDate { try! LocalDate(text) }
    private func at(_ text: String) -> Instant { try! Instant(rfc3339: text) }

    private func setCutover(_ db: PostgresConnection, _ date: String) throws {
        _ = try BillingCutover.set(d(date), db)
    }

    private func run<J: BillingJob>(_ database: TestDatabase, _ job: J, asOf: String, period: YearMonth? = nil) -> JobReport {
        JobRunner(target: database.target).run(job, JobRunRequest(asOf: at(asOf), period: period, invokedBy: "test"))
    }

    //   cut-over Oct 15 (UTC customer), lookback 3 as of Nov 1: window Aug, Sep, Oct.
    //   Northwind, bundle (200.00 a month, 2 h included, 60.00/h) from Aug 10:
    //   |-- Aug 10.. --|-- Sep 10.. --|-- Oct 10..Nov 9 --|
    //    before          before         starts Oct 10 < Oct 15: not billed
    //   entries: Aug 12 60, Sep 20 90, Oct 5 120 (all before), Oct 20 180 -> October U = 180,
    //   60 min beyond the 120 included = 60.00.
    //   Contoso, post-paid (30.00 setup, 1.00/h) from Oct 20: setup 30.00 + 60 min = 31.00.
    @Test("monthly-rollup: no fee period, setup fee or usage before the cut-over; a month holding it bills what follows it")
    func monthlyRollup() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let plans = try f.rollupPlans()
        let northwind = try f.customer("Northwind")
        let bundle = try f.service(customer: northwind, plan: plans.bundle, startsOn: "2026-08-10")
        let ticket = try f.ticket(customer: northwind, service: bundle, openedAt: "2026-08-10T09:00:00Z")
        for (worked, minutes) in [("2026-08-12T10:00:00Z", 60), ("2026-09-20T10:00:00Z", 90), ("2026-10-05T10:00:00Z", 120), ("2026-10-20T10:00:00Z", 180)] {
            try f.entry(customer: northwind, ticket: ticket, workedAt: worked, minutes: minutes)
        }
        let oldPostpaid = try f.service(customer: northwind, plan: plans.postpaid, startsOn: "2026-08-01")
        _ = oldPostpaid
        let contoso = try f.customer("Contoso")
        let postpaid = try f.service(customer: contoso, plan: plans.postpaid, startsOn: "2026-10-20")
        let contosoTicket = try f.ticket(customer: contoso, service: postpaid, openedAt: "2026-10-20T09:00:00Z")
        try f.entry(customer: contoso, ticket: contosoTicket, workedAt: "2026-10-21T09:00:00Z", minutes: 60)
        try setCutover(db, "2026-10-15")

        let report = run(database, MonthlyRollupJob(parameters: MonthlyRollupParameters()), asOf: "2026-11-01T14:00:00Z")
        #expect(report.exitStatus == .success, "\(report.error ?? "") \(report.output.skipped)")
        let invoices = try db.query("""
            SELECT customer_id, period_start, total FROM invoices ORDER BY customer_id
            """).map { (try $0.decode(0, as: Int64.self), try $0.decode(1, as: LocalDate.self), try $0.decode(2, as: Int64.self)) }
        #expect(invoices.count == 2)
        #expect(invoices.first?.0 == northwind && invoices.first?.1 == d("2026-10-01") && invoices.first?.2 == 6000)
        #expect(invoices.last?.0 == contoso && invoices.last?.1 == d("2026-10-01") && invoices.last?.2 == 3100)
        let items = try db.query("""
            SELECT customer_id, kind, minutes, amount FROM billable_items ORDER BY customer_id, kind
            """).map { "\(try $0.decode(0, as: Int64.self)) \(try $0.decode(1, as: String.self)) \(try $0.decode(2, as: Int64?.self).map(String.init) ?? "-") \(try $0.decode(3, as: Int64.self))" }
        #expect(items == ["\(northwind) usage 180 6000", "\(contoso) setup_fee - 3000", "\(contoso) usage 60 100"])
        // Nothing is dated before the cut-over but the month holding it.
        #expect(try f.count("billable_items", where: "period_start < '2026-10-01'") == 0)

        // A rerun emits nothing.
        let again = run(database, MonthlyRollupJob(parameters: MonthlyRollupParameters()), asOf: "2026-11-01T14:00:00Z")
        #expect(again.exitStatus == .success)
        #expect(again.output.counts["invoices"] == nil && again.output.counts["adjustment_invoices"] == nil)
    }

    /// A Berlin customer on post-paid hourly support (1.00/h, setup fee in August) with `entries`.
    private func postpaidWorld(_ db: PostgresConnection, entries: [(String, Int)]) throws {
        let f = Fixtures(db)
        let plans = try f.rollupPlans()
        let customer = try f.customer("Contoso", timezone: "Europe/Berlin")
        let service = try f.service(customer: customer, plan: plans.postpaid, startsOn: "2026-08-01")
        let ticket = try f.ticket(customer: customer, service: service, openedAt: "2026-08-01T09:00:00Z")
        for (worked, minutes) in entries { try f.entry(customer: customer, ticket: ticket, workedAt: worked, minutes: minutes) }
    }

    //   cut-over Oct 15, Berlin (UTC+2 in October):
    //   2026-10-14T21:30Z = Oct 14 23:30 local   45 min   before
    //   2026-10-14T22:30Z = Oct 15 00:30 local   50 min   after (UTC says Oct 14)
    //   2026-10-20T09:00Z                        65 min   after
    //   October: 60 + 75 = 135 min = 2.25 h at 1.00 = 2.25. A clean database holding only the
    //   entries on and after Oct 15 (local), and no cut-over, bills October the same.
    @Test("monthly-rollup: with the cut-over, October equals a clean run over the entries on and after it")
    func monthlyRollupEqualsCleanStart() throws {
        let entries = [("2026-09-10T09:00:00Z", 120), ("2026-10-14T21:30:00Z", 45), ("2026-10-14T22:30:00Z", 50), ("2026-10-20T09:00:00Z", 65)]
        func october(_ database: TestDatabase, _ db: PostgresConnection) throws -> [String] {
            let report = run(database, MonthlyRollupJob(parameters: MonthlyRollupParameters()), asOf: "2026-11-01T14:00:00Z", period: try YearMonth("2026-10"))
            #expect(report.exitStatus == .success, "\(report.error ?? "") \(report.output.skipped)")
            return try db.query("SELECT i.period_start, i.total, b.kind, b.minutes, b.amount FROM invoices i JOIN billable_items b ON b.invoice_id = i.id ORDER BY b.kind")
                .map { "\(try $0.decode(0, as: LocalDate.self)) \(try $0.decode(1, as: Int64.self)) \(try $0.decode(2, as: String.self)) \(try $0.decode(3, as: Int64?.self) ?? 0) \(try $0.decode(4, as: Int64.self))" }
        }
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        try postpaidWorld(db, entries: entries)
        try setCutover(db, "2026-10-15")
        let withCutover = try october(database, db)
        #expect(withCutover == ["2026-10-01 225 usage 135 225"])

        let clean = try TestCluster.makeDatabase()
        defer { clean.drop() }
        let cleanDB = try clean.connect()
        defer { cleanDB.close() }
        try postpaidWorld(cleanDB, entries: Array(entries.suffix(2)))
        #expect(try october(clean, cleanDB) == withCutover)
    }

    /// A pre-paid service (1.00/h, packs of 10.00, threshold 0) of a New York customer.
    private func topupWorld(_ db: PostgresConnection, entries: [(String, Int)]) throws -> (customer: Int64, service: Int64) {
        let f = Fixtures(db)
        let plan = try f.plan("prepaid-10", billing: "prepaid")
        try f.price(plan: plan, hourlyRate: 100, topupAmount: 1000)
        let customer = try f.customer("Fabrikam", timezone: "America/New_York")
        let service = try f.service(customer: customer, plan: plan, startsOn: "2026-09-01")
        let ticket = try f.ticket(customer: customer, service: service, openedAt: "2026-09-01T15:00:00Z")
        for (worked, minutes) in entries { try f.entry(customer: customer, ticket: ticket, workedAt: worked, minutes: minutes) }
        return (customer, service)
    }

    //   cut-over Oct 15, New York:
    //   Sep 10 600 min                         before
    //   2026-10-15T02:00Z = Oct 14 22:00 local 60 min   before (UTC says Oct 15: the local date counts)
    //   2026-10-20T15:00Z                      90 min   debited -1.50
    //   B = -1.50, P = 0 <= 0: one pack of 10.00 (one is enough: -1.50 + 10.00 > 0).
    //   A clean database holding only the 90 minutes, and no cut-over, ends with the same ledger
    //   and the same invoice.
    @Test("threshold-topup: entries worked before the cut-over (local date) are not debited; the same as a clean start after it")
    func thresholdTopup() throws {
        let entries = [("2026-09-10T15:00:00Z", 600), ("2026-10-15T02:00:00Z", 60), ("2026-10-20T15:00:00Z", 90)]
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let world = try topupWorld(db, entries: entries)
        try setCutover(db, "2026-10-15")
        let report = run(database, ThresholdTopupJob(parameters: ThresholdTopupParameters()), asOf: "2026-10-25T12:00:00Z")
        #expect(report.exitStatus == .success, "\(report.error ?? "") \(report.output.skipped)")

        let ledger = try db.query("SELECT reason, minutes, amount FROM credit_ledger ORDER BY id")
            .map { "\(try $0.decode(0, as: String.self)) \(try $0.decode(1, as: Int64?.self) ?? 0) \(try $0.decode(2, as: Int64.self))" }
        #expect(ledger == ["usage 90 -150"])
        let invoices = try db.query("SELECT kind, total, status FROM invoices WHERE customer_id = $1", [world.customer])
            .map { "\(try $0.decode(0, as: String.self)) \(try $0.decode(1, as: Int64.self)) \(try $0.decode(2, as: String.self))" }
        #expect(invoices == ["topup 1000 issued"])
        // The queue is consumed: a rerun emits nothing.
        let again = run(database, ThresholdTopupJob(parameters: ThresholdTopupParameters()), asOf: "2026-10-25T13:00:00Z")
        #expect(again.exitStatus == .success)
        #expect(try Fixtures(db).count("credit_ledger") == 1)

        let clean = try TestCluster.makeDatabase()
        defer { clean.drop() }
        let cleanDB = try clean.connect()
        defer { cleanDB.close() }
        _ = try topupWorld(cleanDB, entries: [entries[2]])
        let cleanReport = run(clean, ThresholdTopupJob(parameters: ThresholdTopupParameters()), asOf: "2026-10-25T12:00:00Z")
        #expect(cleanReport.exitStatus == .success)
        let cleanLedger = try cleanDB.query("SELECT reason, minutes, amount FROM credit_ledger ORDER BY id")
            .map { "\(try $0.decode(0, as: String.self)) \(try $0.decode(1, as: Int64?.self) ?? 0) \(try $0.decode(2, as: Int64.self))" }
        let cleanInvoices = try cleanDB.query("SELECT kind, total, status FROM invoices")
            .map { "\(try $0.decode(0, as: String.self)) \(try $0.decode(1, as: Int64.self)) \(try $0.decode(2, as: String.self))" }
        #expect(cleanLedger == ledger)
        #expect(cleanInvoices == invoices)
    }

    //   cut-over Oct 15. Service A's invoice was issued Oct 1 (before: another system's), due
    //   Oct 5, unpaid; service B's was issued Oct 20, due Oct 25, unpaid. As of Nov 10 (grace 7):
    //   B is suspended, A stays active and its invoice stays issued.
    @Test("suspension-sweep: invoices issued before the cut-over are never chased")
    func suspensionSweep() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let plan = try f.plan("flat", billing: "recurring")
        try f.price(plan: plan, recurringFee: 4900)
        let customer = try f.customer("Litware")
        let a = try f.service(customer: customer, plan: plan, startsOn: "2026-09-01")
        let b = try f.service(customer: customer, plan: plan, startsOn: "2026-10-16")
        try setCutover(db, "2026-10-15")
        let runID = try f.sweep.run()
        let old = try f.sweep.invoice(customer: customer, lines: [.init(service: a, amount: 4900)], issuedAt: "2026-10-01T12:00:00Z", dueOn: "2026-10-05", run: runID)
        let new = try f.sweep.invoice(customer: customer, lines: [.init(service: b, amount: 4900)], issuedAt: "2026-10-20T12:00:00Z", dueOn: "2026-10-25", run: runID)

        let report = run(database, SuspensionSweepJob(), asOf: "2026-11-10T06:00:00Z")
        #expect(report.exitStatus == .success, "\(report.error ?? "") \(report.output.skipped)")
        #expect(try f.sweep.serviceState(a).status == "active")
        #expect(try f.sweep.serviceState(b).status == "suspended")
        #expect(try f.sweep.serviceState(b).reason == "overdue")
        #expect(try f.sweep.invoiceStatus(old) == "issued")
        #expect(try f.sweep.invoiceStatus(new) == "issued")
        #expect(try f.sweep.events(customer).map(\.event) == ["suspended"])
        #expect(try f.sweep.events(customer).first?.entityID == b)

        // Without the cut-over the old invoice would suspend A too: moving the cut-over earlier
        // (allowed) lets the next sweep chase it.
        try setCutover(db, "2026-09-01")
        #expect(run(database, SuspensionSweepJob(), asOf: "2026-11-10T06:00:00Z").exitStatus == .success)
        #expect(try f.sweep.serviceState(a).status == "suspended")
    }

    //   cut-over Oct 1, as of Oct 20. Adatum: incidents plan, 2 a month from Aug 11:
    //   |-- Aug 11 --|-- Sep 11 --|-- Oct 11..Nov 10 --|
    //    before       before       granted 2
    //   registered Jan 1 (before: no on_registration grant); first payment Sep 1 (before: no
    //   on_first_payment grant, and no later payment is the first); funds 50.00 on Sep 1 (before)
    //   and 50.00 on Oct 2: one step of 50.00 -> 1 incident. Tickets requiring an incident:
    //   opened Sep 20 (before: uses nothing, not listed), opened Oct 12: uses the Oct 11 grant.
    //   Tailspin registered Oct 5: 1 incident on registration.
    @Test("incident-grants: no grant for periods, registrations or payments before the cut-over; tickets before it use nothing")
    func incidentGrants() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let plan = try f.plan("incidents-2", billing: "incidents", incidentsPerPeriod: 2)
        let adatum = try f.customer("Adatum")
        let service = try f.service(customer: adatum, plan: plan, startsOn: "2026-08-11")
        try f.payment(customer: adatum, amount: 5000, receivedAt: "2026-09-01T12:00:00Z")
        let october = try f.payment(customer: adatum, amount: 5000, receivedAt: "2026-10-02T12:00:00Z")
        let before = try f.ticket(customer: adatum, service: service, requiresIncident: true, openedAt: "2026-09-20T12:00:00Z")
        let after = try f.ticket(customer: adatum, service: service, requiresIncident: true, openedAt: "2026-10-12T12:00:00Z")
        let tailspin = try f.customer("Tailspin", registeredAt: at("2026-10-05T12:00:00Z"))
        try setCutover(db, "2026-10-01")

        var parameters = IncidentGrantsParameters()
        parameters.onRegistration = 1
        parameters.onFirstPayment = 1
        parameters.fundsIncidents = 1
        let report = run(database, IncidentGrantsJob(parameters: parameters), asOf: "2026-10-20T12:00:00Z")
        #expect(report.exitStatus == .success, "\(report.error ?? "") \(report.output.skipped)")
        let grants = try db.query("""
            SELECT customer_id, source, quantity, valid_from, payment_id FROM incident_grants ORDER BY customer_id, valid_from, source
            """).map { "\(try $0.decode(0, as: Int64.self)) \(try $0.decode(1, as: String.self)) \(try $0.decode(2, as: Int.self)) \(try $0.decode(3, as: LocalDate.self)) \(try $0.decode(4, as: Int64?.self).map(String.init) ?? "-")" }
        #expect(grants == [
            "\(adatum) funds 1 2026-10-02 \(october)",
            "\(adatum) plan_period 2 2026-10-11 -",
            "\(tailspin) registration 1 2026-10-05 -",
        ])
        let uses = try db.query("SELECT ticket_id FROM incident_uses").map { try $0.decode(0, as: Int64.self) }
        #expect(uses == [after])
        #expect(!uses.contains(before))
        #expect(report.output.counts["unserved_tickets"] == nil)
        let again = run(database, IncidentGrantsJob(parameters: parameters), asOf: "2026-10-20T12:00:00Z")
        #expect(again.exitStatus == .success)
        #expect(try f.count("incident_grants") == 3 && f.count("incident_uses") == 1)
    }

    //   cut-over Oct 1. Woodgrove: support_hours contract of 600 min from Sep 1; a request
    //   opened Sep 20 with 120 min on Sep 25 (before: charged nowhere) and 60 on Oct 5 (covered).
    //   Proseware, no contract (per incident 45.00): a request opened Sep 28 with 30 min on Oct 3
    //   (charged per incident, but its incident began before: no item), one opened Oct 4 with
    //   20 min that day: one per-incident item of 45.00 for October.
    @Test("contract-expiry-rollover: entries before the cut-over are charged nowhere; requests opened before it are not billed per incident")
    func contractExpiryRollover() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let woodgrove = try f.customer("Woodgrove")
        let contract = try f.contract(kind: "support_hours", customer: woodgrove, startsOn: "2026-09-01", minutesTotal: 600, status: "active")
        let request = try f.ticket(customer: woodgrove, openedAt: "2026-09-20T09:00:00Z")
        try f.entry(customer: woodgrove, ticket: request, workedAt: "2026-09-25T09:00:00Z", minutes: 120)
        let covered = try f.entry(customer: woodgrove, ticket: request, workedAt: "2026-10-05T09:00:00Z", minutes: 60)
        let proseware = try f.customer("Proseware")
        let older = try f.ticket(customer: proseware, openedAt: "2026-09-28T09:00:00Z")
        let olderEntry = try f.entry(customer: proseware, ticket: older, workedAt: "2026-10-03T09:00:00Z", minutes: 30)
        let newer = try f.ticket(customer: proseware, openedAt: "2026-10-04T09:00:00Z")
        let newerEntry = try f.entry(customer: proseware, ticket: newer, workedAt: "2026-10-04T10:00:00Z", minutes: 20)
        try setCutover(db, "2026-10-01")

        var parameters = ContractExpiryRolloverParameters()
        parameters.perIncidentPrice = [try CurrencyCode("USD"): 4500]
        let job = ContractExpiryRolloverJob(parameters: parameters)
        let report = run(database, job, asOf: "2026-10-10T00:00:00Z")
        #expect(report.exitStatus == .success, "\(report.error ?? "") \(report.output.skipped)")
        let charges = try db.query("SELECT time_entry_id, contract_id, minutes, outcome FROM contract_charges ORDER BY time_entry_id")
            .map { "\(try $0.decode(0, as: Int64.self)) \(try $0.decode(1, as: Int64?.self).map(String.init) ?? "-") \(try $0.decode(2, as: Int64.self)) \(try $0.decode(3, as: String.self))" }
        #expect(charges == ["\(covered) \(contract) 60 covered", "\(olderEntry) - 30 per_incident", "\(newerEntry) - 20 per_incident"])
        let items = try db.query("SELECT customer_id, kind, amount, period_start FROM billable_items")
            .map { "\(try $0.decode(0, as: Int64.self)) \(try $0.decode(1, as: String.self)) \(try $0.decode(2, as: Int64.self)) \(try $0.decode(3, as: LocalDate.self))" }
        #expect(items == ["\(proseware) per_incident 4500 2026-10-01"])
        #expect(try f.count("billable_items", where: "source_key LIKE $1", ["ce:incident:\(newer)%"]) == 1)
        let again = run(database, job, asOf: "2026-10-10T00:00:00Z")
        #expect(again.exitStatus == .success)
        #expect(try f.count("contract_charges") == 3 && f.count("billable_items") == 1)

        // A correction: the covered entry was really worked on Sep 28, before the cut-over. Its
        // 60 minutes go back to the contract, and the event says why.
        try db.execute("UPDATE time_entries SET worked_at = '2026-09-28T09:00:00Z' WHERE id = $1", [covered])
        let corrected = run(database, job, asOf: "2026-10-10T00:00:00Z")
        #expect(corrected.exitStatus == .success, "\(corrected.error ?? "")")
        #expect(try db.query("SELECT sum(minutes)::bigint FROM contract_charges WHERE time_entry_id = $1", [covered]).scalar(Int64.self) == 0)
        #expect(try db.query("SELECT detail->>'reason' FROM audit_events WHERE event = 'contract_minutes_returned' AND entity_id = $1",
                             [covered]).scalar(String.self) == "the entry is dated before the cut-over")
    }
}
