import BillingCore
import BillingJobs
import BillingStore
import Foundation
import Postgres
import TestSupport
import Testing

/// incident-grants when the past changes (docs/design.md §9): each test starts from grants and
/// uses made by a run, corrects the service's term, and checks the corrections of the next run.
@Suite("incident-grants corrections: service terms corrected after grants were made")
struct IncidentGrantsCorrectionsJobTests {
    static func run(_ database: TestDatabase, asOf: String) throws -> JobReport {
        JobRunner(target: database.target).run(IncidentGrantsJob(parameters: IncidentGrantsParameters()),
                                               JobRunRequest(asOf: try Instant(rfc3339: asOf), invokedBy: "test"))
    }

    static func emitted(_ report: JobReport) -> [String: Int] {
        report.output.counts.filter { $0.key != "customers" && $0.key != "unserved_tickets" }
    }

    //   10 incidents a month from Apr 11, ends_on Jul 11; as of Jun 20 all three periods are due:
    //   Apr 11          May 11          Jun 11          Jul 11
    //   |---- #1 -------|---- #2 -------|---- #3 -------|
    //                                        T Jun 15 uses #3
    //   ends_on corrected to Jun 11:          #3 no longer due -> revoked (grant_revoked);
    //   T's use returned (grant revoked) and served from the manual lifetime grant.
    //   ends_on corrected back to Jul 11:     #3 due again -> granted under ig:period:S:2026-06-11:2;
    //   T moves back to the time-limited grant (time-limited first).
    @Test("ends_on corrected earlier revokes the grant of the period no longer due; its ticket is served again from another grant")
    func endsOnCorrected() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let customer = try f.customer("Tailspin")
        let service = try f.incidentService(customer: customer, code: "incidents-10", startsOn: "2026-04-11", endsOn: "2026-07-11")
        try f.manualGrant(customer: customer, quantity: 1, validFrom: "2026-01-01", key: "staff:1")
        let ticket = try f.ticket(customer: customer, service: service, requiresIncident: true, openedAt: "2026-06-15T10:00:00Z")
        _ = try Self.run(database, asOf: "2026-06-20T00:00:00Z")
        #expect(try f.useLines(customer: customer) == ["ig:use:\(ticket):1 ticket \(ticket) -> ig:period:\(service):2026-06-11"])

