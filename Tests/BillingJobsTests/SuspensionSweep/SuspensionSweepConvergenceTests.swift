import BillingCore
import BillingJobs
import BillingStore
import Foundation
import Postgres
import TestSupport
import Testing

/// Convergence (docs/design.md §9), as a seeded property on a real database: random sequences of
/// input corrections interleaved with sweeps at increasing as_of end in the same state as ONE
/// clean sweep over the final inputs on a fresh copy, and a further sweep emits nothing.
///
/// Replay a failure with the seed its message prints:
///
///     SUPPORTBILL_PROPERTY_SEED=<seed> swift test --filter SuspensionSweepConvergenceTests
///
/// `SUPPORTBILL_PROPERTY_CASES` sets the number of cases (default 3; about five seconds a case on the shared two-core build machine).
@Suite("suspension-sweep converges: corrections interleaved with sweeps end where one clean sweep ends")
struct SuspensionSweepConvergenceTests {
    typealias World = SuspensionSweepJobTests.World

    static var cases: Int { ProcessInfo.processInfo.environment["SUPPORTBILL_PROPERTY_CASES"].flatMap(Int.init) ?? 3 }

    /// What the sweep decides, compared between the two databases.
    struct State: Equatable, CustomStringConvertible {
        var invoices: [String]
        var services: [String]
        var memberships: [String]
        var applications: [String]

        var description: String {
            "invoices \(invoices)\n  services \(services)\n  managed memberships \(memberships)\n  credit applications \(applications)"
        }

        static func read(_ db: PostgresConnection) throws -> State {
            func strings(_ sql: String) throws -> [String] { try db.query(sql).map { try $0.decode(0, as: String.self) } }
            return State(
                invoices: try strings("SELECT id || ':' || status FROM invoices ORDER BY id"),
                services: try strings("SELECT id || ':' || status || ':' || COALESCE(suspend_reason, '-') FROM services ORDER BY id"),
                memberships: try strings("SELECT customer_id || '/' || group_id FROM customer_group_members WHERE managed ORDER BY 1"),
                applications: try strings("""
                    SELECT credit_note_id || '->' || invoice_id || ':' || amount FROM credit_applications
                     WHERE superseded_at IS NULL ORDER BY credit_note_id, invoice_id
                    """))
        }
    }

    /// One generated case: the seed, the edits as they were made (for the failure message).
    struct Case {
        var numbers: SeededNumbers
        var log: [String] = []
        let options: SuspensionSweepPlanner.Options
    }

    static func sweep(_ w: World, _ asOf: Instant, _ options: SuspensionSweepPlanner.Options) -> JobReport {
        var parameters = SuspensionSweepParameters()
        parameters.maxSuspensions = 0
        return JobRunner(target: w.database.target).run(SuspensionSweepJob(parameters: parameters, options: options), JobRunRequest(
            asOf: asOf, customers: [], dryRun: false, force: false, batchSize: 500, invokedBy: "property"))
    }

    static func sweep(_ database: TestDatabase, _ asOf: Instant, _ options: SuspensionSweepPlanner.Options) -> JobReport {
        var parameters = SuspensionSweepParameters()
        parameters.maxSuspensions = 0
        return JobRunner(target: database.target).run(SuspensionSweepJob(parameters: parameters, options: options), JobRunRequest(
            asOf: asOf, customers: [], dryRun: false, force: false, batchSize: 500, invokedBy: "property"))
    }

