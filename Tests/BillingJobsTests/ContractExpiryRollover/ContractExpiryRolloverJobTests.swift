import BillingCore
import BillingJobs
import BillingStore
import Foundation
import Postgres
import TestSupport
import Testing

private typealias Charge = Fixtures.ContractCharge

@Suite("contract-expiry-rollover end to end: activation, expiry, charging, rollover, per incident")
struct ContractExpiryRolloverJobTests {
    static let usd = try! CurrencyCode("USD")

    static func job(_ rule: ContractExpiryRolloverParameters.ExpiredTime = .rollover, prices: [String: Int64] = ["USD": 4500]) -> ContractExpiryRolloverJob {
        var parameters = ContractExpiryRolloverParameters()
        parameters.expiredTime = rule
        parameters.perIncidentPrice = Dictionary(uniqueKeysWithValues: prices.map { (try! CurrencyCode($0.key), $0.value) })
        return ContractExpiryRolloverJob(parameters: parameters)
    }

    static func run(_ database: TestDatabase, _ job: ContractExpiryRolloverJob = job(), asOf: String, dryRun: Bool = false, batchSize: Int = 500, customers: [Int64] = []) throws -> JobReport {
        JobRunner(target: database.target).run(job, JobRunRequest(asOf: try Instant(rfc3339: asOf), customers: customers, dryRun: dryRun, batchSize: batchSize, invokedBy: "test"))
    }

    /// The mail-cluster scenario of the demo: a 10-hour support_hours contract on item 1 and
    /// its time-limited renewal starting on the 20th; 120 + 240 + 300 minutes of work.
    struct MailCluster {
        let customer: Int64
        let hours: Int64
        let renewal: Int64
        let entries: [Int64]

        init(_ f: Fixtures) throws {
            customer = try f.customer("Litware Operations", timezone: "Europe/Warsaw")
            let item = try f.item("Litware mail cluster", customer: customer)
            hours = try f.contract(kind: "support_hours", item: item, startsOn: "2026-08-01", minutesTotal: 600, status: "active")
            renewal = try f.contract(kind: "time_limited", item: item, startsOn: "2026-10-20", endsOn: "2027-01-20", minutesTotal: 1200)
            let quota = try f.ticket(customer: customer, item: item, subject: "Mail cluster: quota alerts", openedAt: "2026-10-04T07:00:00Z")
            let storage = try f.ticket(customer: customer, item: item, subject: "Mail cluster: migrate to new storage", openedAt: "2026-10-15T07:00:00Z")
            entries = [
                try f.entry(customer: customer, ticket: quota, workedAt: "2026-10-04T07:30:00Z", minutes: 120),
                try f.entry(customer: customer, ticket: storage, workedAt: "2026-10-15T07:30:00Z", minutes: 240),
                try f.entry(customer: customer, ticket: storage, workedAt: "2026-10-22T07:30:00Z", minutes: 300),
            ]
        }
    }

