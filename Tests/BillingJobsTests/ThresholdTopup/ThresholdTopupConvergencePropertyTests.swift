import BillingCore
import BillingJobs
import BillingStore
import Foundation
import Postgres
import TestSupport
import Testing

/// Convergence of threshold-topup (docs/design.md §9) on a real database: a seeded random sequence of
/// corrections of time entries, payments and service plans, interleaved with runs at increasing
/// as-of instants, ends in the same net ledger per service and the same top-up invoice statuses
/// as ONE clean run over the final inputs; and a further run emits nothing.
///
///   Oct 1 ─── runs every few hours to days ─── Nov 1 00:00Z (final)
///   entries worked Oct 1..Nov 15 (re-dated ones may land after the final as-of)
///   clean: a copy of the final database with the ledger, balances and queues emptied, every
///   top-up invoice issued again (void stays void), everything queued as the migration's
///   backfill does, and one run at the final as-of.
///
/// Top-up invoices and their payments are facts of the final database (payments name them), so
/// the clean run keeps them and recomputes what the ledger and the statuses make of them.
///
/// `SUPPORTBILL_PROPERTY_SEED=<seed>` replays a failure; each run draws a new seed otherwise.
@Suite("threshold-topup converges: corrections and runs end where one clean run does")
struct ThresholdTopupConvergencePropertyTests {
    static let finalAsOf = try! Instant(rfc3339: "2026-11-01T00:00:00Z")

    static func run(_ database: TestDatabase, asOf: Instant, disabled: Set<ThresholdTopupPlanner.Correction>) -> JobReport {
        var parameters = ThresholdTopupParameters()
        parameters.maxTopupsPerDay = 100
        var job = ThresholdTopupJob(parameters: parameters)
        job.disabledCorrections = disabled
        return JobRunner(target: database.target).run(job, JobRunRequest(asOf: asOf, invokedBy: "property"))
    }

    static func instant(_ random: inout SeededNumbers, lastDay: Int = 31, month: Int = 10) -> String {
        String(format: "2026-%02d-%02dT%02d:%02d:00Z", month, random.next(in: 1...lastDay), random.next(in: 0...23), random.next(in: 0...59))
    }

    /// The net ledger per service and the top-up invoices' statuses.
    static func state(_ db: PostgresConnection) throws -> [String: String] {
        var result: [String: String] = [:]
        for row in try db.query("SELECT service_id, sum(amount)::bigint FROM credit_ledger GROUP BY service_id HAVING sum(amount) <> 0") {
            result["ledger of service \(try row.decode(0, as: Int64.self))"] = String(try row.decode(1, as: Int64.self))
        }
        for row in try db.query("SELECT id, status FROM invoices WHERE kind = 'topup'") {
            result["top-up invoice \(try row.decode(0, as: Int64.self))"] = try row.decode(1, as: String.self)
        }
        return result
    }

