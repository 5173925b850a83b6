import BillingCore
import BillingJobs
import BillingStore
import Foundation
import Postgres
import TestSupport
import Testing

/// Convergence of incident-grants (docs/design.md §9), on a real database: a seeded random sequence
/// of input edits (tickets inserted, re-dated, deleted, requiring an incident or not; service
/// terms, status corrected; funds payments added, reversed, deleted) interleaved with runs at
/// increasing as-of ends in the same net state as ONE clean run over the final inputs on a
/// fresh database with the same edits and no runs:
///
///   - the active grants (source, validity, quantity);
///   - incidents available per customer and date (`incident_balance`, weekly);
///   - uses per ticket (which tickets hold an incident);
///
/// and a further run emits nothing. Replay a failure with the seed it prints:
///
///     SUPPORTBILL_PROPERTY_SEED=<seed> swift test --filter IncidentGrantsConvergencePropertyTests
///
/// `SUPPORTBILL_PROPERTY_CASES` sets the number of cases (default 2: each case is two databases
/// and about eight runs; CI explores new seeds on every run).
@Suite("property: incident-grants converges on corrected tickets, service terms and payments")
struct IncidentGrantsConvergencePropertyTests {
    struct Edit: CustomStringConvertible {
        let sql: String
        let binds: [any PostgresEncodable]
        var description: String { "\(sql) \(binds.map { "\($0)" })" }
    }

    struct World {
        var customers: [Int64] = []
        var services: [(id: Int64, customer: Int64)] = []
        var tickets: [(id: Int64, customer: Int64, service: Int64?)] = []
        var payments: [(id: Int64, customer: Int64)] = []
        var nextID: Int64 = 1000
    }

    static var parameters: IncidentGrantsParameters {
        var parameters = IncidentGrantsParameters()
        parameters.onFirstPayment = 1
        parameters.fundsIncidents = 1
        parameters.fundsStep = [try! CurrencyCode("USD"): 5000]
        return parameters
    }

    static func setUp(_ db: PostgresConnection) throws -> World {
        let f = Fixtures(db)
        var world = World()
        let c1 = try f.customer("Tailspin")
        let c2 = try f.customer("Adventure Works")
        world.customers = [c1, c2]
        //   c1: 2 incidents a month from Jan 10; c2: 3 lifetime incidents from Jan 5 and 1 a quarter from Feb 1
        world.services = [
            (try f.incidentService(customer: c1, code: "monthly-2", incidents: 2, startsOn: "2026-01-10"), c1),
            (try f.incidentService(customer: c2, code: "lifetime-3", periodMonths: 0, incidents: 3, startsOn: "2026-01-05"), c2),
            (try f.incidentService(customer: c2, code: "quarterly-1", periodMonths: 3, incidents: 1, startsOn: "2026-02-01"), c2),
        ]
        return world
    }

    static func instant(_ numbers: inout SeededNumbers) -> String {
        let date = try! LocalDate("2026-01-01").adding(days: numbers.next(in: 0...110))
        return "\(date)T\(String(format: "%02d", numbers.next(in: 6...18))):00:00Z"
    }

    static func date(_ numbers: inout SeededNumbers, from: String, days: ClosedRange<Int>) -> String {
        "\(try! LocalDate(from).adding(days: numbers.next(in: days)))"
    }

    static func edit(_ world: inout World, _ numbers: inout SeededNumbers) -> Edit {
        let choice = world.tickets.isEmpty ? 0 : numbers.next(in: 0...11)
        switch choice {
        case 0, 1, 2:
            world.nextID += 1
            let customer = numbers.pick(world.customers)
            let service = numbers.chance(50) ? world.services.first { $0.customer == customer }?.id : nil
            world.tickets.append((world.nextID, customer, service))
            return Edit(sql: "INSERT INTO tickets (id, customer_id, service_id, subject, requires_incident, opened_at) VALUES ($1, $2, $3, 'T', true, $4::timestamptz)",
                        binds: [world.nextID, customer, service, instant(&numbers)])
        case 3:
            return Edit(sql: "UPDATE tickets SET requires_incident = NOT requires_incident WHERE id = $1", binds: [numbers.pick(world.tickets).id])
        case 4:
            return Edit(sql: "UPDATE tickets SET opened_at = $2::timestamptz WHERE id = $1", binds: [numbers.pick(world.tickets).id, instant(&numbers)])
        case 5:
            let ticket = world.tickets.remove(at: numbers.next(in: 0...(world.tickets.count - 1)))
            return Edit(sql: "DELETE FROM tickets WHERE id = $1", binds: [ticket.id])
        case 6, 7:
            let service = numbers.pick(world.services)
            if numbers.chance(50) {
                return Edit(sql: "UPDATE services SET starts_on = $2::date, ends_on = NULL WHERE id = $1",
                            binds: [service.id, date(&numbers, from: "2026-01-01", days: 0...60)])
            }
            return Edit(sql: "UPDATE services SET ends_on = CASE WHEN $2::date > starts_on THEN $2::date END WHERE id = $1",
                        binds: [service.id, date(&numbers, from: "2026-01-15", days: 0...90)])
        case 8:
            return Edit(sql: "UPDATE services SET status = CASE WHEN status = 'active' THEN 'cancelled' ELSE 'active' END WHERE id = $1",
                        binds: [numbers.pick(world.services).id])
        case 9, 10:
            world.nextID += 1
            let customer = numbers.pick(world.customers)
            world.payments.append((world.nextID, customer))
            return Edit(sql: "INSERT INTO payments (id, customer_id, amount, currency, received_at, status) VALUES ($1, $2, $3, 'USD', $4::timestamptz, 'completed')",
                        binds: [world.nextID, customer, Int64(numbers.next(in: 1...12)) * 1000, instant(&numbers)])
        default:
            guard !world.payments.isEmpty else { return Edit(sql: "SELECT 1", binds: []) }
            let index = numbers.next(in: 0...(world.payments.count - 1))
            if numbers.chance(50) {
                return Edit(sql: "UPDATE payments SET status = CASE WHEN status = 'completed' THEN 'reversed' ELSE 'completed' END WHERE id = $1",
                            binds: [world.payments[index].id])
            }
            let payment = world.payments.remove(at: index)
            return Edit(sql: "DELETE FROM payments WHERE id = $1", binds: [payment.id])
        }
    }

