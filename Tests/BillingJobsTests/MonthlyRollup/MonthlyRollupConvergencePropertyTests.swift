import BillingCore
import BillingJobs
import BillingStore
import Foundation
import Postgres
import TestSupport
import Testing

/// Convergence of monthly-rollup (docs/design.md §9) on a real database: a seeded random sequence of
/// input corrections interleaved with runs at increasing as-of instants (some with `--period`)
/// ends, once the late months the notices name are run as they say, in the same net money per
/// customer, currency and month (every item of every rollup invoice, originals and adjustments)
/// as ONE clean run over the final inputs on a fresh copy; and a further run emits nothing.
///
///   data:   Mar..Jun: other jobs' items (+/-49.00)   Jul..Oct: services, time entries
///   runs:   Sep 1 ──── as-of increasing, lookback 3 ──── Nov 2 14:00Z (window Aug..Oct)
///           then the notices' `--period M --customer C` for July (late entries), then a rerun
///   clean:  a copy of the same inputs, one run at Nov 2 with a window of 12 months
///
/// The corrections: insert, edit, re-date (across months), withdraw, restore, delete and move
/// time entries; correct a service's starts_on (within its month), ends_on, status and plan
/// (between plans of equal fees: see docs/jobs/monthly-rollup.md, "When the past changes", for
/// the corrections that keep the terms issued); uninvoiced items appearing for old months.
///
/// `SUPPORTBILL_PROPERTY_SEED=<seed>` replays a failure; each run draws a new seed otherwise.
@Suite("monthly-rollup converges: corrections and runs end where one clean run does")
struct MonthlyRollupConvergencePropertyTests {
    static let zones = ["UTC", "America/Los_Angeles", "Pacific/Kiritimati", "Europe/Berlin"]
    static let finalAsOf = try! Instant(rfc3339: "2026-11-02T14:00:00Z")

    /// One input correction or run, described for the failure message.
    enum Step: CustomStringConvertible {
        case insertEntry(customer: Int64, ticket: Int64, at: String, minutes: Int)
        case editMinutes(entry: Int64, minutes: Int)
        case redate(entry: Int64, at: String)
        case billable(entry: Int64, Bool)
        case delete(entry: Int64)
        case move(entry: Int64, ticket: Int64)
        case startsOn(service: Int64, String)
        case term(service: Int64, endsOn: String?, status: String)
        case plan(service: Int64, plan: Int64)
        case oldItem(customer: Int64, month: String, amount: Int64, key: String)
        case run(asOf: String, period: String?)

        var description: String {
            switch self {
            case .insertEntry(let c, let t, let at, let m): return "insert entry (customer \(c), ticket \(t), \(at), \(m) min)"
            case .editMinutes(let e, let m): return "entry \(e): minutes \(m)"
            case .redate(let e, let at): return "entry \(e): worked_at \(at)"
            case .billable(let e, let b): return "entry \(e): billable \(b)"
            case .delete(let e): return "delete entry \(e)"
            case .move(let e, let t): return "entry \(e): ticket \(t)"
            case .startsOn(let s, let d): return "service \(s): starts_on \(d)"
            case .term(let s, let e, let st): return "service \(s): ends_on \(e ?? "NULL"), \(st)"
            case .plan(let s, let p): return "service \(s): plan \(p)"
            case .oldItem(let c, let m, let a, _): return "uninvoiced item (customer \(c), \(m), \(a))"
            case .run(let at, let p): return "run as of \(at)" + (p.map { " --period \($0)" } ?? "")
            }
        }
    }

    struct World {
        var customers: [Int64] = []
        var tickets: [Int64: [Int64]] = [:]          // customer -> tickets
        var services: [(id: Int64, customer: Int64, plan: Int64, month: String)] = []
        var entries: [(id: Int64, customer: Int64)] = []
        var plans: [String: Int64] = [:]
        /// A post-paid service every sequence has: customer 0's, from Aug 5, and its ticket.
        var fixed: (customer: Int64, ticket: Int64) = (0, 0)
    }

