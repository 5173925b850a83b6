import BillingCore
import BillingJobs
import BillingStore
import Foundation
import Postgres
import TestSupport
import Testing

@Suite("incident-grants end to end: grants, consumption, returns, revocations on a real database")
struct IncidentGrantsJobTests {
    private func run(_ database: TestDatabase, asOf: String, parameters: IncidentGrantsParameters = IncidentGrantsParameters(),
                     dryRun: Bool = false, batchSize: Int = 500) throws -> JobReport {
        JobRunner(target: database.target).run(IncidentGrantsJob(parameters: parameters),
                                               JobRunRequest(asOf: try Instant(rfc3339: asOf), dryRun: dryRun, batchSize: batchSize, invokedBy: "test"))
    }

    private func keys(_ report: JobReport, _ section: ReportSection) -> [String] {
        (report.output.records[section] ?? []).map(\.sortKey)
    }

    //   Tailspin (Europe/London), 10 incidents a month, ordered for 3 months on Apr 11 2026:
    //   Apr 11          May 11          Jun 11          Jul 11 (ends_on)
    //   |---- #1 -------|---- #2 -------|---- #3 -------|
    //     A Apr 20        B May 10 23:30 UTC = May 11 00:30 London -> #2, not #1
    //                                       C Jun 12
    //   as of Jun 20 00:30 UTC: all three periods have started.
    @Test("incident plan periods: Apr 11–May 10, May 11–Jun 10, Jun 11–Jul 10; tickets use the period of their local opening date; a rerun emits nothing")
    func seedPeriods() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let fixtures = Fixtures(db)
        let tailspin = try fixtures.customer("Tailspin Apps", timezone: "Europe/London")
        let idle = try fixtures.customer("Nothing to do")
        let service = try fixtures.incidentService(customer: tailspin, code: "incidents-10", startsOn: "2026-04-11", endsOn: "2026-07-11")
        try fixtures.service(customer: idle, plan: try fixtures.plan("hourly", billing: "metered"), startsOn: "2026-01-01")
        let a = try fixtures.ticket(customer: tailspin, service: service, requiresIncident: true, openedAt: "2026-04-20T09:00:00Z")
        let b = try fixtures.ticket(customer: tailspin, service: service, requiresIncident: true, openedAt: "2026-05-10T23:30:00Z")
        let c = try fixtures.ticket(customer: tailspin, service: service, requiresIncident: true, openedAt: "2026-06-12T10:00:00Z")
        try fixtures.ticket(customer: tailspin, service: service, requiresIncident: false, openedAt: "2026-06-13T10:00:00Z")
        let late = try fixtures.ticket(customer: tailspin, service: service, requiresIncident: true, openedAt: "2026-06-21T10:00:00Z") // after the as-of