    // 600 minutes of support hours: 120 + 240 fit, the 300-minute entry is split 240 + 60, the
    // contract expires during the request and the 60 minutes roll over to the renewal (item,
    // valid since the 20th), which the same run activated.
    @Test("a contract used up during a request expires; the rest of the entry rolls over to the next contract")
    func rollover() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let s = try MailCluster(f)
        let report = try Self.run(database, asOf: "2026-11-01T14:00:00Z")
        #expect(report.exitStatus == .success)
        #expect(try f.contractCharges() == [
            Charge(s.entries[0], s.hours, 120, "covered"), Charge(s.entries[1], s.hours, 240, "covered"),
            Charge(s.entries[2], s.hours, 240, "covered"), Charge(s.entries[2], s.renewal, 60, "rolled_over"),
        ])
        #expect(try f.contractChargeMismatches().isEmpty)
        #expect(try f.contractStatus(s.hours) == "expired")
        #expect(try f.contractStatus(s.renewal) == "active")
        #expect(try f.contractEvents() == [
            "contract_activated #\(s.renewal) customer - ce:activated:\(s.renewal):2026-10-20",
            "contract_expired #\(s.hours) customer - ce:expired:\(s.hours):minutes:600",
        ])
        #expect(try f.contractUsage(s.hours) == (600, 0, 0))
        #expect(try f.contractUsage(s.renewal) == (60, 1140, 0))
        #expect(report.output.counts["charges"] == 4)
        #expect(report.output.counts["minutes_covered"] == 600)
        #expect(report.output.counts["minutes_rolled_over"] == 60)
        #expect(report.output.counts["activated"] == 1)
        #expect(report.output.counts["expired"] == 1)
        let expiry = try #require(report.output.records[.events]?.first { $0.fields["event"]?.stringValue == "contract_expired" })
        #expect(expiry.fields["detail"]?["reason"]?.stringValue == "minutes_used_up")
        #expect(expiry.fields["detail"]?["minutes_used"]?.intValue == 600)
        #expect(try db.query("SELECT detail->>'reason' FROM contract_events WHERE entity_id = $1", [s.hours]).scalar(String.self) == "minutes_used_up")
    }

    @Test("ignore: the time after the contract expired is recorded ignored on it and deducted nowhere")
    func ignore() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let s = try MailCluster(f)
        let report = try Self.run(database, Self.job(.ignore), asOf: "2026-11-01T14:00:00Z")
        #expect(report.exitStatus == .success)
        #expect(try f.contractCharges() == [
            Charge(s.entries[0], s.hours, 120, "covered"), Charge(s.entries[1], s.hours, 240, "covered"),
            Charge(s.entries[2], s.hours, 240, "covered"), Charge(s.entries[2], s.hours, 60, "ignored"),
        ])
        #expect(try f.contractChargeMismatches().isEmpty)
        #expect(try f.contractUsage(s.hours) == (600, 0, 60))
        #expect(try f.contractUsage(s.renewal) == (0, 1200, 0))
        #expect(report.output.counts["minutes_ignored"] == 60)
    }

    // Customers A and B are in org unit Ops, whose parent is Group. A has its own contract and
    // a contract on its item; B has none of its own (Group's covers it); C has only a contract
    // starting in December (pending); D has nothing (per incident, 45.00).
    @Test("each entry goes to the first contract found: item, customer, org unit (parents count), pending, else per incident")
    func searchOrder() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let group = try f.orgUnit("Group")
        let ops = try f.orgUnit("Ops", parent: group)
        let a = try f.customer("A", orgUnitID: ops)
        let b = try f.customer("B", orgUnitID: ops)
        let c = try f.customer("C")
        let d = try f.customer("D")
        let item = try f.item("cluster", customer: a)
        let onItem = try f.contract(kind: "subscription", item: item, startsOn: "2026-10-01", status: "active")
        let ofA = try f.contract(kind: "subscription", customer: a, startsOn: "2026-10-01", status: "active")
        let ofGroup = try f.contract(kind: "time_limited", orgUnit: group, startsOn: "2026-10-01", endsOn: "2027-01-01", minutesTotal: 600, status: "active")
        let ofC = try f.contract(kind: "support_hours", customer: c, startsOn: "2026-12-01", minutesTotal: 120)
        var entries: [Int64] = []
        for (customer, itemID, minutes) in [(a, Optional(item), 30), (a, nil, 45), (b, nil, 50), (c, nil, 60), (d, nil, 15)] {
            let ticket = try f.ticket(customer: customer, item: itemID, openedAt: "2026-10-05T08:00:00Z")
            entries.append(try f.entry(customer: customer, ticket: ticket, workedAt: "2026-10-05T09:00:00Z", minutes: minutes))
        }
        let report = try Self.run(database, asOf: "2026-11-01T14:00:00Z")
        #expect(report.exitStatus == .success)
        #expect(try f.contractCharges() == [
            Charge(entries[0], onItem, 30, "covered"), Charge(entries[1], ofA, 45, "covered"), Charge(entries[2], ofGroup, 50, "covered"),
            Charge(entries[3], ofC, 60, "covered"), Charge(entries[4], nil, 15, "per_incident"),
        ])
        #expect(try f.contractStatus(ofC) == "pending")
        #expect(try f.count("billable_items", where: "customer_id = $1 AND kind = 'per_incident' AND amount = 4500", [d]) == 1)
        #expect(report.output.totals[Self.usd]?["per_incident"] == 4500)
    }

    // The ticket was opened at 23:30 on 30 September in Los Angeles (06:30 UTC on 1 October):
    // its incident belongs to September. The JPY customer has no per-incident price: skipped.
    @Test("a ticket with no contract is billed once per incident in the local month it was opened; no price skips the customer")
    func perIncident() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let la = try f.customer("Wingtip", timezone: "America/Los_Angeles")
        let ticket = try f.ticket(customer: la, subject: "Checkout page down", openedAt: "2026-10-01T06:30:00Z")
        let first = try f.entry(customer: la, ticket: ticket, workedAt: "2026-10-01T07:00:00Z", minutes: 30)
        let second = try f.entry(customer: la, ticket: ticket, workedAt: "2026-10-02T16:00:00Z", minutes: 20)
        let yen = try f.customer("Sakura", currency: "JPY", timezone: "Asia/Tokyo")
        let yenTicket = try f.ticket(customer: yen, openedAt: "2026-10-03T01:00:00Z")
        try f.entry(customer: yen, ticket: yenTicket, workedAt: "2026-10-03T02:00:00Z", minutes: 40)

        let report = try Self.run(database, asOf: "2026-10-05T00:00:00Z")
        #expect(report.exitStatus == .dataError)
        #expect(report.status == .partial)
        #expect(report.output.skipped == [SkippedCustomer(customerID: yen, reason: "no per_incident_price for JPY in jobs/contract-expiry-rollover.toml: ticket #\(yenTicket) has no contract and must be billed per incident")])
        #expect(try f.contractCharges() == [Charge(first, nil, 30, "per_incident"), Charge(second, nil, 20, "per_incident")])
        let item = try #require(try db.query("""
            SELECT customer_id, service_id, invoice_id, quantity::text, unit_price, amount, currency, period_start::text, period_end::text, source_key, description
              FROM billable_items WHERE kind = 'per_incident'
            """).first)
        #expect(try item.decode(0, as: Int64.self) == la)
        #expect(try item.decode(1, as: Int64?.self) == nil)
        #expect(try item.decode(2, as: Int64?.self) == nil)
        #expect(try item.decode(3, as: String.self) == "1")
        #expect(try item.decode(4, as: Int64.self) == 4500)
        #expect(try item.decode(5, as: Int64.self) == 4500)
        #expect(try item.decode(6, as: String.self) == "USD")
        #expect(try item.decode(7, as: String.self) == "2026-09-01")
        #expect(try item.decode(8, as: String.self) == "2026-10-01")
        #expect(try item.decode(9, as: String.self) == "ce:incident:\(ticket)")
        #expect(try item.decode(10, as: String.self) == "Per-incident support: ticket #\(ticket) Checkout page down")
        #expect(try f.count("contract_charges", where: "customer_id = $1", [yen]) == 0)
        #expect(try f.count("billable_items", where: "customer_id = $1", [yen]) == 0)

        // A later entry on the same request adds time, not a second incident.
        let third = try f.entry(customer: la, ticket: ticket, workedAt: "2026-10-06T16:00:00Z", minutes: 10)
        let later = try Self.run(database, asOf: "2026-10-07T00:00:00Z", customers: [la])
        #expect(later.exitStatus == .success)
        #expect(later.output.counts["items"] == nil)
        #expect(try f.contractCharges().last == Charge(third, nil, 10, "per_incident"))
        #expect(try f.count("billable_items") == 1)
    }

    @Test("a dry run shows the charges, items and events it would make, writes nothing; the real run reports the same; a rerun charges nothing")
    func dryRunAndRerun() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let s = try MailCluster(f)
        let other = try f.customer("Other")
        let ticket = try f.ticket(customer: other, openedAt: "2026-10-10T10:00:00Z")
        try f.entry(customer: other, ticket: ticket, workedAt: "2026-10-10T11:00:00Z", minutes: 25)

        let dry = try Self.run(database, asOf: "2026-11-01T14:00:00Z", dryRun: true, batchSize: 1)
        #expect(dry.exitStatus == .success)
        #expect(dry.output.records[.charges]?.count == 5)
        #expect(dry.output.records[.items]?.count == 1)
        #expect(dry.output.records[.events]?.count == 2)
        for table in ["contract_charges", "billable_items", "audit_events", "contract_events", "job_runs"] {
            #expect(try f.count(table) == 0, "\(table) after a dry run")
        }
        #expect(try f.contractStatus(s.renewal) == "pending")
        #expect(try f.contractStatus(s.hours) == "active")

        let real = try Self.run(database, asOf: "2026-11-01T14:00:00Z", batchSize: 1)
        #expect(real.exitStatus == .success)
        #expect(DryRun.comparable(real) == DryRun.comparable(dry))
        #expect(try f.count("contract_charges") == 5)

        let rerun = try Self.run(database, asOf: "2026-11-02T14:00:00Z")
        #expect(rerun.exitStatus == .success)
        #expect(rerun.output.records.values.allSatisfy { $0.isEmpty })
        #expect(rerun.output.counts.filter { $0.key != "customers" }.isEmpty)
        #expect(try f.count("contract_charges") == 5)
        // The contracts serve an org unit: their events are contract_events (sql/210).
        #expect(try f.count("contract_events") == 2)
        #expect(try f.count("audit_events") == 0)
    }

    // Org unit Shared's 100-minute contract serves customers one and two, processed in batches of
    // one customer: one takes 80; two gets the last 20, and 60 roll over to its own contract
    // (pending: it starts in December).
    @Test("a contract shared by customers in different batches is charged consistently and expires once")
    func sharedAcrossBatches() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let unit = try f.orgUnit("Shared")
        let one = try f.customer("one", orgUnitID: unit)
        let two = try f.customer("two", orgUnitID: unit)
        let shared = try f.contract(kind: "support_hours", orgUnit: unit, startsOn: "2026-10-01", minutesTotal: 100, status: "active")
        let own = try f.contract(kind: "subscription", customer: two, startsOn: "2026-12-01")
        let first = try f.entry(customer: one, ticket: try f.ticket(customer: one, openedAt: "2026-10-05T14:00:00Z"), workedAt: "2026-10-05T15:00:00Z", minutes: 80)
        let second = try f.entry(customer: two, ticket: try f.ticket(customer: two, openedAt: "2026-10-05T08:00:00Z"), workedAt: "2026-10-05T09:00:00Z", minutes: 80)
        let report = try Self.run(database, asOf: "2026-10-06T00:00:00Z", batchSize: 1)
        #expect(report.exitStatus == .success)
        #expect(try f.contractCharges() == [Charge(first, shared, 80, "covered"), Charge(second, shared, 20, "covered"), Charge(second, own, 60, "rolled_over")])
        #expect(try f.contractEvents() == ["contract_expired #\(shared) customer - ce:expired:\(shared):minutes:100"])
        #expect(try f.contractUsage(shared) == (100, 0, 0))
    }

    @Test("an entry whose customer differs from its ticket's skips that customer with the reason; the others are charged")
    func invalidEntry() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let owner = try f.customer("owner")
        let stranger = try f.customer("stranger")
        let ticket = try f.ticket(customer: owner, openedAt: "2026-10-05T08:00:00Z")
        let good = try f.entry(customer: owner, ticket: ticket, workedAt: "2026-10-05T09:00:00Z", minutes: 30)
        let bad = try f.entry(customer: stranger, ticket: ticket, workedAt: "2026-10-05T10:00:00Z", minutes: 30)
        let report = try Self.run(database, asOf: "2026-10-06T00:00:00Z")
        #expect(report.exitStatus == .dataError)
        #expect(report.output.skipped == [SkippedCustomer(customerID: stranger, reason: "time entry \(bad) belongs to customer \(stranger) but its ticket #\(ticket) belongs to customer \(owner)")])
        #expect(try f.contractCharges() == [Charge(good, nil, 30, "per_incident")])
    }

    // Contract 1 (100 min) covers 80; the next entry of the request needs 60: the 20 minutes
    // left are charged (the contract is used up and expires), the other 40 wait, reported. A
    // contract added later takes them as the entry's second piece.
    //
    //     contract 1 (100)   |==== 80 (entry 1) ====|= 20 =|
    //     entry 2 (60)                               20 covered | 40 wait -> contract 2 (rolled_over)
    @Test("rollover with no contract to roll over to: what is left is charged, the rest waits, reported, and the first run that finds one charges it")
    func waitsForAContract() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let customer = try f.customer("C")
        let hours = try f.contract(kind: "support_hours", customer: customer, startsOn: "2026-10-01", minutesTotal: 100, status: "active")
        let ticket = try f.ticket(customer: customer, openedAt: "2026-10-05T08:00:00Z")
        let first = try f.entry(customer: customer, ticket: ticket, workedAt: "2026-10-05T09:00:00Z", minutes: 80)
        let second = try f.entry(customer: customer, ticket: ticket, workedAt: "2026-10-06T09:00:00Z", minutes: 60)
        let report = try Self.run(database, asOf: "2026-10-10T00:00:00Z")
        #expect(report.exitStatus == .success)
        #expect(try f.contractCharges() == [Charge(first, hours, 80, "covered"), Charge(second, hours, 20, "covered")])
        #expect(report.output.counts["minutes_waiting"] == 40)
        #expect(report.output.notices == ["customer \(customer), ticket #\(ticket): 40 min in 1 entry waits for a contract to roll over to (contract #\(hours) expired during the request and expired_time is \"rollover\"); add a contract, or set expired_time = \"ignore\""])
        #expect(try f.contractStatus(hours) == "expired")
        #expect(try f.contractUsage(hours) == (100, 0, 0))

        let rerun = try Self.run(database, asOf: "2026-10-10T00:00:00Z")
        #expect(rerun.exitStatus == .success)
        #expect(rerun.output.counts["charges"] == nil)
        #expect(rerun.output.counts["minutes_waiting"] == 40)

        let next = try f.contract(kind: "subscription", customer: customer, startsOn: "2026-10-01", status: "active")
        let later = try Self.run(database, asOf: "2026-10-11T00:00:00Z")
        #expect(later.exitStatus == .success)
        #expect(try f.contractCharges() == [Charge(first, hours, 80, "covered"), Charge(second, hours, 20, "covered"), Charge(second, next, 40, "rolled_over")])
        #expect(try db.query("SELECT source_key FROM contract_charges WHERE time_entry_id = $1 ORDER BY id", [second]).map { try $0.decode(0, as: String.self) }
                == ["ce:charge:\(second):1", "ce:charge:\(second):2"])
        #expect(later.output.counts["minutes_waiting"] == nil)
        #expect(try f.contractChargeMismatches().isEmpty)
    }

    // A 60-minute contract. Request A (opened Oct 2) is new: its first entry, 90 minutes, takes
    // the 60 and its other 30 wait. Request B (Oct 3, 60 minutes) comes later and finds nothing:
    // per incident. The charge binds A to the contract, so the rerun with unchanged data charges
    // nothing (A must not turn into a per-incident request).
    @Test("a rerun charges nothing: a new request whose first entry waits is bound to its contract by what it charged")
    func waitingNewRequestIsStable() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let customer = try f.customer("C")
        let hours = try f.contract(kind: "support_hours", customer: customer, startsOn: "2026-10-01", minutesTotal: 60, status: "active")
        let a = try f.ticket(customer: customer, subject: "A", openedAt: "2026-10-02T08:00:00Z")
        let b = try f.ticket(customer: customer, subject: "B", openedAt: "2026-10-03T08:00:00Z")
        let a1 = try f.entry(customer: customer, ticket: a, workedAt: "2026-10-02T09:00:00Z", minutes: 90)
        let b1 = try f.entry(customer: customer, ticket: b, workedAt: "2026-10-03T09:00:00Z", minutes: 60)

        let first = try Self.run(database, asOf: "2026-10-10T00:00:00Z")
        #expect(first.exitStatus == .success)
        #expect(try f.contractCharges() == [Charge(a1, hours, 60, "covered"), Charge(b1, nil, 60, "per_incident")])
        #expect(first.output.counts["minutes_waiting"] == 30)
        #expect(try f.contractStatus(hours) == "expired")

        let rerun = try Self.run(database, asOf: "2026-10-10T00:00:00Z")
        #expect(rerun.exitStatus == .success)
        #expect(rerun.output.counts["charges"] == nil)
        #expect(rerun.output.counts["items"] == nil)
        #expect(rerun.output.counts["minutes_waiting"] == 30)
        #expect(try f.contractCharges() == [Charge(a1, hours, 60, "covered"), Charge(b1, nil, 60, "per_incident")])
        #expect(try f.count("billable_items", where: "kind = 'per_incident'") == 1)

        // A contract to roll over to: A's other 30 minutes roll over, and B, recomputed from
        // today's contracts, is now covered by it: its per-incident time is given back and its
        // per-incident item offset (docs/design.md §9).
        let next = try f.contract(kind: "subscription", customer: customer, startsOn: "2026-10-01", status: "active")
        let later = try Self.run(database, asOf: "2026-10-11T00:00:00Z")
        #expect(later.exitStatus == .success)
        #expect(try f.contractCharges() == [
            Charge(a1, hours, 60, "covered"), Charge(b1, nil, 60, "per_incident"), Charge(a1, next, 30, "rolled_over"),
            Charge(b1, nil, -60, "per_incident"), Charge(b1, next, 60, "covered"),
        ])
        #expect(try f.contractChargeMismatches().isEmpty)
        #expect(try f.count("billable_items", where: "kind = 'per_incident' AND source_key = $1 AND amount = -4500", ["ce:incident:\(b):offset"]) == 1)
        #expect(later.output.counts["offsets"] == 1)
        #expect(later.output.totals[Self.usd]?["per_incident_withdrawn"] == 4500)
    }

    // The same story across customers and batches: org unit 1's 60-minute contract serves
    // customers one (90 minutes on Oct 2) and two (60 minutes on Oct 3). In batches of one
    // customer each, the second batch must not find the 60 minutes free because the first batch
    // only held them in memory; the outcome equals one batch of both, and the rerun charges
    // nothing.
    @Test("a contract shared across batches with time waiting: batches of one customer charge what one batch does, and the rerun charges nothing", arguments: [1, 500])
    func waitingAcrossBatches(batchSize: Int) throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let unit = try f.orgUnit("Group")
        let one = try f.customer("one", orgUnitID: unit)
        let two = try f.customer("two", orgUnitID: unit)
        let shared = try f.contract(kind: "support_hours", orgUnit: unit, startsOn: "2026-10-01", minutesTotal: 60, status: "active")
        let first = try f.entry(customer: one, ticket: try f.ticket(customer: one, openedAt: "2026-10-02T08:00:00Z"), workedAt: "2026-10-02T09:00:00Z", minutes: 90)
        let second = try f.entry(customer: two, ticket: try f.ticket(customer: two, openedAt: "2026-10-03T08:00:00Z"), workedAt: "2026-10-03T09:00:00Z", minutes: 60)

        let report = try Self.run(database, asOf: "2026-10-10T00:00:00Z", batchSize: batchSize)
        #expect(report.exitStatus == .success)
        #expect(try f.contractCharges() == [Charge(first, shared, 60, "covered"), Charge(second, nil, 60, "per_incident")])
        #expect(report.output.counts["minutes_waiting"] == 30)
        #expect(try f.contractEvents() == ["contract_expired #\(shared) customer - ce:expired:\(shared):minutes:60"])
        #expect(try f.contractUsage(shared) == (60, 0, 0))

        let rerun = try Self.run(database, asOf: "2026-10-10T00:00:00Z", batchSize: batchSize)
        #expect(rerun.exitStatus == .success)
        #expect(rerun.output.counts["charges"] == nil)
        #expect(rerun.output.counts["items"] == nil)
        #expect(rerun.output.counts["minutes_waiting"] == 30)
        #expect(try f.count("billable_items", where: "kind = 'per_incident'") == 1)
    }

    // Contract 1 covers [Oct 1, Oct 20). The run of Oct 21 expires it by date. An entry of Oct 19
    // recorded afterwards is still charged to it: it covered that day. Customer two's contract was
    // set to expired by staff: it takes no time.
    @Test("a contract expires when its end has passed, keeps covering late entries of its period; one ended by staff takes nothing")
    func expiryByDate() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let one = try f.customer("one")
        let subscription = try f.contract(kind: "subscription", customer: one, startsOn: "2026-10-01", endsOn: "2026-10-20", status: "active")
        let onTime = try f.entry(customer: one, ticket: try f.ticket(customer: one, openedAt: "2026-10-18T08:00:00Z"), workedAt: "2026-10-18T09:00:00Z", minutes: 30)
        let two = try f.customer("two")
        try f.contract(kind: "subscription", customer: two, startsOn: "2026-10-01", endsOn: "2026-12-01", status: "expired")
        let staffEnded = try f.entry(customer: two, ticket: try f.ticket(customer: two, openedAt: "2026-10-05T08:00:00Z"), workedAt: "2026-10-05T09:00:00Z", minutes: 15)

        let first = try Self.run(database, asOf: "2026-10-21T00:15:00Z")
        #expect(first.exitStatus == .success)
        #expect(try f.contractStatus(subscription) == "expired")
        #expect(try f.contractEvents() == ["contract_expired #\(subscription) customer \(one) ce:expired:\(subscription):ends:2026-10-20"])

        let late = try f.entry(customer: one, ticket: try f.ticket(customer: one, openedAt: "2026-10-19T08:00:00Z"), workedAt: "2026-10-19T09:00:00Z", minutes: 45)
        let second = try Self.run(database, asOf: "2026-10-22T00:15:00Z")
        #expect(second.exitStatus == .success)
        #expect(try f.contractCharges() == [Charge(onTime, subscription, 30, "covered"), Charge(staffEnded, nil, 15, "per_incident"), Charge(late, subscription, 45, "covered")])
    }

    // An org unit's contract serves customers in Tokyo and New York. It ends on 2026-11-01: at
    // 03:00 UTC that day it is noon on 1 November in Tokyo but 23:00 on 31 October in New York,
    // so it stays active until the end has passed there too. Another starting 2026-11-01 is
    // active as soon as Tokyo is there.
    @Test("contracts of an org unit follow the local dates of all their customers")
    func severalTimeZones() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let unit = try f.orgUnit("Global")
        try f.customer("Tokyo", timezone: "Asia/Tokyo", orgUnitID: unit)
        try f.customer("New York", timezone: "America/New_York", orgUnitID: unit)
        let ending = try f.contract(kind: "subscription", orgUnit: unit, startsOn: "2026-10-01", endsOn: "2026-11-01", status: "active")
        let starting = try f.contract(kind: "subscription", orgUnit: unit, startsOn: "2026-11-01", endsOn: "2027-11-01")

        _ = try Self.run(database, asOf: "2026-10-31T14:00:00Z")
        #expect(try f.contractStatus(starting) == "pending")
        let tokyoFirst = try Self.run(database, asOf: "2026-11-01T03:00:00Z")
        #expect(tokyoFirst.exitStatus == .success)
        #expect(try f.contractStatus(starting) == "active")
        #expect(try f.contractStatus(ending) == "active")
        _ = try Self.run(database, asOf: "2026-11-01T12:00:00Z")
        #expect(try f.contractStatus(ending) == "expired")
        #expect(try f.contractEvents() == [
            "contract_activated #\(starting) customer - ce:activated:\(starting):2026-11-01",
            "contract_expired #\(ending) customer - ce:expired:\(ending):ends:2026-11-01",
        ])
        #expect(try db.query("SELECT detail->>'local_as_of' FROM contract_events WHERE entity_id = $1", [starting]).scalar(String.self) == "2026-11-01")
    }

    @Test("time a service bills is not this job's: entries on a service or on a service's ticket are not charged")
    func serviceTime() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let customer = try f.customer("metered")
        let plan = try f.plan("hourly", billing: "metered")
        let service = try f.service(customer: customer, plan: plan, startsOn: "2026-01-01")
        try f.contract(kind: "subscription", customer: customer, startsOn: "2026-01-01", status: "active")
        let onService = try f.ticket(customer: customer, service: service, openedAt: "2026-10-05T08:00:00Z")
        try f.entry(customer: customer, ticket: onService, workedAt: "2026-10-05T09:00:00Z", minutes: 30)
        let plain = try f.ticket(customer: customer, openedAt: "2026-10-05T08:00:00Z")
        try f.entry(customer: customer, ticket: plain, service: service, workedAt: "2026-10-05T09:00:00Z", minutes: 30)
        try f.entry(customer: customer, ticket: plain, workedAt: "2026-10-05T10:00:00Z", minutes: 30, billable: false)
        try f.entry(customer: customer, ticket: plain, workedAt: "2026-10-07T10:00:00Z", minutes: 30)  // after as_of
        let report = try Self.run(database, asOf: "2026-10-06T00:00:00Z")
        #expect(report.exitStatus == .success)
        #expect(report.output.counts["customers"] == 0)
        #expect(try f.count("contract_charges") == 0)
    }

    @Test("--customer limits the run: other customers' contracts are neither activated nor charged")
    func customerFilter() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let one = try f.customer("one")
        let two = try f.customer("two")
        let ofOne = try f.contract(kind: "subscription", customer: one, startsOn: "2026-10-01")
        let ofTwo = try f.contract(kind: "subscription", customer: two, startsOn: "2026-10-01")
        for customer in [one, two] {
            try f.entry(customer: customer, ticket: try f.ticket(customer: customer, openedAt: "2026-10-05T08:00:00Z"), workedAt: "2026-10-05T09:00:00Z", minutes: 30)
        }
        let report = try Self.run(database, asOf: "2026-10-06T00:00:00Z", customers: [two])
        #expect(report.exitStatus == .success)
        #expect(try f.contractStatus(ofOne) == "pending")
        #expect(try f.contractStatus(ofTwo) == "active")
        #expect(try f.count("contract_charges", where: "customer_id = $1", [one]) == 0)
        #expect(try f.count("contract_charges", where: "customer_id = $1 AND contract_id = $2", [two, ofTwo]) == 1)
    }

    /// The incomplete terms `ContractDefect` knows (docs/data-defects.md row 22 and its
    /// variants): (kind, ends_on, minutes_total, status, the reason's beginning after "contract #N").
    static let incomplete: [(String, String?, Int?, String, String)] = [
        ("support_hours", nil, nil, "pending", "is support_hours but has no minutes_total"),
        ("time_limited", nil, nil, "pending", "is time_limited but lacks ends_on"),
        ("time_limited", "2027-01-01", nil, "active", "is time_limited but lacks minutes_total"),
        // Active and already past its end: only the defect keeps it from being expired.
        ("time_limited", "2026-10-01", 600, "active", "ends (ends_on 2026-10-01) on or before it starts (starts_on 2026-10-01)"),
        ("subscription", "2026-09-01", nil, "pending", "ends (ends_on 2026-09-01) on or before it starts (starts_on 2026-10-01)"),
    ]

    @Test("a contract whose terms are incomplete is reported, never moved, and skips the customers whose time would go to it", arguments: ContractExpiryRolloverJobTests.incomplete)
    func defectiveContract(kind: String, endsOn: String?, minutes: Int?, status: String, reason: String) throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let customer = try f.customer("C")
        let broken = try f.contract(kind: kind, customer: customer, startsOn: "2026-10-01", endsOn: endsOn, minutesTotal: minutes, status: status)
        try f.entry(customer: customer, ticket: try f.ticket(customer: customer, openedAt: "2026-10-05T08:00:00Z"), workedAt: "2026-10-05T09:00:00Z", minutes: 30)
        let other = try f.customer("D")
        let fine = try f.contract(kind: "subscription", customer: other, startsOn: "2026-10-01")
        try f.entry(customer: other, ticket: try f.ticket(customer: other, openedAt: "2026-10-05T08:00:00Z"), workedAt: "2026-10-05T09:00:00Z", minutes: 30)
        for _ in 1...2 {
            let report = try Self.run(database, asOf: "2026-10-06T00:00:00Z")
            #expect(report.exitStatus == .dataError)
            #expect(report.output.notices.count == 1)
            #expect(report.output.notices.first?.hasPrefix("contract #\(broken) \(reason)") == true, "\(report.output.notices)")
            #expect(report.output.notices.first?.hasSuffix(": it is neither activated nor expired, and no time is charged to it, until it is fixed") == true)
            #expect(report.output.skipped.map(\.customerID) == [customer])
            #expect(report.output.skipped.first?.reason.hasPrefix("contract #\(broken) \(reason)") == true, "\(report.output.skipped)")
            #expect(report.output.skipped.first?.reason.contains("; fix the contract") == true)
            #expect(try f.contractStatus(broken) == status)
            #expect(try f.count("contract_charges", where: "customer_id = $1 OR contract_id = $2", [customer, broken]) == 0)
            #expect(try f.count("billable_items", where: "customer_id = $1", [customer]) == 0)
            #expect(try f.count("audit_events", where: "entity = 'contract' AND entity_id = $1", [broken]) == 0)
            #expect(try f.count("contract_events", where: "entity_id = $1", [broken]) == 0)
        }
        // The other customer is charged, once.
        #expect(try f.contractStatus(fine) == "active")
        #expect(try f.count("contract_charges", where: "customer_id = $1 AND contract_id = $2 AND outcome = 'covered'", [other, fine]) == 1)
        // check lists it, for this job.
        let found = try DataDefectScanner.scan(db, asOf: try Instant(rfc3339: "2026-10-06T00:00:00Z"))
        #expect(found.map { "\($0.customerID ?? 0) \($0.kind.rawValue) \($0.entityID) \($0.jobs)" } == ["\(customer) contract_incomplete \(broken) [\"contract-expiry-rollover\"]"])
        #expect(found.first?.detail.hasPrefix("contract #\(broken) \(reason)") == true, "\(found)")
    }

    @Test("a contract serving only customers with an unknown time zone is neither activated nor expired (no UTC date), with a notice; an org unit's follows its other customers")
    func unknownTimeZone() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let lost = try f.customer("Lost", timezone: "Mars/Olympus")
        let posix = try f.customer("POSIX", timezone: "GMT+3")
        let pending = try f.contract(kind: "subscription", customer: lost, startsOn: "2026-10-01")
        let ended = try f.contract(kind: "subscription", customer: posix, startsOn: "2026-09-01", endsOn: "2026-10-01", status: "active")
        // A name PostgreSQL lists (a zone file) but BillingCore refuses (an abbreviation): the
        // statement must leave it out by name, not by pg_timezone_names.
        let abbreviated = try f.customer("Abbreviated", timezone: "EST")
        let listed = try f.contract(kind: "subscription", customer: abbreviated, startsOn: "2026-09-01", endsOn: "2026-10-01", status: "active")
        #expect(try db.query("SELECT count(*) FROM pg_timezone_names WHERE name = 'EST'").scalar(Int64.self) == 1)
        try f.entry(customer: lost, ticket: try f.ticket(customer: lost, openedAt: "2026-10-05T08:00:00Z"), workedAt: "2026-10-05T09:00:00Z", minutes: 30)
        let unit = try f.orgUnit("Mixed")
        try f.customer("Tokyo", timezone: "Asia/Tokyo", orgUnitID: unit)
        try f.customer("Lost too", timezone: "Mars/Olympus", orgUnitID: unit)
        let shared = try f.contract(kind: "subscription", orgUnit: unit, startsOn: "2026-10-06")

        // 2026-10-05 15:00 UTC is Oct 6 in Tokyo: the org unit's contract starts for Tokyo.
        let report = try Self.run(database, asOf: "2026-10-05T15:00:00Z")
        #expect(report.exitStatus == .dataError)
        #expect(report.output.skipped.map(\.customerID) == [lost])
        #expect(report.output.skipped.first?.reason.hasPrefix("unknown time zone \"Mars/Olympus\"") == true)
        #expect(report.output.notices.sorted() == [
            "contract #\(pending) serves only customer \(lost), with an unknown time zone: it is neither activated nor expired until customers.timezone is corrected",
            "contract #\(ended) serves only customer \(posix), with an unknown time zone: it is neither activated nor expired until customers.timezone is corrected",
            "contract #\(listed) serves only customer \(abbreviated), with an unknown time zone: it is neither activated nor expired until customers.timezone is corrected",
        ].sorted())
        #expect(try f.contractStatus(pending) == "pending")
        #expect(try f.contractStatus(ended) == "active")
        #expect(try f.contractStatus(listed) == "active")
        #expect(try f.contractStatus(shared) == "active")
        #expect(try f.count("audit_events", where: "customer_id IN ($1, $2, $3)", [lost, posix, abbreviated]) == 0)
        #expect(try f.count("contract_charges") == 0)

        // Corrected, the next run moves them.
        try db.execute("UPDATE customers SET timezone = 'UTC' WHERE id IN ($1, $2)", [lost, posix])
        let fixed = try Self.run(database, asOf: "2026-10-05T15:00:00Z")
        #expect(fixed.exitStatus == .success, "\(fixed.output.skipped)")
        #expect(try f.contractStatus(pending) == "active")
        #expect(try f.contractStatus(ended) == "expired")
        #expect(try f.count("contract_charges", where: "customer_id = $1 AND contract_id = $2", [lost, pending]) == 1)
    }
}