    static func state(_ db: PostgresConnection, _ world: World) throws -> [String] {
        let grants = try db.query("""
            SELECT customer_id, source, valid_from::text, coalesce(valid_until::text, '-'), quantity FROM incident_grants
             WHERE revoked_at IS NULL ORDER BY 1, 2, 3, 4, 5
            """).map { "grant c\(try $0.decode(0, as: Int64.self)) \(try $0.decode(1, as: String.self)) \(try $0.decode(2, as: String.self))..\(try $0.decode(3, as: String.self)) x\(try $0.decode(4, as: Int.self))" }
        let uses = try db.query("""
            SELECT ticket_id, count(*) FROM incident_uses WHERE returned_at IS NULL GROUP BY ticket_id ORDER BY 1
            """).map { "ticket \(try $0.decode(0, as: Int64.self)) holds \(try $0.decode(1, as: Int64.self))" }
        var available: [String] = []
        let f = Fixtures(db)
        for customer in world.customers {
            for week in 0...17 {
                let day = try LocalDate("2026-01-01").adding(days: week * 7)
                available.append("c\(customer) \(day) \(try f.incidentBalance(customer: customer, on: "\(day)"))")
            }
        }
        return grants + uses + available
    }

    static func emitted(_ report: JobReport) -> [String: Int] {
        report.output.counts.filter { !["customers", "unserved_tickets"].contains($0.key) }
    }

    static func run(_ database: TestDatabase, _ job: IncidentGrantsJob, asOf: String) throws -> JobReport {
        JobRunner(target: database.target).run(job, JobRunRequest(asOf: try Instant(rfc3339: asOf), invokedBy: "test"))
    }

    static func check(seed: UInt64, job: IncidentGrantsJob) throws -> String? {
        let incremental = try TestCluster.makeDatabase()
        defer { incremental.drop() }
        let clean = try TestCluster.makeDatabase()
        defer { clean.drop() }
        let a = try incremental.connect()
        defer { a.close() }
        let b = try clean.connect()
        defer { b.close() }
        var world = try setUp(a)
        _ = try setUp(b)

        var numbers = SeededNumbers(seed: seed)
        var asOf = try LocalDate("2026-01-06")
        var story: [String] = []
        for _ in 0..<8 {
            for _ in 0..<numbers.next(in: 1...3) {
                let edit = edit(&world, &numbers)
                _ = try a.execute(edit.sql, edit.binds)
                _ = try b.execute(edit.sql, edit.binds)
                story.append(edit.description)
            }
            if numbers.chance(70) {
                asOf = asOf.adding(days: numbers.next(in: 3...15))
                let report = try run(incremental, job, asOf: "\(asOf)T12:00:00Z")
                guard report.exitStatus == .success else { return "run at \(asOf) ended \(report.exitStatus): \(report.output.skipped)" }
                story.append("run \(asOf)")
            }
        }
        let final = "2026-05-01T12:00:00Z"
        _ = try run(incremental, job, asOf: final)
        let again = try run(incremental, job, asOf: final)
        let once = try run(clean, job, asOf: final)
        guard once.exitStatus == .success else { return "clean run ended \(once.exitStatus)" }
        let left = emitted(again)
        if !left.isEmpty { return "a further run emitted \(left) after: \(story.joined(separator: "; "))" }
        let (mine, theirs) = (try state(a, world), try state(b, world))
        if mine != theirs {
            return "incremental \(mine.filter { !theirs.contains($0) }) vs clean \(theirs.filter { !mine.contains($0) }) after: \(story.joined(separator: "; "))"
        }
        return nil
    }

    static var cases: Int { ProcessInfo.processInfo.environment["SUPPORTBILL_PROPERTY_CASES"].flatMap(Int.init) ?? 2 }

    @Test("edits interleaved with runs end where one clean run over the final inputs ends, and a further run emits nothing")
    func converges() throws {
        let base = SeededNumbers.seed(from: "SUPPORTBILL_PROPERTY_SEED")
        for index in 0..<Self.cases {
            let seed = base &+ UInt64(index)
            if let counterexample = try Self.check(seed: seed, job: IncidentGrantsJob(parameters: Self.parameters)) {
                Issue.record("incident-grants does not converge for seed \(seed) (replay: SUPPORTBILL_PROPERTY_SEED=\(seed)): \(counterexample)")
                return
            }
        }
    }

    // The property is not vacuous: with the revocation of grants no longer due switched off, a
    // counterexample is found among a few fixed seeds.
    @Test("without revoking grants no longer due the property finds a counterexample")
    func failsWithoutRevocation() throws {
        let broken = IncidentGrantsJob(parameters: Self.parameters, corrections: [])
        var found: String?
        for seed in UInt64(1)...6 where found == nil {
            found = try Self.check(seed: seed, job: broken)
        }
        #expect(found != nil, "no counterexample without revocations: the property would not notice them missing")
    }
}
