import BillingCore
import BillingJobs
import BillingStore
import Foundation
import Postgres
import TestSupport
import Testing

/// Convergence of contract-expiry-rollover (docs/design.md §9), on a real database (`expired_time`
/// rollover for even seeds, ignore for odd ones): a seeded random sequence of input edits (insert, edit, re-date, withdraw, delete and move time entries;
/// correct a contract's ends_on or minutes_total) interleaved with runs at increasing as-of ends
/// in the same net state as ONE clean run over the final inputs on a fresh database with the
/// same edits and no runs:
///
///   - net minutes per (entry, contract, outcome), so contract minutes used per contract;
///   - contract status;
///   - per-incident money per customer, currency and month, net of offsets;
///
/// and a further run emits nothing. Replay a failure with the seed it prints:
///
///     SUPPORTBILL_PROPERTY_SEED=<seed> swift test --filter ContractConvergencePropertyTests
///
/// `SUPPORTBILL_PROPERTY_CASES` sets the number of cases (default 2: each case is two databases
/// and about eight runs).
@Suite("property: contract-expiry-rollover converges on corrected entries and contract terms")
struct ContractConvergencePropertyTests {
    /// One statement applied to both databases.
    struct Edit: CustomStringConvertible {
        let sql: String
        let binds: [any PostgresEncodable]
        var description: String { "\(sql) \(binds.map { "\($0)" })" }
    }

    /// The inputs the edits act on (ids are equal in both databases: same inserts, same order).
    struct World {
        var customers: [Int64] = []
        var tickets: [Int64: [Int64]] = [:]
        var entries: [(id: Int64, customer: Int64)] = []
        var contracts: [(id: Int64, kind: String)] = []
    }

    static func setUp(_ db: PostgresConnection) throws -> World {
        let f = Fixtures(db)
        var world = World()
        let unit = try f.orgUnit("Group")
        let c1 = try f.customer("Litware", orgUnitID: unit)
        let c2 = try f.customer("Contoso", orgUnitID: unit)
        let c3 = try f.customer("Fabrikam") // no contract: per incident
        world.customers = [c1, c2, c3]
        let item = try f.item("Mail", customer: c1)
        //   K1 support_hours  c1     [Jan 1, Mar 1)  300 min   active
        //   K2 time_limited   item   [Jan 15, Apr 1) 240 min   pending
        //   K3 subscription   c2     [Jan 1, Feb 15) unlimited active
        //   K4 support_hours  c2     from Feb 20      600 min  pending
        //   K5 support_hours  org unit of c1 and c2, from Jan 1, 240 min, active (shared; one
        //      batch plans both customers in id order, as a clean run does)
        world.contracts = [
            (try f.contract(kind: "support_hours", customer: c1, startsOn: "2026-01-01", endsOn: "2026-03-01", minutesTotal: 300, status: "active"), "support_hours"),
            (try f.contract(kind: "time_limited", item: item, startsOn: "2026-01-15", endsOn: "2026-04-01", minutesTotal: 240), "time_limited"),
            (try f.contract(kind: "subscription", customer: c2, startsOn: "2026-01-01", endsOn: "2026-02-15", status: "active"), "subscription"),
            (try f.contract(kind: "support_hours", customer: c2, startsOn: "2026-02-20", minutesTotal: 600), "support_hours"),
            (try f.contract(kind: "support_hours", orgUnit: unit, startsOn: "2026-01-01", minutesTotal: 240, status: "active"), "support_hours"),
        ]
        world.tickets[c1] = [try f.ticket(customer: c1, subject: "Web", openedAt: "2026-01-02T08:00:00Z"),
                             try f.ticket(customer: c1, item: item, subject: "Mail", openedAt: "2026-01-03T08:00:00Z"),
                             try f.ticket(customer: c1, subject: "DNS", openedAt: "2026-02-03T08:00:00Z")]
        world.tickets[c2] = [try f.ticket(customer: c2, subject: "VPN", openedAt: "2026-01-02T08:00:00Z"),
                             try f.ticket(customer: c2, subject: "Backup", openedAt: "2026-02-21T08:00:00Z")]
        world.tickets[c3] = [try f.ticket(customer: c3, subject: "Printer", openedAt: "2026-01-05T08:00:00Z"),
                             try f.ticket(customer: c3, subject: "Laptop", openedAt: "2026-02-05T08:00:00Z")]
        return world
    }

    static func day(_ numbers: inout SeededNumbers) -> String {
        let date = try! LocalDate("2026-01-01").adding(days: numbers.next(in: 0...89))
        return "\(date)T\(String(format: "%02d", numbers.next(in: 6...18))):00:00Z"
    }