    /// Builds the catalogue, customers, services, tickets and entries of Jul..Oct in `db`.
    static func build(_ db: PostgresConnection, _ random: inout SeededNumbers) throws -> World {
        let f = Fixtures(db)
        var world = World()
        let bundle = try f.plan("bundle", billing: "metered", includedMinutes: 60)
        try f.price(plan: bundle, recurringFee: 20000, hourlyRate: 6001)
        let postpaid = try f.plan("postpaid", billing: "metered", incrementMinutes: 6)
        try f.price(plan: postpaid, setupFee: 3000, hourlyRate: 777)
        let flat = try f.plan("flat", billing: "recurring", billInAdvance: true)
        try f.price(plan: flat, recurringFee: 4900)
        let pack = try f.plan("pack", billing: "incidents", billInAdvance: true, incidentsPerPeriod: 5)
        try f.price(plan: pack, recurringFee: 4900)
        let retainer = try f.plan("retainer", billing: "recurring", periodMonths: 3)
        try f.price(plan: retainer, recurringFee: 45000)
        world.plans = ["bundle": bundle, "postpaid": postpaid, "flat": flat, "pack": pack, "retainer": retainer]
        let kinds = [bundle, postpaid, flat, pack, retainer]
        for c in 0..<6 {
            let customer = try f.customer("Customer \(c)", timezone: random.pick(zones))
            world.customers.append(customer)
            for _ in 0..<random.next(in: 1...2) {
                let plan = random.pick(kinds)
                let month = random.pick(["2026-07", "2026-08", "2026-09", "2026-10"])
                let service = try f.service(customer: customer, plan: plan, startsOn: "\(month)-\(String(format: "%02d", random.next(in: 1...28)))")
                world.services.append((service, customer, plan, month))
                let ticket = try f.ticket(customer: customer, service: service, openedAt: "2026-06-20T00:00:00Z")
                world.tickets[customer, default: []].append(ticket)
            }
            for _ in 0..<random.next(in: 2...6) {
                let ticket = random.pick(world.tickets[customer] ?? [])
                let id = try f.entry(customer: customer, ticket: ticket, workedAt: randomInstant(&random), minutes: random.next(in: 1...200))
                world.entries.append((id, customer))
            }
        }
        let fixed = try f.service(customer: world.customers[0], plan: postpaid, startsOn: "2026-08-05")
        world.services.append((fixed, world.customers[0], postpaid, "2026-08"))
        world.fixed = (world.customers[0], try f.ticket(customer: world.customers[0], service: fixed, openedAt: "2026-06-20T00:00:00Z"))
        world.tickets[world.customers[0], default: []].append(world.fixed.ticket)
        return world
    }

    static func randomInstant(_ random: inout SeededNumbers) -> String {
        // Jul 1 .. Oct 31 (UTC), a fifth of them within 14 hours of a month boundary.
        if random.chance(20) {
            let edge = random.pick(["2026-08-01", "2026-09-01", "2026-10-01"])
            let seconds = (try! Instant(rfc3339: edge + "T00:00:00Z")).secondsSinceEpoch + Int64(random.next(in: -14 * 3600...14 * 3600))
            return Instant(secondsSinceEpoch: seconds).description
        }
        return String(format: "2026-%02d-%02dT%02d:%02d:00Z", random.next(in: 7...10), random.next(in: 1...30), random.next(in: 0...23), random.next(in: 0...59))
    }

    /// The random corrections and runs. Entry ids are predicted: both databases insert the same
    /// inputs in the same order (checked as they are applied).
    static func steps(_ world: inout World, _ random: inout SeededNumbers, firstEntryID: Int64) -> [Step] {
        var steps: [Step] = []
        var nextEntry = firstEntryID
        var asOf = try! Instant(rfc3339: "2026-09-01T14:00:00Z").secondsSinceEpoch
        var itemCount = 0
        let final = finalAsOf.secondsSinceEpoch
        while asOf < final {
            for _ in 0..<random.next(in: 1...5) {
                let customer = random.pick(world.customers)
                let own = world.entries.filter { $0.customer == customer }.map(\.id)
                switch random.next(in: 0...11) {
                case 0, 1:
                    let ticket = random.pick(world.tickets[customer] ?? [])
                    steps.append(.insertEntry(customer: customer, ticket: ticket, at: randomInstant(&random), minutes: random.next(in: 1...200)))
                    world.entries.append((nextEntry, customer))
                    nextEntry += 1
                case 2 where !own.isEmpty: steps.append(.editMinutes(entry: random.pick(own), minutes: random.next(in: 1...200)))
                case 3 where !own.isEmpty: steps.append(.redate(entry: random.pick(own), at: randomInstant(&random)))
                case 4 where !own.isEmpty: steps.append(.billable(entry: random.pick(own), random.chance(50)))
                case 5 where !own.isEmpty:
                    let entry = random.pick(own)
                    steps.append(.delete(entry: entry))
                    world.entries.removeAll { $0.id == entry }
                case 6 where !own.isEmpty: steps.append(.move(entry: random.pick(own), ticket: random.pick(world.tickets[customer] ?? [])))
                case 7:
                    let service = random.pick(world.services)
                    steps.append(.startsOn(service: service.id, "\(service.month)-\(String(format: "%02d", random.next(in: 1...28)))"))
                case 8:
                    let service = random.pick(world.services)
                    if random.chance(50) {
                        // After the month of starts_on (which stays within its month): a valid term.
                        let first = (Int(service.month.suffix(2)) ?? 7) + 1
                        let ends = String(format: "2026-%02d-%02d", random.next(in: first...12), random.next(in: 1...28))
                        steps.append(.term(service: service.id, endsOn: ends, status: random.pick(["active", "cancelled"])))
                    } else {
                        steps.append(.term(service: service.id, endsOn: nil, status: random.pick(["active", "suspended"])))
                    }
                case 9:
                    // Between the two plans of equal fees: flat (recurring) and pack (incidents).
                    let swappable = world.services.filter { $0.plan == world.plans["flat"] || $0.plan == world.plans["pack"] }
                    guard let service = swappable.isEmpty ? nil : random.pick(swappable) else { continue }
                    steps.append(.plan(service: service.id, plan: random.pick([world.plans["flat"]!, world.plans["pack"]!])))
                default:
                    itemCount += 1
                    let month = String(format: "2026-%02d", random.next(in: 3...10))
                    steps.append(.oldItem(customer: customer, month: month, amount: random.chance(30) ? -4900 : 4900, key: "ce:prop:\(itemCount)"))
                }
            }
            asOf = min(final, asOf + Int64(random.next(in: 2...14)) * 86_400)
            let month = Instant(secondsSinceEpoch: asOf).utcDate.yearMonth
            let period = random.chance(25) ? month.adding(months: -random.next(in: 1...3)).description : nil
            steps.append(.run(asOf: Instant(secondsSinceEpoch: asOf).description, period: period))
        }
        // Every sequence holds an item of a month before every window, and a late entry in a
        // month issued by then (September, issued by the runs from Oct 1).
        steps.insert(.oldItem(customer: world.customers[0], month: "2026-04", amount: 4900, key: "ce:prop:0"), at: 0)
        steps.append(.insertEntry(customer: world.fixed.customer, ticket: world.fixed.ticket, at: "2026-09-15T12:00:00Z", minutes: 120))
        world.entries.append((nextEntry, world.fixed.customer))
        steps.append(.run(asOf: finalAsOf.description, period: nil))
        return steps
    }