    /// `forcePlanCorrection`: after the random sequence, one entry debited on plan A and its
    /// service then corrected to plan B, so that the sequence surely holds a plan correction.
    static func play(seed: UInt64, disabled: Set<ThresholdTopupPlanner.Correction> = [], forcePlanCorrection: Bool = false) throws -> (differences: [String], rerun: [String: Int], log: [String]) {
        var random = SeededNumbers(seed: seed)
        let live = try TestCluster.makeDatabase()
        defer { live.drop() }
        var log: [String] = []
        var state: [String: String] = [:]
        do {
            let db = try live.connect()
            defer { db.close() }
            let f = Fixtures(db)
            let a = try f.prepaidPlan()
            let b = try f.prepaidPlan("prepaid-b", hourlyRate: 250, topupAmount: 2000, threshold: 500)
            try db.execute("UPDATE plans SET increment_minutes = 6 WHERE id = $1", [b])
            let flat = try f.plan("flat", billing: "recurring")
            try f.price(plan: flat, recurringFee: 4900)
            var tickets: [Int64: [Int64]] = [:]
            var services: [Int64] = []
            var customers: [Int64] = []
            for c in 0..<4 {
                let customer = try f.customer("Customer \(c)")
                customers.append(customer)
                for _ in 0..<random.next(in: 1...2) {
                    let service = try f.service(customer: customer, plan: random.pick([a, b]), startsOn: "2026-09-01")
                    services.append(service)
                    tickets[customer, default: []].append(try f.ticket(customer: customer, service: service, openedAt: "2026-09-20T00:00:00Z"))
                }
            }
            var asOf = try Instant(rfc3339: "2026-10-01T00:05:00Z").secondsSinceEpoch
            while asOf < finalAsOf.secondsSinceEpoch {
                for _ in 0..<random.next(in: 1...6) {
                    let customer = random.pick(customers)
                    let entries = try db.query("SELECT id FROM time_entries WHERE customer_id = $1 ORDER BY id", [customer]).map { try $0.decode(0, as: Int64.self) }
                    let payments = try db.query("SELECT id FROM payments WHERE customer_id = $1 ORDER BY id", [customer]).map { try $0.decode(0, as: Int64.self) }
                    let topups = try db.query("SELECT id FROM invoices WHERE customer_id = $1 AND kind = 'topup' AND status <> 'void' ORDER BY id", [customer])
                        .map { try $0.decode(0, as: Int64.self) }
                    var step = ""
                    switch random.next(in: 0...11) {
                    case 0, 1:
                        let at = instant(&random)
                        let id = try f.entry(customer: customer, ticket: random.pick(tickets[customer] ?? []), workedAt: at, minutes: random.next(in: 1...180))
                        step = "insert entry \(id) at \(at)"
                    case 2 where !entries.isEmpty:
                        let e = random.pick(entries)
                        try db.execute("UPDATE time_entries SET minutes = $2 WHERE id = $1", [e, random.next(in: 1...180)])
                        step = "edit entry \(e)"
                    case 3 where !entries.isEmpty:
                        let e = random.pick(entries)
                        let at = random.chance(30) ? instant(&random, lastDay: 15, month: 11) : instant(&random)
                        try db.execute("UPDATE time_entries SET worked_at = $2::timestamptz WHERE id = $1", [e, at])
                        step = "re-date entry \(e) to \(at)"
                    case 4 where !entries.isEmpty:
                        let e = random.pick(entries)
                        try db.execute("UPDATE time_entries SET billable = NOT billable WHERE id = $1", [e])
                        step = "toggle billable of entry \(e)"
                    case 5 where !entries.isEmpty:
                        let e = random.pick(entries)
                        try db.execute("DELETE FROM time_entries WHERE id = $1", [e])
                        step = "delete entry \(e)"
                    case 6 where !entries.isEmpty:
                        let e = random.pick(entries)
                        try db.execute("UPDATE time_entries SET ticket_id = $2 WHERE id = $1", [e, random.pick(tickets[customer] ?? [])])
                        step = "move entry \(e)"
                    case 7:
                        let s = try db.query("SELECT id FROM services WHERE customer_id = $1 ORDER BY id", [customer]).map { try $0.decode(0, as: Int64.self) }
                        let service = random.pick(s)
                        let plan = random.chance(20) ? flat : random.pick([a, b])
                        try db.execute("UPDATE services SET plan_id = $2 WHERE id = $1", [service, plan])
                        step = "service \(service) to plan \(plan)"
                    case 8 where !topups.isEmpty, 9 where !topups.isEmpty:
                        let invoice = random.pick(topups)
                        let total = try db.query("SELECT total FROM invoices WHERE id = $1", [invoice]).scalar(Int64.self) ?? 0
                        let id = try f.payment(customer: customer, invoice: invoice, amount: total, receivedAt: Instant(secondsSinceEpoch: asOf).description)
                        step = "payment \(id) of invoice \(invoice)"
                    case 10 where !payments.isEmpty:
                        let p = random.pick(payments)
                        switch random.next(in: 0...3) {
                        case 0: try db.execute("DELETE FROM payments WHERE id = $1", [p]); step = "delete payment \(p)"
                        case 1: try db.execute("UPDATE payments SET amount = amount / 2 WHERE id = $1", [p]); step = "halve payment \(p)"
                        case 2: try db.execute("UPDATE payments SET status = 'reversed' WHERE id = $1", [p]); step = "reverse payment \(p)"
                        default:
                            guard !topups.isEmpty else { continue }
                            let to = random.pick(topups)
                            try db.execute("UPDATE payments SET invoice_id = $2 WHERE id = $1", [p, to])
                            step = "move payment \(p) to invoice \(to)"
                        }
                    default:
                        continue
                    }
                    log.append(step)
                }
                asOf = min(finalAsOf.secondsSinceEpoch, asOf + Int64(random.next(in: 3...72)) * 3600)
                let report = run(live, asOf: Instant(secondsSinceEpoch: asOf), disabled: disabled)
                log.append("run as of \(Instant(secondsSinceEpoch: asOf))")
                guard report.exitStatus == .success else {
                    throw PostgresError.usage("run ended \(report.exitStatus): \(report.error ?? "") \(report.output.skipped) \(report.output.reported)")
                }
            }
            if forcePlanCorrection, let service = services.first, let customer = customers.first {
                try db.execute("UPDATE services SET plan_id = $2, status = 'active', ends_on = NULL WHERE id = $1", [service, a])
                let ticket = try f.ticket(customer: customer, service: service, openedAt: "2026-10-20T00:00:00Z")
                try f.entry(customer: customer, ticket: ticket, workedAt: "2026-10-20T10:00:00Z", minutes: 60)
                _ = run(live, asOf: finalAsOf, disabled: disabled)
                try db.execute("UPDATE services SET plan_id = $2 WHERE id = $1", [service, b])
                _ = run(live, asOf: finalAsOf, disabled: disabled)
                log.append("forced: service \(service) on plan A, 60 min debited, corrected to plan B")
            }
            state = try Self.state(db)
        }
        // What a further run emits (`customers` and `entries_not_yet_worked` count what it looked at).
        let rerun = run(live, asOf: finalAsOf, disabled: disabled).output.counts.filter { !["customers", "entries_not_yet_worked"].contains($0.key) }

        let clean = try live.copy(suffix: "clean")
        defer { clean.drop() }
        do {
            let db = try clean.connect()
            defer { db.close() }
            try db.execute("SET session_replication_role = replica")  // past the ledger's append-only guard
            try db.executeScript("""
                DELETE FROM audit_events WHERE event = 'debit_corrected';
                DELETE FROM credit_ledger; DELETE FROM topup_balances;
                DELETE FROM topup_entry_queue; DELETE FROM topup_invoice_queue; DELETE FROM topup_service_queue;
                UPDATE invoices SET status = 'issued' WHERE kind = 'topup' AND status = 'paid';
                INSERT INTO topup_entry_queue (customer_id, time_entry_id) SELECT customer_id, id FROM time_entries;
                INSERT INTO topup_invoice_queue (customer_id, invoice_id) SELECT customer_id, id FROM invoices WHERE kind = 'topup';
                INSERT INTO topup_service_queue (customer_id, service_id)
                SELECT s.customer_id, s.id FROM services s JOIN plans p ON p.id = s.plan_id WHERE p.billing = 'prepaid';
                """)
        }
        let once = run(clean, asOf: finalAsOf, disabled: [])
        guard once.exitStatus == .success else { throw PostgresError.usage("the clean run ended \(once.exitStatus): \(once.output.skipped)") }
        let db = try clean.connect()
        defer { db.close() }
        let want = try Self.state(db)
        var differences: [String] = []
        for key in Set(state.keys).union(want.keys).sorted() where state[key] != want[key] {
            differences.append("\(key): \(state[key] ?? "0") after the sequence, \(want[key] ?? "0") by one clean run")
        }
        if let issued = once.output.counts["invoices"] { differences.append("the clean run issued \(issued) more top-up invoices") }
        return (differences, rerun, log)
    }

