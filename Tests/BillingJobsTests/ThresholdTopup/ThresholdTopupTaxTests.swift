import BillingCore
import BillingJobs
import BillingStore
import Foundation
import Postgres
import TestSupport
import Testing

/// threshold-topup taxes its invoices (issue 18, docs/invoices.md "Taxes"): the customer pays the
/// gross total, the service is credited the net pack amount, and the threshold compares the
/// balance with what the unpaid packs will credit, as for an untaxed customer.
@Suite("threshold-topup on PostgreSQL: taxes")
struct ThresholdTopupTaxTests {
    //   1 h = 1.00, a pack of 10.00, threshold 0; Fabrikam at DE-19 19 %:
    //   Oct 1  B 0 + P 0 <= 0: pack invoice net 10.00 + tax 1.90 = gross 11.90
    //   Oct 2  paid 10.00 (< 11.90): still issued, nothing credited; B + P = 0 + 10.00 > 0: no second pack
    //   Oct 3  paid 1.90 more (= 11.90): credited +10.00 (net), paid; B = 10.00 > 0: no pack
    //   Oct 4  10 h worked: B = 0 <= 0: the next pack, again 11.90
    @Test("the invoice is gross, payments settle the gross, the credit is the net pack amount")
    func taxedPack() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        try f.taxRate("DE-19", "19.0000")
        let plan = try f.prepaidPlan()
        let (customer, service, ticket) = try f.prepaidCustomer(plan: plan)
        try f.tax(customer: customer, rate: "DE-19", note: "USt-IdNr. DE123456789")

        let first = try ThresholdTopupJobTests.run(database, "2026-10-01T00:05:00Z")
        #expect(first.exitStatus == .success, "\(first.output.skipped)")
        #expect(first.output.totals[try CurrencyCode("USD")]?["invoiced"] == 1190)
        let record = try #require(first.output.records[.invoices]?.first?.fields)
        #expect(record["total"] == 1190)
        #expect(record["subtotal"] == 1000)
        #expect(record["tax_total"] == 190)
        #expect(record["tax_note"] == "USt-IdNr. DE123456789")
        #expect(record["taxes"] == .array([.object([("tax_rate", "DE-19"), ("tax_percent", .decimal("19")), ("base", 1000), ("tax", 190)])]))
        #expect(record["items"]?.arrayValue?.first?["amount"] == 1000)
        let pack = try #require(try f.taxedInvoices(customer: customer).first)
        #expect([pack.subtotal, pack.taxTotal, pack.total] == [1000, 190, 1190])
        #expect(pack.taxes == ["DE-19 19.0000 1000 190"])
        #expect(try f.itemRates(invoice: pack.id) == ["topup 1000 DE-19 19.0000"])

        // The net amount paid is not the gross total: not paid, not credited.
        try f.payment(customer: customer, invoice: pack.id, amount: 1000, receivedAt: "2026-10-02T09:00:00Z")
        let partly = try ThresholdTopupJobTests.run(database, "2026-10-02T10:05:00Z")
        #expect(partly.exitStatus == .success)
        #expect(partly.output.counts["invoices_paid"] == nil)
        #expect(partly.output.counts["invoices"] == nil)
        #expect(try f.topups(customer: customer).map(\.status) == ["issued"])
        try ThresholdTopupJobTests.expectBalance(f, customer: customer, service: service, 0)

        try f.payment(customer: customer, invoice: pack.id, amount: 190, receivedAt: "2026-10-03T09:00:00Z")
        let paid = try ThresholdTopupJobTests.run(database, "2026-10-03T10:05:00Z")
        #expect(paid.output.counts["invoices_paid"] == 1)
        #expect(ThresholdTopupJobTests.amounts(paid) == [1000])
        #expect(paid.output.counts["invoices"] == nil)
        #expect(try f.topups(customer: customer).map(\.status) == ["paid"])
        try ThresholdTopupJobTests.expectBalance(f, customer: customer, service: service, 1000)

        // Ten hours used: B = 0 <= 0, the next pack.
        try f.entry(customer: customer, ticket: ticket, workedAt: "2026-10-04T09:00:00Z", minutes: 600)
        let next = try ThresholdTopupJobTests.run(database, "2026-10-04T10:05:00Z")
        #expect(next.output.counts["invoices"] == 1)
        #expect(try f.topups(customer: customer).map(\.total) == [1190, 1190])
        try ThresholdTopupJobTests.expectBalance(f, customer: customer, service: service, 0)
    }
}