        let report = try run(database, asOf: "2026-06-20T00:30:00Z")
        #expect(report.exitStatus == .success)
        #expect(report.output.counts == ["customers": 1, "grants": 3, "incidents_granted": 30, "uses": 3])
        #expect(try fixtures.grantLines(customer: tailspin) == [
            "plan_period 2026-04-11..2026-05-11 x10", "plan_period 2026-05-11..2026-06-11 x10", "plan_period 2026-06-11..2026-07-11 x10",
        ])
        #expect(keys(report, .grants) == ["ig:period:\(service):2026-04-11", "ig:period:\(service):2026-05-11", "ig:period:\(service):2026-06-11"])
        let first = try #require(report.output.records[.grants]?.first?.fields)
        #expect(first["valid_from"] == "2026-04-11")
        #expect(first["valid_until"] == "2026-05-11")
        #expect(first["quantity"] == 10)
        #expect(first["lifetime"] == false)
        #expect(first["source"] == "plan_period")
        #expect(try fixtures.useLines(customer: tailspin).sorted() == [
            "ig:use:\(a):1 ticket \(a) -> ig:period:\(service):2026-04-11",
            "ig:use:\(b):1 ticket \(b) -> ig:period:\(service):2026-05-11",
            "ig:use:\(c):1 ticket \(c) -> ig:period:\(service):2026-06-11",
        ].sorted())
        let use = try #require(report.output.records[.uses]?.first { $0.fields["ticket_id"]?.intValue == b }?.fields)
        #expect(use["used_at"] == "2026-05-10T23:30:00Z")
        #expect(use["quantity"] == 1)

        // What the helpdesk sees: 9 left in each period, nothing once the term is over.
        #expect(try fixtures.incidentBalance(customer: tailspin, on: "2026-05-20") == [9, 0, 9])
        #expect(try fixtures.incidentBalance(customer: tailspin, on: "2026-06-20") == [9, 0, 9])
        #expect(try fixtures.incidentBalance(customer: tailspin, on: "2026-07-11") == [0, 0, 0])

        let rerun = try run(database, asOf: "2026-06-20T00:30:00Z")
        #expect(rerun.exitStatus == .success)
        #expect(rerun.output.counts == ["customers": 0])
        #expect(rerun.output.records.isEmpty)
        // After the term: no period starts any more; the ticket opened on Jun 21 (after the first
        // run's as-of) is served from the period it was opened in.
        let after = try run(database, asOf: "2026-08-01T00:30:00Z")
        #expect(after.output.counts["grants"] == nil)
        #expect(keys(after, .uses) == ["ig:use:\(late):1"])
        #expect(try fixtures.count("incident_grants") == 3)
        #expect(try fixtures.incidentBalance(customer: tailspin, on: "2026-06-21") == [8, 0, 8])
    }

    //   Adventure Works (Pacific/Kiritimati, UTC+14): 5 lifetime incidents from Jul 17, and
    //   2 a month from Oct 11.
    //   t4 Jul 16 09:59 UTC = Jul 16 23:59 local: before the lifetime grant -> unserved
    //   t5 Jul 16 10:00 UTC = Jul 17 00:00 local: lifetime
    //   t1 Oct 11, t2 Oct 12: the period (time-limited first); t3 Oct 13: period used up -> lifetime
    @Test("lifetime plans grant once; time-limited incidents go first; a ticket with no incident valid on its local opening date is reported")
    func lifetimeOrderAndUnserved() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let fixtures = Fixtures(db)
        let customer = try fixtures.customer("Adventure Works", timezone: "Pacific/Kiritimati")
        let life = try fixtures.incidentService(customer: customer, code: "incidents-life", periodMonths: 0, incidents: 5, startsOn: "2026-07-17")
        let monthly = try fixtures.incidentService(customer: customer, code: "incidents-2", incidents: 2, startsOn: "2026-10-11")
        let t4 = try fixtures.ticket(customer: customer, requiresIncident: true, openedAt: "2026-07-16T09:59:00Z")
        let t5 = try fixtures.ticket(customer: customer, requiresIncident: true, openedAt: "2026-07-16T10:00:00Z")
        let t1 = try fixtures.ticket(customer: customer, requiresIncident: true, openedAt: "2026-10-11T09:00:00Z")
        let t2 = try fixtures.ticket(customer: customer, requiresIncident: true, openedAt: "2026-10-12T00:00:00Z")
        let t3 = try fixtures.ticket(customer: customer, requiresIncident: true, openedAt: "2026-10-13T00:00:00Z")

        let report = try run(database, asOf: "2026-11-01T00:00:00Z")
        #expect(report.exitStatus == .success)
        #expect(report.output.counts == ["customers": 1, "grants": 2, "incidents_granted": 7, "uses": 4, "unserved_tickets": 1])
        #expect(try fixtures.grantLines(customer: customer).sorted() == ["plan_lifetime 2026-07-17..lifetime x5", "plan_period 2026-10-11..2026-11-11 x2"])
        #expect(try fixtures.useLines(customer: customer).sorted() == [
            "ig:use:\(t1):1 ticket \(t1) -> ig:period:\(monthly):2026-10-11",
            "ig:use:\(t2):1 ticket \(t2) -> ig:period:\(monthly):2026-10-11",
            "ig:use:\(t3):1 ticket \(t3) -> ig:plan-lifetime:\(life)",
            "ig:use:\(t5):1 ticket \(t5) -> ig:plan-lifetime:\(life)",
        ].sorted())
        #expect(report.output.notices == ["customer \(customer) (Adventure Works): no incident available for ticket \(t4) (opened 2026-07-16)"])
        #expect(try fixtures.incidentBalance(customer: customer, on: "2026-10-20") == [0, 3, 3])

        // The unserved ticket is reported again, nothing else happens.
        let rerun = try run(database, asOf: "2026-11-01T00:00:00Z")
        #expect(rerun.exitStatus == .success)
        #expect(rerun.output.records.isEmpty)
        #expect(rerun.output.notices == report.output.notices)
        // The next period starts on Nov 11 local (Nov 10 10:00 UTC in Kiritimati).
        let next = try run(database, asOf: "2026-11-10T10:00:00Z")
        #expect(keys(next, .grants) == ["ig:period:\(monthly):2026-11-11"])
    }

    //   staff grant: 2 lifetime incidents.   run 1: t1, t2 use them, t3 waits.
    //   t1 cleared -> run 2: t1 returned, t3 served.   t1 required again -> run 3: t1 waits.
    //   t2 cleared -> run 4: t2 returned, t1 served under a new key (ig:use:t1:2).
    @Test("a cleared requires_incident returns the incident (returned_at, incident_returned); requiring again uses a new one under a new key")
    func returns() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let fixtures = Fixtures(db)
        let customer = try fixtures.customer("Contoso")
        try fixtures.manualGrant(customer: customer, quantity: 2, validFrom: "2026-01-01", key: "staff:1")
        let t1 = try fixtures.ticket(customer: customer, requiresIncident: true, openedAt: "2026-03-01T10:00:00Z")
        let t2 = try fixtures.ticket(customer: customer, requiresIncident: true, openedAt: "2026-03-02T10:00:00Z")
        let t3 = try fixtures.ticket(customer: customer, requiresIncident: true, openedAt: "2026-03-03T10:00:00Z")

        let first = try run(database, asOf: "2026-03-10")
        #expect(keys(first, .uses) == ["ig:use:\(t1):1", "ig:use:\(t2):1"])
        #expect(first.output.counts["unserved_tickets"] == 1)

        try fixtures.setRequiresIncident(ticket: t1, false)
        let second = try run(database, asOf: "2026-03-11T08:00:00Z")
        #expect(second.output.counts == ["customers": 1, "returned": 1, "uses": 1])
        #expect(keys(second, .uses) == ["ig:use:\(t3):1"])
        let event = try #require(second.output.records[.events]?.first?.fields)
        #expect(event["event"] == "incident_returned")
        #expect(event["entity"] == "incident_use")
        #expect(event["at"] == "2026-03-11T08:00:00Z")
        #expect(event["detail"]?["ticket_id"]?.intValue == t1)
        #expect(event["detail"]?["reason"] == "ticket no longer requires an incident")
        #expect(try db.query("SELECT returned_at FROM incident_uses WHERE source_key = $1", ["ig:use:\(t1):1"]).scalar(Instant.self)
                == (try Instant(rfc3339: "2026-03-11T08:00:00Z")))

        // t1 requires one again. Consumption is recomputed from today's tickets (oldest first,
        // docs/design.md §9): t1 (Mar 1) is served before t3 (Mar 3), which gives its use back and
        // is listed, as a clean run over today's data would have it.
        try fixtures.setRequiresIncident(ticket: t1, true)
        let third = try run(database, asOf: "2026-03-12")
        #expect(keys(third, .uses) == ["ig:use:\(t1):2"])
        #expect(third.output.records[.events]?.first?.fields["detail"]?["reason"] == "served from another grant, or none is left for it")
        #expect(third.output.counts["unserved_tickets"] == 1)

        try fixtures.setRequiresIncident(ticket: t2, false)
        let fourth = try run(database, asOf: "2026-03-13")
        #expect(keys(fourth, .uses) == ["ig:use:\(t3):2"])
        #expect(keys(fourth, .events) == ["ig:returned:use:\(t2):1"])
        #expect(try fixtures.useLines(customer: customer) == [
            "ig:use:\(t1):1 ticket \(t1) -> staff:1 returned", "ig:use:\(t2):1 ticket \(t2) -> staff:1 returned",
            "ig:use:\(t3):1 ticket \(t3) -> staff:1 returned", "ig:use:\(t1):2 ticket \(t1) -> staff:1", "ig:use:\(t3):2 ticket \(t3) -> staff:1",
        ])
        #expect(try fixtures.count("audit_events", where: "event = 'incident_returned'") == 3)
        // Grants and uses are never deleted; a rerun changes nothing.
        let rerun = try run(database, asOf: "2026-03-13")
        #expect(rerun.output.records.isEmpty)
        #expect(rerun.output.counts == ["customers": 0])
        #expect(try fixtures.count("incident_uses") == 5)
    }

    //   on_registration 1, on_first_payment 1, [funds] step USD 50.00 -> 1 incident.
    //   registered Sep 1. Payments: #1 30.00 USD Oct 2 (funds), #e 90.00 EUR Oct 3 (funds, foreign),
    //   #2 30.00 USD Oct 5 (funds). Tickets t1 Oct 6, t2 Oct 7.
    //   run 1 (Oct 10): registration (Sep 1) x1 -> t1; first payment #1 (Oct 2) x1 -> t2;
    //                   funds 60.00 -> one step at #2 (Oct 5) x1, 10.00 carried.
    //   #1 reversed -> run 2 (Oct 11): first-payment grant revoked (t2's use returned), funds 30.00
    //                   no longer cover 50.00 -> funds grant revoked; the first completed payment is
    //                   now #e (Oct 3): new first-payment grant -> t2 served again.
    //   #3 70.00 USD Oct 12 -> run 3 (Oct 13): 100.00 of funds, nothing granted -> 2 steps at #3.
    @Test("account grants: registration, first payment and funds with carry-over; reversals revoke (grant_revoked) and the next payment counts")
    func accountGrants() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let fixtures = Fixtures(db)
        var parameters = IncidentGrantsParameters()
        parameters.onRegistration = 1
        parameters.onFirstPayment = 1
        parameters.fundsStep = [try CurrencyCode("USD"): 5000]
        parameters.fundsIncidents = 1
        let customer = try fixtures.customer("Contoso", registeredAt: try Instant(rfc3339: "2026-09-01T10:00:00Z"))
        let p1 = try fixtures.payment(customer: customer, amount: 3000, receivedAt: "2026-10-02T12:00:00Z")
        let pe = try fixtures.payment(customer: customer, amount: 9000, currency: "EUR", receivedAt: "2026-10-03T12:00:00Z")
        let p2 = try fixtures.payment(customer: customer, amount: 3000, receivedAt: "2026-10-05T12:00:00Z")
        let t1 = try fixtures.ticket(customer: customer, requiresIncident: true, openedAt: "2026-10-06T10:00:00Z")
        let t2 = try fixtures.ticket(customer: customer, requiresIncident: true, openedAt: "2026-10-07T10:00:00Z")

        let first = try run(database, asOf: "2026-10-10", parameters: parameters)
        #expect(first.exitStatus == .success)
        #expect(try fixtures.grantLines(customer: customer).sorted() == [
            "first_payment 2026-10-02..lifetime x1", "funds 2026-10-05..lifetime x1", "registration 2026-09-01..lifetime x1",
        ])
        #expect(keys(first, .grants) == ["ig:first-payment:\(customer):1", "ig:funds:\(customer):1", "ig:registration:\(customer)"])
        let funds = try #require(first.output.records[.grants]?.first { $0.sortKey.hasPrefix("ig:funds") }?.fields)
        #expect(funds["payment_id"]?.intValue == p2)
        #expect(funds["funds_amount"] == 5000)
        #expect(funds["funds_currency"] == "USD")
        #expect(try fixtures.useLines(customer: customer).sorted() == [
            "ig:use:\(t1):1 ticket \(t1) -> ig:registration:\(customer)", "ig:use:\(t2):1 ticket \(t2) -> ig:first-payment:\(customer):1",
        ].sorted())
        #expect(first.output.notices == ["customer \(customer): funds not in the customer's currency USD earn no incidents: payment \(pe) (EUR)"])
        #expect(try fixtures.incidentBalance(customer: customer, on: "2026-10-10") == [0, 1, 1])

        try fixtures.reversePayment(p1)
        let second = try run(database, asOf: "2026-10-11", parameters: parameters)
        #expect(second.exitStatus == .success)
        #expect(second.output.counts == ["customers": 1, "grants": 1, "incidents_granted": 1, "revoked": 2, "returned": 1, "uses": 1])
        #expect(try fixtures.grantLines(customer: customer).sorted() == [
            "first_payment 2026-10-02..lifetime x1 revoked", "first_payment 2026-10-03..lifetime x1",
            "funds 2026-10-05..lifetime x1 revoked", "registration 2026-09-01..lifetime x1",
        ])
        #expect(keys(second, .grants) == ["ig:first-payment:\(customer):2"])
        let events = second.output.records[.events] ?? []
        #expect(events.map { $0.fields["event"]?.stringValue ?? "" }.sorted() == ["grant_revoked", "grant_revoked", "incident_returned"])
        let revokedFirst = try #require(events.first { $0.fields["detail"]?["source"] == "first_payment" }?.fields)
        #expect(revokedFirst["entity"] == "incident_grant")
        #expect(revokedFirst["detail"]?["reason"] == .string("payment \(p1) was reversed"))
        #expect(revokedFirst["detail"]?["used"] == 1)
        let revokedFunds = try #require(events.first { $0.fields["detail"]?["source"] == "funds" }?.fields)
        #expect(revokedFunds["detail"]?["reason"] == "the completed funds (3000 USD) no longer earn this grant: payments changed since it was made")
        #expect(try db.query("SELECT count(*) FROM incident_grants WHERE revoked_at = '2026-10-11T00:00:00Z'").scalar(Int.self) == 2)
        #expect(try fixtures.useLines(customer: customer).sorted() == [
            "ig:use:\(t1):1 ticket \(t1) -> ig:registration:\(customer)",
            "ig:use:\(t2):1 ticket \(t2) -> ig:first-payment:\(customer):1 returned",
            "ig:use:\(t2):2 ticket \(t2) -> ig:first-payment:\(customer):2",
        ].sorted())
        #expect(try fixtures.incidentBalance(customer: customer, on: "2026-10-11") == [0, 0, 0])

        let p3 = try fixtures.payment(customer: customer, amount: 7000, receivedAt: "2026-10-12T12:00:00Z")
        let third = try run(database, asOf: "2026-10-13", parameters: parameters)
        #expect(keys(third, .grants) == ["ig:funds:\(customer):2"])
        let more = try #require(third.output.records[.grants]?.first?.fields)
        #expect(more["quantity"] == 2)
        #expect(more["funds_amount"] == 10000)
        #expect(more["payment_id"]?.intValue == p3)
        #expect(more["valid_from"] == "2026-10-12")
        #expect(try fixtures.incidentBalance(customer: customer, on: "2026-10-13") == [0, 2, 2])

        // Grants are never deleted; a rerun grants, revokes and consumes nothing.
        let rerun = try run(database, asOf: "2026-10-13", parameters: parameters)
        #expect(rerun.output.records.isEmpty)
        #expect(try fixtures.count("incident_grants") == 5)
    }

    @Test("a dry run writes nothing, and its report equals the real run's apart from run_id, dry_run and ids")
    func dryRun() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let fixtures = Fixtures(db)
        var parameters = IncidentGrantsParameters()
        parameters.onFirstPayment = 2
        let customer = try fixtures.customer("Tailspin Apps", timezone: "Europe/London")
        try fixtures.incidentService(customer: customer, code: "incidents-10", startsOn: "2026-10-11", endsOn: "2027-01-11")
        let payment = try fixtures.payment(customer: customer, amount: 9900, receivedAt: "2026-10-11T09:00:00Z")
        let t1 = try fixtures.ticket(customer: customer, requiresIncident: true, openedAt: "2026-10-12T09:00:00Z")
        try fixtures.ticket(customer: customer, requiresIncident: true, openedAt: "2026-10-19T08:00:00Z")
        _ = try run(database, asOf: "2026-10-20", parameters: parameters)
        try fixtures.setRequiresIncident(ticket: t1, false)
        try fixtures.reversePayment(payment)
        try fixtures.ticket(customer: customer, requiresIncident: true, openedAt: "2026-10-25T14:00:00Z")
        let before = try fixtures.count("job_runs")

        let dry = try run(database, asOf: "2026-11-01T14:00:00Z", parameters: parameters, dryRun: true)
        #expect(dry.exitStatus == .success)
        #expect(dry.dryRun)
        #expect(dry.output.counts["revoked"] == 1)
        #expect(dry.output.counts["returned"] == 1)
        #expect(dry.output.counts["uses"] == 1)
        #expect(try fixtures.count("incident_grants", where: "revoked_at IS NOT NULL") == 0)
        #expect(try fixtures.count("incident_uses", where: "returned_at IS NOT NULL") == 0)
        #expect(try fixtures.count("incident_uses") == 2)
        #expect(try fixtures.count("audit_events") == 0)
        #expect(try fixtures.count("job_runs") == before)

        let real = try run(database, asOf: "2026-11-01T14:00:00Z", parameters: parameters)
        #expect(real.exitStatus == .success)
        #expect(DryRun.comparable(dry) == DryRun.comparable(real))
        #expect(try fixtures.count("audit_events") == 2)
    }

    @Test("a customer with invalid data is skipped with the reason, nothing is written for it, the others are served (exit 65)")
    func skipsInvalid() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let fixtures = Fixtures(db)
        let good = try fixtures.customer("Good")
        let bad = try fixtures.customer("Bad")
        let broken = try fixtures.customer("Broken term")
        let service = try fixtures.incidentService(customer: good, code: "incidents-life", periodMonths: 0, incidents: 5, startsOn: "2026-07-01")
        try fixtures.incidentService(customer: bad, code: "incidents-life", startsOn: "2026-07-01")
        try fixtures.incidentService(customer: broken, code: "incidents-10", startsOn: "2026-07-01", endsOn: "2026-06-01")
        try fixtures.ticket(customer: good, service: service, requiresIncident: true, openedAt: "2026-07-02T10:00:00Z")
        let foreign = try fixtures.ticket(customer: bad, service: service, requiresIncident: true, openedAt: "2026-07-02T10:00:00Z")

        let report = try run(database, asOf: "2026-07-10", batchSize: 10)
        #expect(report.exitStatus == .dataError)
        #expect(report.status == .partial)
        #expect(report.output.skipped == [
            SkippedCustomer(customerID: bad, reason: "ticket \(foreign) names service \(service), which belongs to customer \(good): fix the ticket's service"),
            SkippedCustomer(customerID: broken, reason: "service \(try #require(try db.query("SELECT id FROM services WHERE customer_id = $1", [broken]).scalar(Int64.self))) ends on 2026-06-01 before it starts on 2026-07-01: fix its term (ends_on is exclusive)"),
        ])
        #expect(try fixtures.count("incident_grants", where: "customer_id = $1", [good]) == 1)
        #expect(try fixtures.count("incident_uses", where: "customer_id = $1", [good]) == 1)
        #expect(try fixtures.count("incident_grants", where: "customer_id <> $1", [good]) == 0)
        #expect(try fixtures.count("incident_uses", where: "customer_id <> $1", [good]) == 0)
    }
}