    /// Runs one case; returns nil when it converges, else the counterexample.
    static func check(seed: UInt64, options: SuspensionSweepPlanner.Options) throws -> String? {
        let w = try SuspensionSweepJobTests.world()
        defer { w.close() }
        var c = Case(numbers: SeededNumbers(seed: seed), options: options)
        let db = w.db
        let fixtures = w.fixtures

        // Two customers (one 14 hours ahead of UTC), each with a grouped and an ungrouped service,
        // September and October invoices; one has a staff membership the sweep must keep.
        var customers: [(id: Int64, services: [Int64])] = []
        for (index, zone) in ["UTC", "Pacific/Kiritimati"].enumerated() {
            let customer = try fixtures.customer("Customer \(index)", timezone: zone)
            let grouped = try fixtures.service(customer: customer, plan: w.priorityFlat, startsOn: "2026-08-01")
            let plain = try fixtures.service(customer: customer, plan: w.hourly, startsOn: "2026-08-01")
            customers.append((customer, [grouped, plain]))
            try w.sweep.invoice(customer: customer, lines: [.init(service: grouped, amount: 3000), .init(service: plain, amount: 1500)],
                                issuedAt: "2026-10-01T14:00:00Z", dueOn: "2026-10-15", run: w.run, month: "2026-09")
            try w.sweep.invoice(customer: customer, lines: [.init(service: grouped, amount: 4900)], dueOn: "2026-11-15", run: w.run, month: "2026-10")
            try w.sweep.invoice(customer: customer, lines: [.init(service: plain, amount: 2000)], dueOn: "2026-11-15", run: w.run, month: "2026-10")
        }
        try w.sweep.member(customer: customers[1].id, group: w.priorityGroup, managed: false)

        var asOf = try LocalDate("2026-10-20")
        func instant() -> Instant { Instant(utc: asOf, hour: 6) }
        let steps = c.numbers.next(in: 5...9)
        for _ in 0..<steps {
            for _ in 0..<c.numbers.next(in: 1...3) {
                try edit(&c, db, fixtures, w, customers: customers, on: instant())
            }
            asOf = asOf.adding(days: c.numbers.next(in: 1...5))
            let report = sweep(w, instant(), options)
            guard report.exitStatus == .success else { return "sweep at \(instant()) exited \(report.exitStatus): \(report.output.notices) \(report.error ?? "")" }
            c.log.append("sweep \(instant())")
        }
        // A last correction after the last sweep, so the final sweep has something to correct.
        try edit(&c, db, fixtures, w, customers: customers, on: instant())
        asOf = asOf.adding(days: 1)
        let final = instant()
        _ = sweep(w, final, options)
        c.log.append("sweep \(final)")
        let further = sweep(w, final, options)
        let interleaved = try State.read(db)

        // The fresh copy: the same inputs, none of the sweep's outputs (invoices as issued,
        // no applications, services as staff left them, no managed memberships), swept once.
        db.close()
        let clean = try w.database.copy(suffix: "clean")
        defer { clean.drop() }
        let cleanDB = try clean.connect()
        defer { cleanDB.close() }
        try cleanDB.execute("UPDATE invoices SET status = 'issued' WHERE status = 'paid'")
        try cleanDB.execute("TRUNCATE credit_applications")
        try cleanDB.execute("UPDATE services SET status = 'active', suspend_reason = NULL, suspended_at = NULL WHERE suspend_reason = 'overdue'")
        try cleanDB.execute("DELETE FROM customer_group_members WHERE managed")
        let once = sweep(clean, final, options)
        guard once.exitStatus == .success else { return "the clean sweep exited \(once.exitStatus)" }
        let expected = try State.read(cleanDB)

        var problems: [String] = []
        if interleaved != expected { problems.append("state differs from one clean sweep:\n  interleaved \(interleaved)\n  clean       \(expected)") }
        if let events = further.output.records[.events], !events.isEmpty {
            problems.append("a further sweep emitted \(events.map { $0.fields["event"]?.stringValue ?? "?" })")
        }
        return problems.isEmpty ? nil : problems.joined(separator: "\n") + "\nedits:\n  " + c.log.joined(separator: "\n  ")
    }

