import BillingCore
import Testing

/// threshold-topup's taxes, planner only: a pack is invoiced gross at the customer's rate, its
/// payment credits the net pack amount, and the threshold counts unpaid packs at what they will
/// credit (net), so a taxed customer gets the same packs as an untaxed one.
@Suite("threshold-topup planner: taxes")
struct ThresholdTopupTaxPlannerTests {
    typealias T = ThresholdTopupPlannerTests
    static let vat19 = try! TaxRate(code: "DE-19", percent: ExactDecimal("19")!)

    static func plan(services: [ThresholdTopupInput.Service], invoices: [ThresholdTopupInput.TopupInvoice], tax: CustomerTax) throws -> ThresholdTopupPlan {
        var input = ThresholdTopupInput(customerID: T.customer, asOf: T.asOf, localAsOf: T.today, services: services, entries: [],
                                        invoices: invoices, rules: ThresholdTopupRules(dueDays: 7, maxTopupsPerDay: 3))
        input.tax = tax
        return try ThresholdTopupPlanner.plan(input)
    }

    @Test("a pack at 19 %: item 10.00 net, tax 1.90, gross 11.90, with the customer's note")
    func pack() throws {
        let plan = try Self.plan(services: [T.service()], invoices: [], tax: CustomerTax(rate: Self.vat19, note: "VAT ID DE123"))
        let invoice = try #require(plan.invoices.first)
        #expect(invoice.amount == 1000)
        #expect(invoice.taxRate == Self.vat19)
        #expect(invoice.taxes?.lines == [.init(rate: Self.vat19, base: 1000, tax: 190)])
        #expect(invoice.total == 1190)
        #expect(invoice.taxNote == "VAT ID DE123")
    }

    @Test("paid in full (gross): credited the net pack amount; paid net only: not paid, not credited")
    func creditIsNet() throws {
        var paid = T.invoice(5, total: 1190, paid: 1190)
        paid.subtotal = 1000
        let credited = try Self.plan(services: [T.service()], invoices: [paid], tax: CustomerTax(rate: Self.vat19))
        #expect(credited.ledger.map(\.amount) == [1000])
        #expect(credited.statusChanges.map(\.to) == [.paid])

        var short = T.invoice(6, total: 1190, paid: 1000)
        short.subtotal = 1000
        let waiting = try Self.plan(services: [T.service(balance: 500)], invoices: [short], tax: CustomerTax(rate: Self.vat19))
        #expect(waiting.ledger.isEmpty)
        #expect(waiting.statusChanges.isEmpty)
    }

    //   B = -10.00, one unpaid pack of 10.00 net (11.90 gross), threshold 0:
    //   B + P = -10.00 + 10.00 = 0 <= 0: one more pack (with the gross, 1.90 > 0 would have left the
    //   service without credit once the pack is paid).
    @Test("the threshold counts an unpaid pack at its net credit, as for an untaxed customer")
    func pendingIsNet() throws {
        var unpaid = T.invoice(7, total: 1190)
        unpaid.subtotal = 1000
        let taxed = try Self.plan(services: [T.service(balance: -1000)], invoices: [unpaid], tax: CustomerTax(rate: Self.vat19))
        let untaxed = try Self.plan(services: [T.service(balance: -1000)], invoices: [T.invoice(7, total: 1000)], tax: .untaxed)
        #expect(taxed.invoices.map(\.packs) == [1])
        #expect(untaxed.invoices.map(\.packs) == [1])
        #expect(taxed.invoices.first?.pending == 1000)
    }
}
