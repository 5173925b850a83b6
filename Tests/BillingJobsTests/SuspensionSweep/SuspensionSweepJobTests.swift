import BillingCore
import BillingJobs
import BillingStore
import Foundation
import Postgres
import TestSupport
import Testing

/// End-to-end: the sweep on a real database, invoices made by fixtures the way monthly-rollup
/// and threshold-topup leave them.
@Suite("suspension-sweep end to end: suspend, restore, paid invoices, groups, time zones, blast radius")
struct SuspensionSweepJobTests {
    /// A database with the catalogue the tests share.
    struct World {
        let database: TestDatabase
        let db: PostgresConnection
        let fixtures: Fixtures
        let priorityGroup: Int64
        /// recurring, grace 5, group Priority Support
        let priorityFlat: Int64
        /// metered, grace 7, group Priority Support
        let bundle: Int64
        /// metered, grace 7, no group
        let hourly: Int64
        /// prepaid, grace 7, no group
        let prepaid: Int64
        let run: Int64

        var sweep: SweepFixtures { fixtures.sweep }

        func close() {
            db.close()
            database.drop()
        }
    }

    static func world() throws -> World {
        let database = try TestCluster.makeDatabase()
        let db = try database.connect()
        let fixtures = Fixtures(db)
        let group = try fixtures.group("Priority Support")
        let priorityFlat = try fixtures.plan("priority-flat", billing: "recurring", groupID: group, graceDays: 5)
        let bundle = try fixtures.plan("bundle-2h", billing: "metered", groupID: group, graceDays: 7)
        let hourly = try fixtures.plan("hourly", billing: "metered", graceDays: 7)
        let prepaid = try fixtures.plan("prepaid", billing: "prepaid", graceDays: 7)
        let run = try fixtures.sweep.run()
        return World(database: database, db: db, fixtures: fixtures, priorityGroup: group, priorityFlat: priorityFlat,
                      bundle: bundle, hourly: hourly, prepaid: prepaid, run: run)
    }

    static func at(_ text: String) -> Instant { try! Instant(rfc3339: text) }

    static func sweep(_ world: World, _ asOf: String, max: Int = 100, customers: [Int64] = [], dryRun: Bool = false, force: Bool = false, batchSize: Int = 500) -> JobReport {
        var parameters = SuspensionSweepParameters()
        parameters.maxSuspensions = max
        return JobRunner(target: world.database.target).run(SuspensionSweepJob(parameters: parameters), JobRunRequest(
            asOf: at(asOf), customers: customers, dryRun: dryRun, force: force, batchSize: batchSize, invokedBy: "test"))
    }

    static func events(_ report: JobReport) -> [String] {
        (report.output.records[.events] ?? []).map { record in
            "\(record.fields["customer_id"]?.intValue ?? 0) \(record.fields["event"]?.stringValue ?? "") \(record.fields["entity"]?.stringValue ?? "") \(record.fields["entity_id"]?.intValue ?? 0)"
        }
    }

