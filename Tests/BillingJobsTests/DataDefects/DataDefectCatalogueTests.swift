import BillingCore
import BillingJobs
import BillingStore
import Foundation
import Postgres
import TestSupport
import Testing

/// docs/data-defects.md, row by row: the defective customer is skipped with a reason (in the
/// report and in job_runs.stats), nothing is written for it, every clean customer is billed,
/// the run ends partial with exit 65; and `supportbill check` lists the defect beforehand.
@Suite("Data defects: skipped with a reason, never billed around, listed by check")
struct DataDefectCatalogueTests {
    @Test("each defect skips its customer and bills the others", arguments: DefectCase.catalogue)
    func defect(_ defect: DefectCase) throws {
        let world = try DefectWorld()
        defer { world.close() }
        let customer = try defect.setup(world)

        if let kind = defect.kind {
            let found = try DataDefectScanner.scan(world.db, asOf: DefectWorld.asOf)
            #expect(found.contains { $0.customerID == customer && $0.kind == kind }, "check lists \(kind.rawValue): \(found)")
            #expect(found.allSatisfy { $0.customerID == customer }, "only the defective customer is listed: \(found)")
            for job in defect.jobs {
                #expect(found.contains { $0.customerID == customer && $0.jobs.contains(job) }, "check names \(job) as blocked")
            }
        }

        for job in defect.jobs {
            let report = try world.run(job)
            #expect(report.exitStatus == .dataError, "\(job): \(report.error ?? "")")
            #expect(report.status == .partial, "\(job)")
            let run = try #require(report.runID)
            #expect(report.output.skipped.map(\.customerID) == [customer], "\(job) skipped \(report.output.skipped)")
            let reason = report.output.skipped.first?.reason ?? ""
            #expect(reason.contains(defect.reason(for: job)), "\(job): \(reason)")
            let recorded = try world.recordedSkips(run: run)
            #expect(recorded.map(\.customer) == [customer], "\(job): job_runs.stats")
            #expect(recorded.first?.reason == reason, "\(job): job_runs.stats keeps the reason")
            #expect(try world.rowsWritten(customer: customer, run: run) == 0, "\(job) wrote nothing for the skipped customer")
            #expect(try world.cleanBilled(job, run: run), "\(job) billed its clean customer")
            // A rerun skips it again, with the same reason: nothing is forgotten once reported.
            let again = try world.run(job)
            #expect(again.exitStatus == .dataError)
            #expect(again.output.skipped.map(\.reason) == [reason], "\(job) rerun")
        }
    }

    /// Every kind `check` knows, all at once in one database: each is listed, with its customer.
    @Test("check lists every kind of the catalogue, and only the defective customers")
    func everyKind() throws {
        let world = try DefectWorld()
        defer { world.close() }
        var defective: Set<Int64> = []
        for defect in DefectCase.catalogue where defect.kind != nil {
            defective.insert(try defect.setup(world))
        }
        let other = try world.f.customer("Pays for someone else")
        try world.f.payment(customer: other, invoice: try world.db.query("SELECT min(id) FROM invoices").scalar(Int64.self),
                            amount: 100, receivedAt: "2026-11-05T10:00:00Z")
        // A late entry (check only): June, older than the rollup's window of Aug..Oct as of Nov 30.
        let late = try world.f.customer("Late entry")
        let lateService = try world.f.service(customer: late, plan: world.metered, startsOn: "2026-05-01")
        let lateTicket = try world.f.ticket(customer: late, service: lateService, openedAt: "2026-06-01T09:00:00Z")
        try world.f.entry(customer: late, ticket: lateTicket, workedAt: "2026-06-10T10:00:00Z", minutes: 30)
        // A gap in the invoice numbers (check only, no customer): one number taken by hand.
        try world.db.execute("""
            INSERT INTO invoice_counters (series, credit_note, year, last_value, last_issued_at)
            VALUES ('default', true, 0, 2, now())
            ON CONFLICT (series, credit_note, year) DO UPDATE SET last_value = invoice_counters.last_value + 2
            """)
        let found = try DataDefectScanner.scan(world.db, asOf: DefectWorld.asOf)
        #expect(Set(found.map(\.kind)) == Set(DataDefectKind.allCases))
        let gap = try #require(found.first { $0.kind == .invoiceNumberGap })
        #expect(gap.customerID == nil && gap.jobs.isEmpty)
        #expect(gap.detail.contains("credit-note counter of invoice series default") && gap.detail.contains("missing"), "\(gap.detail)")
        #expect(Set(found.compactMap(\.customerID)) == defective.union([other, late]))
        #expect(found.contains { $0.customerID == late && $0.kind == .lateEntryBeforeWindow && $0.jobs.isEmpty })
        #expect(found.contains { $0.customerID == other && $0.kind == .paymentOtherCustomerInvoice && $0.jobs.isEmpty })
        // The filter: one customer's defects only.
        let one = try #require(defective.min())
        #expect(try DataDefectScanner.scan(world.db, asOf: DefectWorld.asOf, customers: [one]) == found.filter { $0.customerID == one })

        // The command prints the same, as the runner role, read-only.
        let before = try world.f.count("job_runs")
        let result = try ChildProcess.supportbill(["check", "--as-of", DefectWorld.asOf.description, "--format", "json",
                                                   "--database", world.database.runnerConninfo])
        #expect(result.status == 65, "\(result.stderr)")
        let json = try JSONValue(parsing: result.stdout)
        #expect(json["count"]?.intValue == Int64(found.count))
        let listed = (json["defects"]?.arrayValue ?? []).map { "\($0["customer_id"]?.intValue ?? 0) \($0["kind"]?.stringValue ?? "") \($0["entity_id"]?.intValue ?? 0)" }
        #expect(listed == found.map { "\($0.customerID ?? 0) \($0.kind.rawValue) \($0.entityID)" })
        #expect(try world.f.count("job_runs") == before)
    }

    /// The jobs skip a customer whose defect the runner knows about before the job sees it; a
    /// customer with several names the first and counts the rest.
    @Test("several defects of one customer: skipped once, the reason counts the others")
    func severalDefects() throws {
        let world = try DefectWorld()
        defer { world.close() }
        let d = try world.defective(plan: world.metered, endsOn: "2026-08-01")
        try world.f.entry(customer: d.customer, ticket: d.ticket, workedAt: "2029-01-05T10:00:00Z", minutes: 45)
        let report = try world.run("monthly-rollup")
        #expect(report.output.skipped.count == 1)
        let reason = try #require(report.output.skipped.first?.reason)
        #expect(reason.contains("(and 1 more defect: supportbill check lists them)"), "\(reason)")
        #expect(reason.hasSuffix(", then re-run"))
    }

    /// Not a defect: docs/design.md §8 bills one period invoice per customer, currency and month, so a
    /// service priced in another currency than its customer's is billed on an invoice of its own.
    @Test("a service in another currency than its customer's is billed in its currency, not skipped")
    func serviceCurrencyDiffers() throws {
        let world = try DefectWorld()
        defer { world.close() }
        try world.f.price(plan: world.metered, currency: "EUR", hourlyRate: 5000)
        let d = try world.defective(plan: world.metered, serviceCurrency: "EUR", minutes: 60)
        #expect(try DataDefectScanner.scan(world.db, asOf: DefectWorld.asOf).isEmpty)
        let report = try world.run("monthly-rollup")
        #expect(report.exitStatus == .success)
        #expect(try world.f.count("invoices", where: "customer_id = $1 AND currency = 'EUR' AND total = 5000", [d.customer]) == 1)
    }
}