    @Test("seeded sequences of corrections and runs converge on one clean run; a further run emits nothing")
    func converges() throws {
        let seed = SeededNumbers.seed(from: "SUPPORTBILL_PROPERTY_SEED")
        for offset in 0..<UInt64(2) {
            let result = try Self.play(seed: seed &+ offset)
            #expect(result.differences.isEmpty, """
                seed \(seed &+ offset) (replay: SUPPORTBILL_PROPERTY_SEED=\(seed &+ offset)): \(result.differences.joined(separator: "; "))
                steps: \(result.log.joined(separator: " | "))
                """)
            #expect(result.rerun.isEmpty, "seed \(seed &+ offset): the further run emitted \(result.rerun)")
        }
    }

    @Test("with a correction switched off the property finds a counterexample")
    func counterexample() throws {
        let seed = SeededNumbers.seed(from: "SUPPORTBILL_PROPERTY_SEED")
        // Without re-rating debits made on another plan, a service moved from plan A (1.00/h)
        // to B (2.50/h) keeps its debits at A's rate (the random sequence may also re-date an
        // entry past Nov 1, which stays debited without `redated`).
        let result = try Self.play(seed: seed, disabled: [.planCorrected, .redated], forcePlanCorrection: true)
        #expect(!result.differences.isEmpty, "seed \(seed): no counterexample with plan_corrected and redated disabled")
        // The same sequence with every correction converges.
        #expect(try Self.play(seed: seed, forcePlanCorrection: true).differences.isEmpty, "seed \(seed)")
    }
}