    // due 2026-11-15, priority-flat grace 5: overdue from 2026-11-20 (UTC customer)
    //
    //   11-15 due   11-19 23:59:59Z    11-20 00:00Z       11-21: paid
    //   |-----------|-----------------|------------------|------------>
    //               nothing            suspended,         invoice paid, unsuspended,
    //                                  group removed      group added
    @Test("overdue on due_on + grace (inclusive) suspends with the invoices in the audit; payment restores; reruns change nothing")
    func suspendAndRestore() throws {
        let w = try Self.world()
        defer { w.close() }
        let customer = try w.fixtures.customer("Adventure Works")
        let service = try w.fixtures.service(customer: customer, plan: w.priorityFlat, startsOn: "2026-08-01")
        try w.sweep.member(customer: customer, group: w.priorityGroup, managed: true)
        let invoice = try w.sweep.invoice(customer: customer, lines: [.init(service: service, amount: 4900)], dueOn: "2026-11-15", run: w.run)

        let before = Self.sweep(w, "2026-11-19T23:59:59Z")
        #expect(before.exitStatus == .success)
        #expect(before.output.records[.events] == nil)
        #expect(try w.sweep.serviceState(service).status == "active")

        let due = Self.sweep(w, "2026-11-20T00:00:00Z")
        #expect(due.exitStatus == .success)
        #expect(due.status == .succeeded)
        #expect(Self.events(due) == ["\(customer) suspended service \(service)", "\(customer) group_removed customer_group \(w.priorityGroup)"])
        #expect(due.output.counts["suspended"] == 1)
        #expect(due.output.counts["group_removed"] == 1)
        #expect(due.output.totals[try CurrencyCode("USD")]?["overdue"] == 4900)
        let state = try w.sweep.serviceState(service)
        #expect(state.status == "suspended")
        #expect(state.reason == "overdue")
        #expect(state.suspendedAt == Self.at("2026-11-20T00:00:00Z"))
        #expect(try w.sweep.memberships(customer).isEmpty)

        let audit = try w.sweep.events(customer)
        #expect(audit.map(\.event) == ["suspended", "group_removed"])
        let why = audit[0].detail
        #expect(audit[0].entity == "service")
        #expect(audit[0].entityID == service)
        #expect(why["reason"]?.stringValue == "overdue")
        #expect(why["plan"]?.stringValue == "priority-flat")
        #expect(why["summary"]?.stringValue == "period invoice: 49.00 USD outstanding, due 2026-11-15, overdue since 2026-11-20 (5 days' grace)")
        #expect(why["invoices"]?.arrayValue?.first?["invoice_id"]?.intValue == invoice)
        let overdue = try #require(why["invoices"]?.arrayValue?.first)
        #expect(overdue["invoice_id"]?.intValue == invoice)
        #expect(overdue["due_on"]?.stringValue == "2026-11-15")
        #expect(overdue["grace_days"]?.intValue == 5)
        #expect(overdue["overdue_since"]?.stringValue == "2026-11-20")
        #expect(overdue["outstanding"]?.intValue == 4900)
        #expect(overdue["days_past_due"]?.intValue == 5)
        #expect(audit[1].entity == "customer_group")
        #expect(audit[1].detail["group"]?.stringValue == "Priority Support")
        #expect(audit[1].detail["summary"]?.stringValue == "no active service on a plan of Priority Support: service \(service) (priority-flat) suspended for overdue")
        let atColumn = try w.db.query("SELECT DISTINCT at, run_id FROM audit_events WHERE customer_id = $1", [customer])
        #expect(atColumn.count == 1)
        #expect(try atColumn[0].decode(0, as: Instant.self) == Self.at("2026-11-20T00:00:00Z"))
        #expect(try atColumn[0].decode(1, as: Int64.self) == due.runID)

        let rerun = Self.sweep(w, "2026-11-20T06:00:00Z")
        #expect(rerun.exitStatus == .success)
        #expect(rerun.output.records[.events] == nil)
        #expect(rerun.output.counts.keys.sorted() == ["customers"])
        #expect(try w.sweep.serviceState(service).suspendedAt == Self.at("2026-11-20T00:00:00Z"))

        // 4000 of 4900: still overdue, nothing changes.
        try w.fixtures.payment(customer: customer, invoice: invoice, amount: 4000, receivedAt: "2026-11-20T10:00:00Z")
        #expect(Self.sweep(w, "2026-11-21T00:00:00Z").output.records[.events] == nil)
        try w.fixtures.payment(customer: customer, invoice: invoice, amount: 900, receivedAt: "2026-11-20T11:00:00Z")

        let paid = Self.sweep(w, "2026-11-21T06:00:00Z")
        #expect(paid.exitStatus == .success)
        #expect(Self.events(paid) == [
            "\(customer) invoice_paid invoice \(invoice)", "\(customer) unsuspended service \(service)",
            "\(customer) group_added customer_group \(w.priorityGroup)",
        ])
        #expect(paid.output.totals[try CurrencyCode("USD")]?["paid"] == 4900)
        #expect(try w.sweep.invoiceStatus(invoice) == "paid")
        let restored = try w.sweep.serviceState(service)
        #expect(restored.status == "active")
        #expect(restored.reason == nil)
        #expect(restored.suspendedAt == nil)
        #expect(try w.sweep.memberships(customer).map(\.managed) == [true])
        let restoredAudit = try w.sweep.events(customer).suffix(3)
        #expect(restoredAudit.map(\.event) == ["invoice_paid", "unsuspended", "group_added"])
        #expect(restoredAudit.first?.detail["paid"]?.intValue == 4900)
        #expect(restoredAudit.first?.detail["payment_ids"]?.arrayValue?.count == 2)
        #expect(restoredAudit.dropFirst().first?.detail["paid_invoice_ids"] == [.int(invoice)])
        #expect(restoredAudit.dropFirst().first?.detail["suspended_at"]?.stringValue == "2026-11-20T00:00:00Z")

        let again = Self.sweep(w, "2026-11-22T06:00:00Z")
        #expect(again.exitStatus == .success)
        #expect(again.output.records[.events] == nil)
        #expect(try Fixtures(w.db).count("audit_events") == 5)
    }

    // due 2026-11-15, grace 7: overdue from local 2026-11-22.
    //   2026-11-21T10:00:00Z is 2026-11-22 00:00 in Kiritimati (UTC+14), 2026-11-21 10:00 in UTC.
    @Test("time zones: the same instant is overdue for a customer in UTC+14 and not yet for one in UTC")
    func timeZones() throws {
        let w = try Self.world()
        defer { w.close() }
        let kiritimati = try w.fixtures.customer("Kiritimati", timezone: "Pacific/Kiritimati")
        let london = try w.fixtures.customer("UTC", timezone: "UTC")
        var services: [Int64] = []
        for customer in [kiritimati, london] {
            let service = try w.fixtures.service(customer: customer, plan: w.hourly, startsOn: "2026-08-01")
            services.append(service)
            try w.sweep.invoice(customer: customer, lines: [.init(service: service, amount: 1200, kind: "usage")], dueOn: "2026-11-15", run: w.run)
        }
        let early = Self.sweep(w, "2026-11-21T09:59:59Z")
        #expect(early.output.records[.events] == nil)

        let report = Self.sweep(w, "2026-11-21T10:00:00Z")
        #expect(Self.events(report) == ["\(kiritimati) suspended service \(services[0])"])
        #expect(report.output.records[.events]?.first?.fields["detail"]?["local_as_of"]?.stringValue == "2026-11-22")
        #expect(try w.sweep.serviceState(services[0]).status == "suspended")
        #expect(try w.sweep.serviceState(services[1]).status == "active")

        let utcDay = Self.sweep(w, "2026-11-22T00:00:00Z")
        #expect(Self.events(utcDay) == ["\(london) suspended service \(services[1])"])
    }

    @Test("other suspensions, pending and cancelled services are never touched; staff members stay; stale managed members go")
    func untouched() throws {
        let w = try Self.world()
        defer { w.close() }
        let customer = try w.fixtures.customer("Mixed")
        let abuse = try w.fixtures.service(customer: customer, plan: w.bundle, status: "suspended", startsOn: "2026-08-01")
        try w.db.execute("UPDATE services SET suspend_reason = 'abuse', suspended_at = '2026-11-02T00:00:00Z' WHERE id = $1", [abuse])
        let pending = try w.fixtures.service(customer: customer, plan: w.bundle, status: "pending", startsOn: "2026-12-01")
        let cancelled = try w.fixtures.service(customer: customer, plan: w.bundle, status: "cancelled", startsOn: "2026-01-01")
        try w.sweep.member(customer: customer, group: w.priorityGroup, managed: false)
        try w.sweep.invoice(customer: customer, lines: [
            .init(service: abuse, amount: 1000), .init(service: pending, amount: 1000), .init(service: cancelled, amount: 1000),
        ], dueOn: "2026-11-15", run: w.run)
        // A managed member whose only service on the group's plans was cancelled.
        let former = try w.fixtures.customer("Former")
        try w.fixtures.service(customer: former, plan: w.priorityFlat, status: "cancelled", startsOn: "2026-01-01")
        try w.sweep.member(customer: former, group: w.priorityGroup, managed: true)

        let report = Self.sweep(w, "2026-12-15T00:00:00Z")
        #expect(report.exitStatus == .success)
        #expect(Self.events(report) == ["\(former) group_removed customer_group \(w.priorityGroup)"])
        #expect(try w.sweep.serviceState(abuse).reason == "abuse")
        #expect(try w.sweep.serviceState(abuse).suspendedAt == Self.at("2026-11-02T00:00:00Z"))
        #expect(try w.sweep.serviceState(pending).status == "pending")
        #expect(try w.sweep.serviceState(cancelled).status == "cancelled")
        #expect(try w.sweep.memberships(customer).map(\.managed) == [false])
        #expect(try w.sweep.memberships(former).isEmpty)
        #expect(report.output.records[.events]?.first?.fields["detail"]?["summary"]?.stringValue
            == "no active service on a plan of Priority Support: service \(try w.db.query("SELECT id FROM services WHERE customer_id = $1", [former]).scalar(Int64.self)!) (priority-flat) cancelled")

        // Staff membership + an active service on the group's plans: nothing to add, not flipped.
        try w.fixtures.service(customer: customer, plan: w.priorityFlat, startsOn: "2026-12-01")
        #expect(Self.sweep(w, "2026-12-15T01:00:00Z").output.records[.events] == nil)
        #expect(try w.sweep.memberships(customer).map(\.managed) == [false])
    }

    @Test("every kind of invoice counts: a top-up invoice suspends the pre-paid service; one already paid is left alone; credit notes never")
    func invoiceKinds() throws {
        let w = try Self.world()
        defer { w.close() }
        let customer = try w.fixtures.customer("Prepaid")
        let service = try w.fixtures.service(customer: customer, plan: w.prepaid, startsOn: "2026-08-01")
        let topupRun = try w.sweep.run(job: "threshold-topup")
        let open = try w.sweep.invoice(customer: customer, kind: "topup", lines: [.init(service: service, amount: 1000, kind: "topup")],
                                       issuedAt: "2026-11-03T10:00:00Z", dueOn: "2026-11-10", run: topupRun)
        // threshold-topup already marked this one paid: no second invoice_paid.
        let marked = try w.sweep.invoice(customer: customer, kind: "topup", lines: [.init(service: service, amount: 1000, kind: "topup")],
                                         issuedAt: "2026-10-03T10:00:00Z", dueOn: "2026-10-10", status: "paid", run: topupRun)
        try w.fixtures.payment(customer: customer, invoice: marked, amount: 1000, receivedAt: "2026-10-04T00:00:00Z")
        // A credit note: never overdue, never paid.
        let credit = try w.sweep.invoice(customer: customer, kind: "adjustment", lines: [.init(service: service, amount: -300, kind: "adjustment")],
                                         dueOn: "2026-11-01", run: w.run)
        // A topup invoice fully paid but still issued: the sweep marks it paid.
        let settled = try w.sweep.invoice(customer: customer, kind: "topup", lines: [.init(service: service, amount: 1000, kind: "topup")],
                                          issuedAt: "2026-11-01T10:00:00Z", dueOn: "2026-11-08", run: topupRun)
        try w.fixtures.payment(customer: customer, invoice: settled, amount: 1000, receivedAt: "2026-11-02T00:00:00Z")

        let report = Self.sweep(w, "2026-11-17T00:00:00Z")
        #expect(Self.events(report) == ["\(customer) invoice_paid invoice \(settled)", "\(customer) suspended service \(service)"])
        let detail = report.output.records[.events]?.last?.fields["detail"]
        #expect(detail?["invoices"]?.arrayValue?.map { $0["invoice_id"]?.intValue } == [open])
        #expect(detail?["invoices"]?.arrayValue?.first?["kind"]?.stringValue == "topup")
        #expect(try w.sweep.invoiceStatus(credit) == "issued")
        #expect(try w.sweep.invoiceStatus(marked) == "paid")
        #expect(try w.sweep.invoiceStatus(settled) == "paid")
    }

    @Test("a paid invoice whose payment is reversed is issued again (invoice_unpaid) and suspends its service past the grace")
    func reversal() throws {
        let w = try Self.world()
        defer { w.close() }
        let customer = try w.fixtures.customer("Chargeback")
        let service = try w.fixtures.service(customer: customer, plan: w.bundle, startsOn: "2026-08-01")
        try w.sweep.member(customer: customer, group: w.priorityGroup, managed: true)
        let invoice = try w.sweep.invoice(customer: customer, lines: [.init(service: service, amount: 20000)], dueOn: "2026-11-15", run: w.run)
        let payment = try w.fixtures.payment(customer: customer, invoice: invoice, amount: 20000, receivedAt: "2026-11-05T00:00:00Z")
        let paid = Self.sweep(w, "2026-11-06T00:00:00Z")
        #expect(Self.events(paid) == ["\(customer) invoice_paid invoice \(invoice)"])

        try w.db.execute("UPDATE payments SET status = 'reversed' WHERE id = $1", [payment])
        // Within the grace: the invoice reopens, the service stays.
        let reopened = Self.sweep(w, "2026-11-20T00:00:00Z")
        #expect(Self.events(reopened) == ["\(customer) invoice_unpaid invoice \(invoice)"])
        #expect(reopened.output.totals[try CurrencyCode("USD")]?["reopened"] == 20000)
        let detail = try #require(try w.sweep.events(customer).last?.detail)
        #expect(detail["outstanding"]?.intValue == 20000)
        #expect(detail["reversed_payment_ids"] == [.int(payment)])
        #expect(try w.sweep.invoiceStatus(invoice) == "issued")
        #expect(try w.sweep.serviceState(service).status == "active")

        let late = Self.sweep(w, "2026-11-22T00:00:00Z")
        #expect(Self.events(late) == ["\(customer) suspended service \(service)", "\(customer) group_removed customer_group \(w.priorityGroup)"])
    }

    @Test("an overdue invoice with no service item is reported for follow-up; nothing is suspended")
    func noService() throws {
        let w = try Self.world()
        defer { w.close() }
        let customer = try w.fixtures.customer("Litware")
        let service = try w.fixtures.service(customer: customer, plan: w.hourly, startsOn: "2026-08-01")
        let invoice = try w.sweep.invoice(customer: customer, lines: [.init(service: nil, amount: 2500, kind: "per_incident")], dueOn: "2026-11-15", run: w.run)
        let report = Self.sweep(w, "2026-11-22T00:00:00Z")
        #expect(report.exitStatus == .success)
        #expect(report.output.records[.events] == nil)
        #expect(report.output.notices == ["invoice \(invoice) of customer \(customer) Litware: 25.00 USD outstanding, due 2026-11-15, overdue since 2026-11-22, has no service to suspend: follow it up by hand"])
        #expect(try w.sweep.serviceState(service).status == "active")
    }

    // As of 2026-11-21T12:00:00Z:
    //   a, b, c (UTC, grace 5, due 11-15): overdue since 11-20           -> would be suspended
    //   k (Kiritimati, grace 7, due 11-15): local 11-22, overdue since 11-22 -> would be suspended
    //   u (UTC, grace 7, due 11-15): local 11-21, overdue from 11-22       -> not yet
    //   n (UTC, grace 7, no due date, issued 11-10): overdue since 11-17   -> would be suspended
    //   r (UTC, grace 7, due 11-05, paid, payment reversed): reopened     -> would be suspended
    //   p (UTC, grace 7, due 11-05, paid and still covered)                -> nothing
    // The run-wide count (SQL) must list exactly what the planner then suspends.
    @Test("blast radius: more suspensions than max_suspensions suspends none, lists them, exit 65; --customer counts only those; --force proceeds")
    func blastRadius() throws {
        let w = try Self.world()
        defer { w.close() }
        var services: [String: Int64] = [:]
        var customers: [String: Int64] = [:]
        var invoices: [String: Int64] = [:]
        let cases: [(String, String, Int64, String?, String, String)] = [
            ("a", "UTC", w.priorityFlat, "2026-11-15", "2026-11-01T14:00:00Z", "issued"),
            ("b", "UTC", w.priorityFlat, "2026-11-15", "2026-11-01T14:00:00Z", "issued"),
            ("c", "UTC", w.priorityFlat, "2026-11-15", "2026-11-01T14:00:00Z", "issued"),
            ("k", "Pacific/Kiritimati", w.hourly, "2026-11-15", "2026-11-01T14:00:00Z", "issued"),
            ("u", "UTC", w.hourly, "2026-11-15", "2026-11-01T14:00:00Z", "issued"),
            ("n", "UTC", w.hourly, nil, "2026-11-10T10:00:00Z", "issued"),
            ("r", "UTC", w.hourly, "2026-11-05", "2026-11-01T14:00:00Z", "paid"),
            ("p", "UTC", w.hourly, "2026-11-05", "2026-11-01T14:00:00Z", "paid"),
        ]
        for (name, zone, plan, dueOn, issuedAt, status) in cases {
            let customer = try w.fixtures.customer(name, timezone: zone)
            let service = try w.fixtures.service(customer: customer, plan: plan, startsOn: "2026-08-01")
            invoices[name] = try w.sweep.invoice(customer: customer, lines: [.init(service: service, amount: 4900)],
                                                 issuedAt: issuedAt, dueOn: dueOn, status: status, run: w.run)
            customers[name] = customer
            services[name] = service
        }
        try w.fixtures.payment(customer: customers["r"]!, invoice: invoices["r"]!, amount: 4900, receivedAt: "2026-11-02T00:00:00Z", status: "reversed")
        try w.fixtures.payment(customer: customers["p"]!, invoice: invoices["p"]!, amount: 4900, receivedAt: "2026-11-02T00:00:00Z")
        let plans = ["a": "priority-flat", "b": "priority-flat", "c": "priority-flat"]
        func listed(_ names: [String]) -> [String] {
            names.map { "would suspend service \(services[$0]!) (\(plans[$0] ?? "hourly")) of customer \(customers[$0]!) \($0): overdue invoice \(invoices[$0]!)" }
        }

        let asOf = "2026-11-21T12:00:00Z"
        let stopped = Self.sweep(w, asOf, max: 5)
        #expect(stopped.exitStatus == .dataError)
        #expect(stopped.status == .failed)
        #expect(stopped.error?.hasPrefix("6 services would be suspended, more than max_suspensions (5): none was suspended.") == true)
        #expect(stopped.output.counts["would_suspend"] == 6)
        #expect(stopped.output.notices == listed(["a", "b", "c", "k", "n", "r"]))
        #expect(try Fixtures(w.db).count("services", where: "status = 'suspended'") == 0)
        #expect(try Fixtures(w.db).count("audit_events") == 0)
        #expect(try w.sweep.invoiceStatus(invoices["r"]!) == "paid")
        #expect(try JobRunStore.find(w.db, id: stopped.runID!)?.status == "failed")

        // Limited to two customers, the count is one: within the limit.
        let some = Self.sweep(w, asOf, max: 5, customers: [customers["a"]!, customers["u"]!])
        #expect(some.exitStatus == .success)
        #expect(Self.events(some) == ["\(customers["a"]!) suspended service \(services["a"]!)"])

        // The remaining five exceed 4; --force suspends exactly the ones listed.
        let again = Self.sweep(w, asOf, max: 4)
        #expect(again.exitStatus == .dataError)
        #expect(again.output.notices == listed(["b", "c", "k", "n", "r"]))
        let forced = Self.sweep(w, asOf, max: 4, force: true, batchSize: 2)
        #expect(forced.exitStatus == .success)
        #expect(forced.output.counts["suspended"] == 5)
        #expect(forced.output.counts["invoices_unpaid"] == 1)
        #expect(Set((forced.output.records[.events] ?? []).filter { $0.fields["event"]?.stringValue == "suspended" }.compactMap { $0.fields["entity_id"]?.intValue })
            == Set(["b", "c", "k", "n", "r"].map { services[$0]! }))
        #expect(try w.sweep.serviceState(services["u"]!).status == "active")
        #expect(try w.sweep.serviceState(services["p"]!).status == "active")
        // max_suspensions = 0: no limit.
        #expect(Self.sweep(w, "2026-11-22T12:00:00Z", max: 0).output.counts["suspended"] == 1)
    }

    @Test("a dry run writes nothing and reports exactly what the real run then does")
    func dryRun() throws {
        let w = try Self.world()
        defer { w.close() }
        let late = try w.fixtures.customer("Late")
        let lateService = try w.fixtures.service(customer: late, plan: w.priorityFlat, startsOn: "2026-08-01")
        try w.sweep.member(customer: late, group: w.priorityGroup, managed: true)
        try w.sweep.invoice(customer: late, lines: [.init(service: lateService, amount: 4900)], dueOn: "2026-11-15", run: w.run)
        let payer = try w.fixtures.customer("Payer", timezone: "America/Los_Angeles")
        let payerService = try w.fixtures.service(customer: payer, plan: w.bundle, status: "suspended", startsOn: "2026-08-01")
        try w.db.execute("UPDATE services SET suspend_reason = 'overdue', suspended_at = '2026-11-25T06:00:00Z' WHERE id = $1", [payerService])
        let paidInvoice = try w.sweep.invoice(customer: payer, lines: [.init(service: payerService, amount: 20000)], dueOn: "2026-11-15", run: w.run)
        try w.fixtures.payment(customer: payer, invoice: paidInvoice, amount: 20000, receivedAt: "2026-11-28T00:00:00Z")
        let before = try w.db.query("SELECT count(*) FROM audit_events").scalar(Int.self)

        let dry = Self.sweep(w, "2026-12-01T06:00:00Z", dryRun: true)
        #expect(dry.exitStatus == .success)
        #expect(dry.dryRun)
        #expect(Self.events(dry) == [
            "\(late) suspended service \(lateService)", "\(late) group_removed customer_group \(w.priorityGroup)",
            "\(payer) invoice_paid invoice \(paidInvoice)", "\(payer) unsuspended service \(payerService)",
            "\(payer) group_added customer_group \(w.priorityGroup)",
        ])
        #expect(try w.db.query("SELECT count(*) FROM audit_events").scalar(Int.self) == before)
        #expect(try w.sweep.serviceState(lateService).status == "active")
        #expect(try w.sweep.serviceState(payerService).status == "suspended")
        #expect(try w.sweep.invoiceStatus(paidInvoice) == "issued")
        #expect(try w.sweep.memberships(late).count == 1)
        #expect(try w.sweep.memberships(payer).isEmpty)
        #expect(try Fixtures(w.db).count("job_runs", where: "job = 'suspension-sweep'") == 0)

        let real = Self.sweep(w, "2026-12-01T06:00:00Z")
        #expect(real.exitStatus == .success)
        #expect(DryRun.comparable(dry) == DryRun.comparable(real))
        #expect(Self.events(real) == Self.events(dry))
        #expect(try w.sweep.serviceState(lateService).status == "suspended")
        #expect(try w.sweep.serviceState(payerService).status == "active")
    }

    @Test("a customer with invalid data is skipped with the reason and nothing written; the others are swept; exit 65")
    func skips() throws {
        let w = try Self.world()
        defer { w.close() }
        let good = try w.fixtures.customer("Good")
        let goodService = try w.fixtures.service(customer: good, plan: w.hourly, startsOn: "2026-08-01")
        try w.sweep.invoice(customer: good, lines: [.init(service: goodService, amount: 1000)], dueOn: "2026-11-15", run: w.run)

        let euro = try w.fixtures.customer("Wrong currency")
        let euroService = try w.fixtures.service(customer: euro, plan: w.priorityFlat, startsOn: "2026-08-01")
        let euroInvoice = try w.sweep.invoice(customer: euro, lines: [.init(service: euroService, amount: 4900)], dueOn: "2026-11-15", run: w.run)
        let euroPayment = try w.fixtures.payment(customer: euro, invoice: euroInvoice, amount: 4500, currency: "EUR", receivedAt: "2026-11-10T00:00:00Z")

        let other = try w.fixtures.customer("Other")
        let othersService = try w.fixtures.service(customer: other, plan: w.hourly, startsOn: "2026-08-01")
        let stray = try w.fixtures.customer("Stray item")
        let strayInvoice = try w.sweep.invoice(customer: stray, lines: [.init(service: othersService, amount: 700)], dueOn: "2026-11-15", run: w.run)

        let report = Self.sweep(w, "2026-12-01T00:00:00Z")
        #expect(report.exitStatus == .dataError)
        #expect(report.status == .partial)
        #expect(Self.events(report) == ["\(good) suspended service \(goodService)"])
        let reasons = Dictionary(uniqueKeysWithValues: report.output.skipped.map { ($0.customerID, $0.reason) })
        #expect(reasons == [
            euro: "payment \(euroPayment) is in EUR but the invoice it pays, \(euroInvoice), is in USD: correct the payment's currency or its invoice_id",
            stray: "invoice \(strayInvoice) has an item for service \(othersService), which is not a service of customer \(stray): correct services.customer_id of service \(othersService)",
        ])
        #expect(try w.sweep.serviceState(euroService).status == "active")
        #expect(try w.sweep.events(euro).isEmpty)
        #expect(try w.sweep.events(stray).isEmpty)
        #expect(try w.sweep.memberships(euro).isEmpty)  // not even the group it would have joined
    }

    @Test("audit_events accepts invoice_unpaid next to the other event names and still refuses unknown ones")
    func eventNames() throws {
        let w = try Self.world()
        defer { w.close() }
        let customer = try w.fixtures.customer("Audit")
        for name in ["suspended", "unsuspended", "group_added", "group_removed", "invoice_paid", "invoice_unpaid",
                     "contract_activated", "contract_expired", "grant_revoked", "incident_returned"] {
            try w.db.execute("INSERT INTO audit_events (at, customer_id, entity, entity_id, event) VALUES (now(), $1, 'invoice', 1, $2)", [customer, name])
        }
        #expect(throws: PostgresError.self) {
            try w.db.execute("INSERT INTO audit_events (at, customer_id, entity, entity_id, event) VALUES (now(), $1, 'invoice', 1, 'bogus')", [customer])
        }
    }
}