    /// One random correction of the inputs, as the provider's other systems (or monthly-rollup,
    /// for credit notes and new invoices) make it.
    static func edit(_ c: inout Case, _ db: PostgresConnection, _ fixtures: Fixtures, _ w: World,
                     customers: [(id: Int64, services: [Int64])], on at: Instant) throws {
        let customer = c.numbers.pick(customers)
        let invoices = try db.query("""
            SELECT id, total FROM invoices WHERE customer_id = $1 AND total > 0 ORDER BY id
            """, [customer.id]).map { (try $0.decode(0, as: Int64.self), try $0.decode(1, as: Int64.self)) }
        let payments = try db.query("SELECT id, amount FROM payments WHERE customer_id = $1 ORDER BY id", [customer.id])
            .map { (try $0.decode(0, as: Int64.self), try $0.decode(1, as: Int64.self)) }
        let notes = try db.query("""
            SELECT id FROM invoices WHERE customer_id = $1 AND total < 0 AND status = 'issued' ORDER BY id
            """, [customer.id]).map { try $0.decode(0, as: Int64.self) }
        let kind = c.numbers.next(in: 0...10)
        switch kind {
        case 0, 1, 2: // a payment arrives: in full, half, or a round 10.00
            let (invoice, total) = c.numbers.pick(invoices)
            let amount = c.numbers.pick([total, total / 2, 1000])
            _ = try fixtures.payment(customer: customer.id, invoice: invoice, amount: amount, receivedAt: at.description)
            c.log.append("pay \(amount) to invoice \(invoice)")
        case 3 where !payments.isEmpty: // deleted
            let (payment, _) = c.numbers.pick(payments)
            try db.execute("DELETE FROM payments WHERE id = $1", [payment])
            c.log.append("delete payment \(payment)")
        case 4 where !payments.isEmpty: // reduced
            let (payment, amount) = c.numbers.pick(payments)
            try db.execute("UPDATE payments SET amount = $2 WHERE id = $1", [payment, max(1, amount / 2)])
            c.log.append("reduce payment \(payment) to \(max(1, amount / 2))")
        case 5 where !payments.isEmpty: // reversed
            let (payment, _) = c.numbers.pick(payments)
            try db.execute("UPDATE payments SET status = 'reversed' WHERE id = $1", [payment])
            c.log.append("reverse payment \(payment)")
        case 6 where !payments.isEmpty: // moved to another invoice
            let (payment, _) = c.numbers.pick(payments)
            let (invoice, _) = c.numbers.pick(invoices)
            try db.execute("UPDATE payments SET invoice_id = $2 WHERE id = $1", [payment, invoice])
            c.log.append("move payment \(payment) to invoice \(invoice)")
        case 7: // a credit note from monthly-rollup, for one of three months
            let month = c.numbers.pick(["2026-09", "2026-10", "2026-11"])
            let amount = Int64(c.numbers.pick([1000, 2500, 4900, 9000]))
            let note = try w.sweep.creditNote(customer: customer.id, service: c.numbers.pick(customer.services), amount: amount, month: month,
                                              issuedAt: at.description, run: w.run)
            c.log.append("credit note \(note) of \(amount) for \(month)")
        case 8: // a later invoice is issued
            let amount = Int64(c.numbers.pick([1200, 3000]))
            let invoice = try w.sweep.invoice(customer: customer.id, lines: [.init(service: c.numbers.pick(customer.services), amount: amount)],
                                              issuedAt: at.description, dueOn: at.utcDate.adding(days: 14).description, run: w.run,
                                              month: "2026-11")
            c.log.append("invoice \(invoice) of \(amount)")
        case 10 where !notes.isEmpty: // a credit note made void
            let note = c.numbers.pick(notes)
            try db.execute("UPDATE invoices SET status = 'void' WHERE id = $1", [note])
            c.log.append("void credit note \(note)")
        default: // a service status or term corrected by staff
            let service = c.numbers.pick(customer.services)
            let (status, reason): (String, String?) = c.numbers.pick([("active", nil), ("cancelled", nil), ("suspended", "manual"), ("pending", nil)])
            try db.execute("""
                UPDATE services SET status = $2, suspend_reason = $3, suspended_at = CASE WHEN $2 = 'suspended' THEN $4::timestamptz END,
                                    ends_on = CASE WHEN $2 = 'cancelled' THEN DATE '2026-12-01' END
                 WHERE id = $1
                """, [service, status, reason, at])
            c.log.append("service \(service) set \(status)\(reason.map { " (\($0))" } ?? "")")
        }
    }

    @Test("random corrections interleaved with sweeps converge to one clean sweep; a further sweep emits nothing")
    func converges() throws {
        let base = SeededNumbers.seed(from: "SUPPORTBILL_PROPERTY_SEED")
        for index in 0..<max(1, Self.cases) {
            let seed = base &+ UInt64(index)
            if let counterexample = try Self.check(seed: seed, options: .init()) {
                Issue.record("convergence fails for seed \(seed) (replay: SUPPORTBILL_PROPERTY_SEED=\(seed)): \(counterexample)")
                return
            }
        }
    }

    @Test("with the unpaid correction switched off, the property finds a counterexample")
    func findsCounterexampleWithoutUnpaidCorrection() throws {
        let base = SeededNumbers.seed(from: "SUPPORTBILL_PROPERTY_SEED")
        var found: String?
        var tried: [UInt64] = []
        for index in 0..<12 where found == nil {
            let seed = base &+ UInt64(index)
            tried.append(seed)
            found = try Self.check(seed: seed, options: .init(reopensPaidInvoices: false))
        }
        #expect(found != nil, "no counterexample for seeds \(tried): the property does not see a paid invoice left paid")
        if let found { print("convergence without the unpaid correction fails as expected: \(found.prefix(300))") }
    }
}
