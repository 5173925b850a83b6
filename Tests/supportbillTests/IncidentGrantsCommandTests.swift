import BillingCore
import Foundation
import Postgres
import TestSupport
import Testing

@Suite("supportbill run incident-grants and supportbill incidents on the command line")
struct IncidentGrantsCommandTests {
    /// A database with a lifetime pack of 5 (customer "Adventure Works") and a customer whose
    /// ticket names another customer's service (invalid).
    private func setUp() throws -> (TestDatabase, customer: Int64, broken: Int64, ticket: Int64) {
        let database = try TestCluster.makeDatabase()
        let db = try database.connect()
        defer { db.close() }
        let fixtures = Fixtures(db)
        let customer = try fixtures.customer("Adventure Works", timezone: "Pacific/Kiritimati")
        let service = try fixtures.incidentService(customer: customer, code: "incidents-life", periodMonths: 0, incidents: 5, startsOn: "2026-07-17")
        let ticket = try fixtures.ticket(customer: customer, service: service, requiresIncident: true, openedAt: "2026-10-08T20:00:00Z")
        let broken = try fixtures.customer("Broken")
        try fixtures.ticket(customer: broken, service: service, requiresIncident: true, openedAt: "2026-10-08T20:00:00Z")
        return (database, customer, broken, ticket)
    }

    @Test("run exits 0, 65 with a skipped customer, and a rerun emits nothing")
    func runExitCodes() throws {
        let (database, customer, broken, ticket) = try setUp()
        defer { database.drop() }
        let base = ["run", "incident-grants", "--database", database.conninfo, "--as-of", "2026-11-01T14:00:00Z"]

        let good = try ChildProcess.supportbill(base + ["--customer", String(customer), "--format", "json"])
        #expect(good.status == 0, "\(good.stderr)")
        let report = try JSONValue(parsing: good.stdout)
        #expect(report["counts"]?["grants"] == 1)
        #expect(report["counts"]?["uses"] == 1)
        let service = try #require(report["grants"]?.arrayValue?.first?["service_id"]?.intValue)
        #expect(report["grants"]?.arrayValue?.first?["source_key"] == .string("ig:plan-lifetime:\(service)"))
        #expect(report["uses"]?.arrayValue?.first?["source_key"] == .string("ig:use:\(ticket):1"))

        let partial = try ChildProcess.supportbill(base)
        #expect(partial.status == 65, "\(partial.stderr)")
        #expect(partial.stdout.contains("customer \(broken): ticket"))
        #expect(partial.stdout.contains("fix the ticket's service"))

        let rerun = try ChildProcess.supportbill(base + ["--customer", String(customer), "--format", "json"])
        #expect(rerun.status == 0)
        #expect(try JSONValue(parsing: rerun.stdout)["counts"] == .object([("customers", 0)]))

        let dry = try ChildProcess.supportbill(base + ["--customer", String(customer), "--dry-run"])
        #expect(dry.status == 0)
        #expect(dry.stdout.contains("dry run"))
        #expect(!dry.stdout.contains("Grants"))
    }

    @Test("a --jobs-dir file with an unknown key exits 64 naming the file and the key")
    func unknownKey() throws {
        let directory = NSTemporaryDirectory() + "/ig-jobs-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/incident-grants.toml"
        try "on_registration = 1\n[funds]\nstep = { USD = 5000 }\nincidents = 1\nper_payment = 2\n".write(toFile: file, atomically: true, encoding: .utf8)
        let result = try ChildProcess.supportbill(["run", "incident-grants", "--jobs-dir", directory, "--database", "host=/nonexistent"])
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains(file))
        #expect(result.stderr.contains("per_payment"))
    }

    @Test("supportbill incidents shows the available incidents as of a date, in text and json; an unknown customer exits 64")
    func incidents() throws {
        let (database, customer, _, ticket) = try setUp()
        defer { database.drop() }
        let run = try ChildProcess.supportbill(["run", "incident-grants", "--database", database.conninfo, "--as-of", "2026-11-01T14:00:00Z", "--customer", String(customer)])
        #expect(run.status == 0, "\(run.stderr)")
        let db = try database.connect()
        defer { db.close() }
        try Fixtures(db).manualGrant(customer: customer, quantity: 2, validFrom: "2026-10-01", validUntil: "2026-11-01", key: "staff:oct")
        try Fixtures(db).ticket(customer: customer, requiresIncident: true, openedAt: "2026-06-01T10:00:00Z")

        let text = try ChildProcess.supportbill(["incidents", "--customer", String(customer), "--as-of", "2026-10-20", "--database", database.conninfo])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("Adventure Works (customer \(customer)): incidents available on 2026-10-20 (Pacific/Kiritimati)"))
        #expect(text.stdout.contains("time-limited 2  ·  lifetime 4  ·  total 6"))
        #expect(text.stdout.contains("2026-10-01..2026-10-31"))
        #expect(text.stdout.contains("Tickets waiting for an incident: #"))

        let json = try ChildProcess.supportbill(["incidents", "--customer", String(customer), "--as-of", "2026-10-20", "--format", "json", "--database", database.conninfo])
        #expect(json.status == 0)
        let balance = try JSONValue(parsing: json.stdout)
        #expect(balance["time_limited"] == 2)
        #expect(balance["lifetime"] == 4)
        #expect(balance["total"] == 6)
        #expect(balance["grants"]?.arrayValue?.map { $0["source"]?.stringValue ?? "" } == ["manual", "plan_lifetime"])
        #expect(balance["grants"]?.arrayValue?.last?["used"] == 1)
        #expect(balance["waiting_tickets"]?.arrayValue?.count == 1)
        #expect(balance["waiting_tickets"]?.arrayValue?.first?.intValue != ticket)

        // An instant is turned into the customer's local date: Oct 31 10:00 UTC is Nov 1 in Kiritimati,
        // where the October grant has expired.
        let instant = try ChildProcess.supportbill(["incidents", "--customer", String(customer), "--as-of", "2026-10-31T10:00:00Z", "--format", "json", "--database", database.conninfo])
        #expect(try JSONValue(parsing: instant.stdout)["date"] == "2026-11-01")
        #expect(try JSONValue(parsing: instant.stdout)["total"] == 4)

        let unknown = try ChildProcess.supportbill(["incidents", "--customer", "999999", "--database", database.conninfo])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.contains("no such customer: 999999"))
        let badDate = try ChildProcess.supportbill(["incidents", "--customer", String(customer), "--as-of", "soon", "--database", database.conninfo])
        #expect(badDate.status == 64)
    }

    @Test("the demo grants Tailspin's pack and Adventure Works' lifetime incidents, consumes them, and returns one")
    func demo() throws {
        let temporary = NSTemporaryDirectory() + "/ig-demo-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: temporary) }
        let result = try ChildProcess.supportbill(["demo", "--month", "2026-10"], environment: ["TMPDIR": temporary])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("source plan_period  quantity 10  lifetime false  valid_from 2026-10-11  valid_through 2026-11-10  source_key ig:period:4:2026-10-11"))
        #expect(result.stdout.contains("source plan_lifetime  quantity 5  lifetime true  valid_from 2026-07-17  source_key ig:plan-lifetime:9"))
        #expect(result.stdout.contains("grants 2  ·  incidents_granted 15  ·  unserved_tickets 1  ·  uses 5"))
        #expect(result.stdout.contains("event incident_returned"))
        #expect(result.stdout.contains("customer 4 (Tailspin Apps): no incident available for ticket"))
    }
}