    /// One random edit, applied to `world` as the databases will see it.
    static func edit(_ world: inout World, _ numbers: inout SeededNumbers, db: PostgresConnection) throws -> Edit {
        let choice = world.entries.isEmpty ? 0 : numbers.next(in: 0...9)
        switch choice {
        case 0, 1, 2:
            let customer = numbers.pick(world.customers)
            let ticket = numbers.pick(world.tickets[customer]!)
            // Ids are given, so both databases hold the same ones.
            let next = (world.entries.map(\.id).max() ?? 999) + 1
            world.entries.append((next, customer))
            return Edit(sql: "INSERT INTO time_entries (id, customer_id, ticket_id, worked_at, minutes) VALUES ($1, $2, $3, $4::timestamptz, $5)",
                        binds: [next, customer, ticket, day(&numbers), numbers.next(in: 1...16) * 15])
        case 3:
            return Edit(sql: "UPDATE time_entries SET minutes = $2 WHERE id = $1", binds: [numbers.pick(world.entries).id, numbers.next(in: 1...16) * 15])
        case 4:
            return Edit(sql: "UPDATE time_entries SET worked_at = $2::timestamptz WHERE id = $1", binds: [numbers.pick(world.entries).id, day(&numbers)])
        case 5:
            return Edit(sql: "UPDATE time_entries SET billable = NOT billable WHERE id = $1", binds: [numbers.pick(world.entries).id])
        case 6:
            let index = numbers.next(in: 0...(world.entries.count - 1))
            let entry = world.entries.remove(at: index)
            return Edit(sql: "DELETE FROM time_entries WHERE id = $1", binds: [entry.id])
        case 7:
            let entry = numbers.pick(world.entries)
            return Edit(sql: "UPDATE time_entries SET ticket_id = $2 WHERE id = $1", binds: [entry.id, numbers.pick(world.tickets[entry.customer]!)])
        default:
            let contract = numbers.pick(world.contracts)
            if numbers.chance(50) {
                // ends_on: a date after every contract's start (a contract ending on or before
                // its start is a defect that skips its customers), or none where the kind allows it.
                let none = contract.kind != "time_limited" && numbers.chance(30)
                let end = try LocalDate("2026-02-21").adding(days: numbers.next(in: 0...60))
                return Edit(sql: "UPDATE contracts SET ends_on = $2::date WHERE id = $1", binds: [contract.id, none ? nil : "\(end)"])
            }
            let none = contract.kind == "subscription" && numbers.chance(30)
            return Edit(sql: "UPDATE contracts SET minutes_total = $2 WHERE id = $1", binds: [contract.id, none ? nil : numbers.next(in: 2...24) * 30])
        }
    }

    /// The net state the property compares.
    static func state(_ db: PostgresConnection) throws -> [String] {
        let f = Fixtures(db)
        let statuses = try db.query("SELECT id, status FROM contracts ORDER BY id").map { "contract \(try $0.decode(0, as: Int64.self)) \(try $0.decode(1, as: String.self))" }
        let used = try db.query("SELECT contract_id, minutes_used FROM contract_usage ORDER BY contract_id").map {
            "contract \(try $0.decode(0, as: Int64.self)) used \(try $0.decode(1, as: Int64.self))"
        }
        return try f.contractNetCharges() + statuses + used + f.perIncidentMoney().map { "per incident \($0)" }
    }

    /// What a run wrote (its counts, the runner's and the waiting time left out).
    static func emitted(_ report: JobReport) -> [String: Int] {
        report.output.counts.filter { !["customers", "minutes_waiting"].contains($0.key) }
    }

    /// One case: nil when the property holds, else the counterexample.
    static func check(seed: UInt64, job: ContractExpiryRolloverJob) throws -> String? {
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
        var asOf = try LocalDate("2026-01-05")
        var story: [String] = []
        for _ in 0..<8 {
            for _ in 0..<numbers.next(in: 1...3) {
                let edit = try edit(&world, &numbers, db: a)
                _ = try a.execute(edit.sql, edit.binds)
                _ = try b.execute(edit.sql, edit.binds)
                story.append(edit.description)
            }
            if numbers.chance(70) {
                asOf = asOf.adding(days: numbers.next(in: 3...15))
                let report = try ContractExpiryRolloverJobTests.run(incremental, job, asOf: "\(asOf)T12:00:00Z")
                guard report.exitStatus == .success else { return "run at \(asOf) ended \(report.exitStatus): \(report.output.skipped)" }
                story.append("run \(asOf)")
            }
        }
        let final = "2026-04-20T12:00:00Z"
        _ = try ContractExpiryRolloverJobTests.run(incremental, job, asOf: final)
        let again = try ContractExpiryRolloverJobTests.run(incremental, job, asOf: final)
        let once = try ContractExpiryRolloverJobTests.run(clean, job, asOf: final)
        guard once.exitStatus == .success else { return "clean run ended \(once.exitStatus)" }
        let left = emitted(again)
        if !left.isEmpty { return "a further run emitted \(left) after: \(story.joined(separator: "; "))" }
        let (mine, theirs) = (try state(a), try state(b))
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
            // Both expired_time rules, alternating by seed.
            let rule: ContractExpiryRolloverParameters.ExpiredTime = seed % 2 == 0 ? .rollover : .ignore
            if let counterexample = try Self.check(seed: seed, job: ContractExpiryRolloverJobTests.job(rule)) {
                Issue.record("contract-expiry-rollover does not converge for seed \(seed) (replay: SUPPORTBILL_PROPERTY_SEED=\(seed)): \(counterexample)")
                return
            }
        }
    }

    // The property is not vacuous: with returned minutes and offsets switched off, a
    // counterexample is found among a few fixed seeds.
    @Test("without its corrections (returned minutes, per-incident offsets) the property finds a counterexample")
    func failsWithoutCorrections() throws {
        let parameters = ContractExpiryRolloverJobTests.job().parameters
        let broken = ContractExpiryRolloverJob(parameters: parameters, corrections: [])
        var found: String?
        for seed in UInt64(1)...6 where found == nil {
            found = try Self.check(seed: seed, job: broken)
        }
        #expect(found != nil, "no counterexample without corrections: the property would not notice them missing")
    }
}