    static func apply(_ step: Step, _ db: PostgresConnection) throws -> Int64? {
        let f = Fixtures(db)
        switch step {
        case .insertEntry(let c, let t, let at, let m): return try f.entry(customer: c, ticket: t, workedAt: at, minutes: m)
        case .editMinutes(let e, let m): try db.execute("UPDATE time_entries SET minutes = $2 WHERE id = $1", [e, m])
        case .redate(let e, let at): try db.execute("UPDATE time_entries SET worked_at = $2::timestamptz WHERE id = $1", [e, at])
        case .billable(let e, let b): try db.execute("UPDATE time_entries SET billable = $2 WHERE id = $1", [e, b])
        case .delete(let e): try db.execute("DELETE FROM time_entries WHERE id = $1", [e])
        case .move(let e, let t): try db.execute("UPDATE time_entries SET ticket_id = $2 WHERE id = $1", [e, t])
        case .startsOn(let s, let d): try db.execute("UPDATE services SET starts_on = $2::date WHERE id = $1", [s, d])
        case .term(let s, let e, let st): try db.execute("UPDATE services SET ends_on = $2::date, status = $3 WHERE id = $1", [s, e, st])
        case .plan(let s, let p): try db.execute("UPDATE services SET plan_id = $2 WHERE id = $1", [s, p])
        case .oldItem(let c, let m, let a, let key): try f.uninvoicedItem(customer: c, amount: a, month: m, sourceKey: key)
        case .run: break
        }
        return nil
    }

    static func run(_ database: TestDatabase, asOf: Instant, period: YearMonth?, customers: [Int64] = [], lookback: Int = 3, disabled: Set<MonthlyRollupPlanner.Correction>) -> JobReport {
        var parameters = MonthlyRollupParameters()
        parameters.lookbackMonths = lookback
        var job = MonthlyRollupJob(parameters: parameters)
        job.disabledCorrections = disabled
        return JobRunner(target: database.target).run(job, JobRunRequest(asOf: asOf, period: period, customers: customers, invokedBy: "property"))
    }

    /// Net money per customer, currency and month over every rollup invoice.
    static func net(_ db: PostgresConnection) throws -> [String: Int64] {
        var result: [String: Int64] = [:]
        for row in try db.query("""
            SELECT i.customer_id, i.currency, i.period_start, sum(b.amount)::bigint
              FROM invoices i JOIN billable_items b ON b.customer_id = i.customer_id AND b.invoice_id = i.id
             WHERE i.kind IN ('period', 'adjustment')
             GROUP BY 1, 2, 3 HAVING sum(b.amount) <> 0 ORDER BY 1, 2, 3
            """) {
            result["customer \(try row.decode(0, as: Int64.self)) \(try row.decode(1, as: String.self)) \(try row.decode(2, as: LocalDate.self).yearMonth)"] = try row.decode(3, as: Int64.self)
        }
        return result
    }