        try db.execute("UPDATE services SET ends_on = '2026-06-11' WHERE id = $1", [service])
        let corrected = try Self.run(database, asOf: "2026-06-21T00:00:00Z")
        #expect(corrected.exitStatus == .success)
        #expect(try f.grantLines(customer: customer) == [
            "manual 2026-01-01..lifetime x1", "plan_period 2026-04-11..2026-05-11 x10", "plan_period 2026-05-11..2026-06-11 x10",
            "plan_period 2026-06-11..2026-07-11 x10 revoked",
        ])
        let revoked = try #require(corrected.output.records[.events]?.first { $0.fields["event"]?.stringValue == "grant_revoked" }?.fields)
        #expect(revoked["detail"]?["reason"]?.stringValue == "its period is no longer due under service \(service)'s corrected term or plan")
        #expect(revoked["detail"]?["used"] == 1)
        let returned = try #require(corrected.output.records[.events]?.first { $0.fields["event"]?.stringValue == "incident_returned" }?.fields)
        #expect(returned["detail"]?["reason"] == "grant revoked")
        #expect(try f.useLines(customer: customer) == [
            "ig:use:\(ticket):1 ticket \(ticket) -> ig:period:\(service):2026-06-11 returned", "ig:use:\(ticket):2 ticket \(ticket) -> staff:1",
        ])
        #expect(Self.emitted(try Self.run(database, asOf: "2026-06-21T00:00:00Z")).isEmpty)

        try db.execute("UPDATE services SET ends_on = '2026-07-11' WHERE id = $1", [service])
        let back = try Self.run(database, asOf: "2026-06-22T00:00:00Z")
        #expect((back.output.records[.grants] ?? []).map(\.sortKey) == ["ig:period:\(service):2026-06-11:2"])
        #expect(try f.useLines(customer: customer).last == "ig:use:\(ticket):3 ticket \(ticket) -> ig:period:\(service):2026-06-11:2")
        #expect(try f.incidentBalance(customer: customer, on: "2026-06-22") == [9, 1, 10])
        #expect(Self.emitted(try Self.run(database, asOf: "2026-06-22T00:00:00Z")).isEmpty)
    }

    //   monthly from Apr 11; starts_on corrected to Apr 15 (the anchor moves): every old period
    //   is off the anniversaries -> revoked; Apr 15, May 15, Jun 15 granted. A ticket on Apr 12
    //   is before the term now: its use is returned and it is listed (no incident available).
    //   Then the service is cancelled: every grant still due is revoked.
    @Test("starts_on corrected moves every period; a cancelled service's grants are revoked; tickets left without an incident are listed")
    func startsOnCorrectedAndCancelled() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let customer = try f.customer("Tailspin")
        let service = try f.incidentService(customer: customer, code: "incidents-2", incidents: 2, startsOn: "2026-04-11")
        let early = try f.ticket(customer: customer, service: service, requiresIncident: true, openedAt: "2026-04-12T10:00:00Z")
        _ = try Self.run(database, asOf: "2026-06-20T00:00:00Z")
        #expect(try f.grantLines(customer: customer).count == 3)

        try db.execute("UPDATE services SET starts_on = '2026-04-15' WHERE id = $1", [service])
        let moved = try Self.run(database, asOf: "2026-06-20T00:00:00Z")
        #expect(try f.grantLines(customer: customer) == [
            "plan_period 2026-04-11..2026-05-11 x2 revoked", "plan_period 2026-05-11..2026-06-11 x2 revoked",
            "plan_period 2026-06-11..2026-07-11 x2 revoked", "plan_period 2026-04-15..2026-05-15 x2",
            "plan_period 2026-05-15..2026-06-15 x2", "plan_period 2026-06-15..2026-07-15 x2",
        ])
        #expect(moved.output.counts["revoked"] == 3 && moved.output.counts["returned"] == 1)
        #expect(moved.output.counts["unserved_tickets"] == 1)
        #expect(moved.output.notices.contains { $0.contains("no incident available for ticket \(early) (opened 2026-04-12)") })
        #expect(Self.emitted(try Self.run(database, asOf: "2026-06-20T00:00:00Z")).isEmpty)

        try db.execute("UPDATE services SET status = 'cancelled' WHERE id = $1", [service])
        let cancelled = try Self.run(database, asOf: "2026-06-21T00:00:00Z")
        #expect(cancelled.output.counts["revoked"] == 3)
        #expect(try f.incidentBalance(customer: customer, on: "2026-06-21") == [0, 0, 0])
        let reason = try #require(cancelled.output.records[.events]?.first?.fields["detail"]?["reason"]?.stringValue)
        #expect(reason == "service \(service) is no longer an active service on an incidents plan")
    }

    //   a lifetime grant of 1; ticket T (Mar 3) uses it. T re-dated to Mar 5: the use carries the
    //   moment it was made for (used_at = opened_at), so it is returned and made again for Mar 5.
    //   T re-dated before the grant (Feb 1, grant valid from Mar 1): returned, T listed.
    @Test("a re-dated ticket's use is made again for its new opening; before every grant it is returned and the ticket listed")
    func reDatedTicket() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let customer = try f.customer("Contoso")
        try f.manualGrant(customer: customer, quantity: 1, validFrom: "2026-03-01", key: "staff:1")
        let ticket = try f.ticket(customer: customer, requiresIncident: true, openedAt: "2026-03-03T10:00:00Z")
        _ = try Self.run(database, asOf: "2026-03-10T00:00:00Z")
        try db.execute("UPDATE tickets SET opened_at = '2026-03-05T10:00:00Z' WHERE id = $1", [ticket])
        let moved = try Self.run(database, asOf: "2026-03-11T00:00:00Z")
        #expect(moved.output.records[.events]?.first?.fields["detail"]?["reason"]?.stringValue == "the ticket's opened_at changed")
        #expect(try db.query("SELECT used_at FROM incident_uses WHERE source_key = $1", ["ig:use:\(ticket):2"]).scalar(Instant.self)
                == (try Instant(rfc3339: "2026-03-05T10:00:00Z")))
        #expect(Self.emitted(try Self.run(database, asOf: "2026-03-11T00:00:00Z")).isEmpty)

        try db.execute("UPDATE tickets SET opened_at = '2026-02-01T10:00:00Z' WHERE id = $1", [ticket])
        let early = try Self.run(database, asOf: "2026-03-12T00:00:00Z")
        #expect(early.output.counts["returned"] == 1 && early.output.counts["uses"] == nil)
        #expect(early.output.counts["unserved_tickets"] == 1)
        #expect(try f.incidentBalance(customer: customer, on: "2026-03-12") == [0, 1, 1])
    }

    // docs/design.md §3: stored ends are exclusive; the text report prints the inclusive end.
    @Test("the text report prints a grant's inclusive end (valid_through = valid_until - 1 day)")
    func textReportInclusiveEnd() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let customer = try f.customer("Tailspin")
        let service = try f.incidentService(customer: customer, code: "incidents-10", startsOn: "2026-04-11", endsOn: "2026-05-11")
        let text = TextReport.render(try Self.run(database, asOf: "2026-04-20T00:00:00Z"))
        #expect(text.contains("source plan_period  quantity 10  lifetime false  valid_from 2026-04-11  valid_through 2026-05-10  source_key ig:period:\(service):2026-04-11"))
        #expect(!text.contains("2026-05-11"))
    }
}