@Suite("incident-grants: which customers a run visits")
struct IncidentGrantsCustomersTests {
    private func run(_ database: TestDatabase, asOf: String) throws -> JobReport {
        JobRunner(target: database.target).run(IncidentGrantsJob(parameters: IncidentGrantsParameters()),
                                               JobRunRequest(asOf: try Instant(rfc3339: asOf), invokedBy: "test"))
    }

    //   anchor Jan 31 monthly:  Jan 31 | Feb 28 | Mar 31 | Apr 30   (the SQL that picks customers must
    //   find the same latest period start, Apr 30, as the planner, or it would visit forever)
    //   quarterly from Nov 30 2025, ends Aug 30 2026: Nov 30 | Feb 28 | May 30 (Aug 30 is the end)
    @Test("only active services with an ungranted started period are visited; clamped anchors match the planner's keys")
    func visits() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let fixtures = Fixtures(db)
        let monthly = try fixtures.customer("Anchor 31")
        let quarterly = try fixtures.customer("Quarterly")
        let suspended = try fixtures.customer("Suspended")
        let pending = try fixtures.customer("Pending")
        let future = try fixtures.customer("Starts later")
        try fixtures.incidentService(customer: monthly, code: "m", incidents: 1, startsOn: "2026-01-31")
        try fixtures.incidentService(customer: quarterly, code: "q", periodMonths: 3, incidents: 4, startsOn: "2025-11-30", endsOn: "2026-08-30")
        try fixtures.incidentService(customer: suspended, code: "m", startsOn: "2026-01-01", status: "suspended")
        try fixtures.incidentService(customer: pending, code: "m", startsOn: "2026-01-01", status: "pending")
        try fixtures.incidentService(customer: future, code: "m", startsOn: "2026-05-01")

