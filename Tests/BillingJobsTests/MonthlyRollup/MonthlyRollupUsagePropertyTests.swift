import BillingCore
import BillingJobs
import Foundation
import Postgres
import TestSupport
import Testing

/// The usage statement (SQL: local months, per-entry rounding, sums) against BillingCore's own
/// rules (Swift: `CustomerTimeZone.localDate`, `MoneyMath`), on random data in a real database.
/// BillingCore's properties prove the rules; this proves the SQL that applies them at scale
/// computes the same figures, in every time zone, around both ends of the month.
///
///   Sep 30        Oct 1 local                           Nov 1 local        Nov 2
///   ──┬─────────────┬──────────────── October ─────────────┬──────────────────┬──
///     entries drawn from here ...                  ... to here (UTC instants)
///   An entry at 23:30 on Oct 31 in Los Angeles is October's; in Kiritimati (UTC+14) an entry at
///   Oct 31 11:00Z is already November's; in Etc/GMT+12 (UTC−12) one at Nov 1 11:00Z is October's.
///
/// `SUPPORTBILL_PROPERTY_SEED=<seed>` replays a failure; each run draws a new seed otherwise.
@Suite("monthly-rollup's usage SQL equals BillingCore's rules on random data")
struct MonthlyRollupUsagePropertyTests {
    static let zones = ["UTC", "America/Los_Angeles", "Europe/London", "Pacific/Kiritimati", "Etc/GMT+12",
                        "Asia/Kathmandu", "Australia/Lord_Howe", "America/St_Johns", "Asia/Tokyo"]
    /// (increment, included minutes, USD rate per hour, JPY rate per hour): odd rates so that
    /// half-up rounding is exercised.
    static let plans: [(increment: Int, included: Int, usd: Int64, jpy: Int64)] = [
        (1, 0, 12_345, 999), (6, 60, 6_000, 9_000), (15, 120, 1, 1), (60, 45, 7_777, 12_345), (30, 0, 333, 77),
    ]

    @Test("every metered service's October usage item: minutes, billed hours and amount as BillingCore computes them; a rerun changes nothing")
    func usageMatches() throws {
        let seed = SeededNumbers.seed(from: "SUPPORTBILL_PROPERTY_SEED")
        var random = SeededNumbers(seed: seed)
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)

        var planIDs: [Int64] = []
        for (index, plan) in Self.plans.enumerated() {
            let id = try f.plan("metered-\(index)", billing: "metered", includedMinutes: plan.included, incrementMinutes: plan.increment)
            // A fee, so every customer's month has an invoice and its usage item is written.
            try f.price(plan: id, currency: "USD", recurringFee: 1_000, hourlyRate: plan.usd)
            try f.price(plan: id, currency: "JPY", recurringFee: 1_000, hourlyRate: plan.jpy)
            planIDs.append(id)
        }
        var services: [(id: Int64, plan: Int, currency: String, zone: CustomerTimeZone)] = []
        var worked: [Int64: Int64] = [:]
        let october = try YearMonth("2026-10")
        // Sep 29 00:00Z to Nov 2 00:00Z.
        let from = try Instant(rfc3339: "2026-09-29T00:00:00Z").secondsSinceEpoch
        let to = try Instant(rfc3339: "2026-11-02T00:00:00Z").secondsSinceEpoch
        for c in 0..<40 {
            let zoneName = random.pick(Self.zones)
            let zone = try CustomerTimeZone(zoneName)
            let currency = random.chance(20) ? "JPY" : "USD"
            let plan = random.next(in: 0...(Self.plans.count - 1))
            let customer = try f.customer("Customer \(c)", currency: currency, timezone: zoneName)
            // Up to two services per customer, each with its own ticket.
            for _ in 0..<random.next(in: 1...2) {
                let service = try f.service(customer: customer, plan: planIDs[plan], currency: currency, startsOn: "2026-01-01")
                let ticket = try f.ticket(customer: customer, service: service, openedAt: "2026-09-01T00:00:00Z")
                services.append((service, plan, currency, zone))
                for _ in 0..<random.next(in: 0...12) {
                    // Half of the entries within 14 hours of a month boundary somewhere on Earth.
                    let seconds: Int64
                    if random.chance(50) {
                        let edge = random.chance(50) ? try Instant(rfc3339: "2026-10-01T00:00:00Z") : try Instant(rfc3339: "2026-11-01T00:00:00Z")
                        seconds = edge.secondsSinceEpoch + Int64(random.next(in: -14 * 3600...14 * 3600))
                    } else {
                        seconds = from + Int64(random.next(in: 0...Int(to - from)))
                    }
                    let at = Instant(secondsSinceEpoch: seconds)
                    let minutes = random.next(in: 1...240)
                    let billable = random.chance(85)
                    _ = try f.entry(customer: customer, ticket: ticket, service: service, workedAt: at.description, minutes: minutes, billable: billable)
                    if billable, october.dateRange.contains(zone.localDate(of: at)) {
                        worked[service, default: 0] += try MoneyMath.roundUp(minutes: Int64(minutes), toIncrement: Int64(Self.plans[plan].increment))
                    }
                }
            }
        }

        let runner = JobRunner(target: database.target)
        let job = MonthlyRollupJob(parameters: MonthlyRollupParameters())
        let request = JobRunRequest(asOf: try Instant(rfc3339: "2026-11-03T00:00:00Z"), period: october, batchSize: 7, invokedBy: "property")
        let report = runner.run(job, request)
        #expect(report.exitStatus == .success, "seed \(seed): \(report.error ?? "") \(report.output.skipped)")

        let stored = Dictionary(uniqueKeysWithValues: try db.query("""
            SELECT service_id, minutes, quantity::text, unit_price, amount FROM billable_items WHERE kind = 'usage'
            """).map { row in
            (try row.decode(0, as: Int64.self),
             (minutes: try row.decode(1, as: Int64.self), quantity: try row.decode(2, as: String.self),
              rate: try row.decode(3, as: Int64.self), amount: try row.decode(4, as: Int64.self)))
        })
        var checked = 0
        for service in services {
            let plan = Self.plans[service.plan]
            guard let minutes = worked[service.id], minutes > 0 else {
                #expect(stored[service.id] == nil, "seed \(seed): service \(service.id) worked nothing in October, billed \(String(describing: stored[service.id]))")
                continue
            }
            let billed = max(0, minutes - Int64(plan.included))
            let rate = service.currency == "JPY" ? plan.jpy : plan.usd
            let item = try #require(stored[service.id], "seed \(seed): service \(service.id) worked \(minutes) min in October, no usage item")
            #expect(item.minutes == minutes, "seed \(seed): service \(service.id) (\(service.zone.identifier)) minutes")
            #expect(ExactDecimal(item.quantity) == (try MoneyMath.hours(minutes: billed)), "seed \(seed): service \(service.id) quantity \(item.quantity)")
            #expect(item.rate == rate)
            #expect(item.amount == (try MoneyMath.amount(minutes: billed, ratePerHour: rate)), "seed \(seed): service \(service.id) amount")
            checked += 1
        }
        #expect(checked > 10, "seed \(seed): only \(checked) services worked in October")
        #expect(stored.count == checked, "seed \(seed): usage items for services that worked nothing")

        let rerun = runner.run(job, request)
        #expect(rerun.exitStatus == .success)
        #expect(rerun.records.isEmpty, "seed \(seed): the rerun emitted rows")
    }
}