    /// Plays one seeded sequence; returns the differences from the clean run (empty: converged)
    /// and what the further run emitted.
    static func play(seed: UInt64, disabled: Set<MonthlyRollupPlanner.Correction> = []) throws -> (differences: [String], rerun: [String: Int], steps: [Step]) {
        var random = SeededNumbers(seed: seed)
        let template = try TestCluster.makeDatabase()
        defer { template.drop() }
        var world: World
        let firstEntry: Int64
        do {
            let db = try template.connect()
            defer { db.close() }
            world = try build(db, &random)
            firstEntry = (try db.query("SELECT COALESCE(max(id), 0) + 1 FROM time_entries").scalar(Int64.self)) ?? 1
        }
        let live = try template.copy(suffix: "live")
        defer { live.drop() }
        let clean = try template.copy(suffix: "clean")
        defer { clean.drop() }
        let steps = Self.steps(&world, &random, firstEntryID: firstEntry)

        let liveDB = try live.connect()
        defer { liveDB.close() }
        let cleanDB = try clean.connect()
        defer { cleanDB.close() }
        for step in steps {
            if case .run(let at, let period) = step {
                let report: JobReport = run(live, asOf: try Instant(rfc3339: at), period: try period.map { try YearMonth($0) }, disabled: disabled)
                guard report.exitStatus == .success else {
                    throw PostgresError.usage("\(step) ended \(report.exitStatus): \(report.error ?? "") \(report.output.skipped)")
                }
                continue
            }
            let a = try apply(step, liveDB)
            let b = try apply(step, cleanDB)
            if a != b { throw PostgresError.usage("\(step): the two databases assigned different ids \(a ?? 0) / \(b ?? 0)") }
        }
        // The timer's run of Nov 2, then what its notices say to run (late months before the window).
        let last = run(live, asOf: finalAsOf, period: nil, disabled: disabled)
        for notice in last.output.notices {
            guard let range = notice.range(of: "supportbill run monthly-rollup --period ") else { continue }
            let words = notice[range.upperBound...].split(whereSeparator: { $0 == " " || $0 == "`" })
            guard words.count >= 3, let month = try? YearMonth(String(words[0])), let customer = Int64(words[2]) else { continue }
            _ = run(live, asOf: finalAsOf, period: month, customers: [customer], disabled: disabled)
        }
        let rerun = run(live, asOf: finalAsOf, period: nil, disabled: disabled).output.counts.filter { $0.key != "customers" }

        let once = run(clean, asOf: finalAsOf, period: nil, lookback: 12, disabled: [])
        guard once.exitStatus == .success else { throw PostgresError.usage("the clean run ended \(once.exitStatus): \(once.output.skipped)") }
        let got = try net(liveDB)
        let want = try net(cleanDB)
        var differences: [String] = []
        for key in Set(got.keys).union(want.keys).sorted() where got[key] != want[key] {
            differences.append("\(key): \(got[key] ?? 0) after the sequence, \(want[key] ?? 0) by one clean run")
        }
        return (differences, rerun, steps)
    }

    @Test("seeded sequences of corrections and runs converge on one clean run; a further run emits nothing")
    func converges() throws {
        let seed = SeededNumbers.seed(from: "SUPPORTBILL_PROPERTY_SEED")
        for offset in 0..<UInt64(2) {
            let result = try Self.play(seed: seed &+ offset)
            #expect(result.differences.isEmpty, """
                seed \(seed &+ offset) (replay: SUPPORTBILL_PROPERTY_SEED=\(seed &+ offset)): \(result.differences.joined(separator: "; "))
                steps: \(result.steps.map { $0.description }.joined(separator: " | "))
                """)
            #expect(result.rerun.isEmpty, "seed \(seed &+ offset): the further run emitted \(result.rerun)")
        }
    }

    @Test("with a correction switched off the property finds a counterexample")
    func counterexample() throws {
        let seed = SeededNumbers.seed(from: "SUPPORTBILL_PROPERTY_SEED")
        // Without invoicing other jobs' items of months before the window, an item of March..June
        // is billed by the clean run (12 months) but never by the timer's runs (lookback 3).
        #expect(!(try Self.play(seed: seed, disabled: [.olderOpenItems]).differences.isEmpty),
                "seed \(seed): no counterexample with older_open_items disabled")
        // Without adjustment invoices for issued months, the late September entry every sequence
        // ends with is never billed.
        #expect(!(try Self.play(seed: seed, disabled: [.issuedMonths]).differences.isEmpty),
                "seed \(seed): no counterexample with issued_months disabled")
    }
}