        let first = try run(database, asOf: "2026-04-30T12:00:00Z")
        #expect(first.output.counts["customers"] == 2)
        #expect(try fixtures.grantLines(customer: monthly) == [
            "plan_period 2026-01-31..2026-02-28 x1", "plan_period 2026-02-28..2026-03-31 x1",
            "plan_period 2026-03-31..2026-04-30 x1", "plan_period 2026-04-30..2026-05-31 x1",
        ])
        #expect(try fixtures.grantLines(customer: quarterly) == ["plan_period 2025-11-30..2026-02-28 x4", "plan_period 2026-02-28..2026-05-30 x4"])
        #expect(try fixtures.count("incident_grants", where: "customer_id IN ($1, $2, $3)", [suspended, pending, future]) == 0)

        #expect(try run(database, asOf: "2026-04-30T12:00:00Z").output.counts == ["customers": 0])
        let later = try run(database, asOf: "2026-05-29T12:00:00Z")
        #expect(later.output.counts == ["customers": 1, "grants": 1, "incidents_granted": 1])  // the service from May 1 (plan m: 1 a month)
        #expect(try run(database, asOf: "2026-05-29T12:00:00Z").output.counts == ["customers": 0])
        let may = try run(database, asOf: "2026-05-31T12:00:00Z")
        #expect(may.output.counts["customers"] == 2)  // monthly from May 31, quarterly from May 30
        let autumn = try run(database, asOf: "2026-09-15T12:00:00Z")
        #expect(try fixtures.grantLines(customer: quarterly).count == 3)  // the term ends Aug 30: no period from Aug 30
        #expect(autumn.output.counts["grants"] == 7)  // monthly Jun 30, Jul 31, Aug 31 + Jun 1, Jul 1, Aug 1, Sep 1
        #expect(try run(database, asOf: "2026-09-15T12:00:00Z").output.counts == ["customers": 0])
    }
}
