import BillingCore
import Testing

@Suite("settlement: credit notes apply to the month they correct, then the oldest open invoices")
struct CreditSettlementTests {
    static let usd = try! CurrencyCode("USD")
    static let eur = try! CurrencyCode("EUR")

    private func date(_ text: String) -> LocalDate { try! LocalDate(text) }

    private func invoice(_ id: Int64, _ total: Int64, paid: Int64 = 0, due: String, month: String? = nil, kind: String = "period",
                         currency: CurrencyCode = CreditSettlementTests.usd) -> CreditSettlement.Invoice {
        let start = month.map { date("\($0)-01") }
        return CreditSettlement.Invoice(id: id, kind: kind, currency: currency, total: total, paid: paid, dueOn: date(due),
                                        periodStart: start, periodEnd: start?.adding(months: 1))
    }

    private func note(_ id: Int64, _ amount: Int64, month: String?, currency: CurrencyCode = CreditSettlementTests.usd) -> CreditSettlement.CreditNote {
        let start = month.map { date("\($0)-01") }
        return CreditSettlement.CreditNote(id: id, currency: currency, amount: amount, periodStart: start, periodEnd: start?.adding(months: 1))
    }

    private func lines(_ result: CreditSettlement.Result) -> [String] {
        result.applications.map { "\($0.creditNoteID)->\($0.invoiceID):\($0.amount):\($0.rule.rawValue)" }
    }

    @Test("the corrected month first, then earliest due (then id); the rest is unapplied per currency")
    func order() throws {
        let result = try CreditSettlement.settle(
            invoices: [
                invoice(12, 4000, due: "2026-11-15", month: "2026-10"),
                invoice(11, 3000, paid: 1000, due: "2026-10-15", month: "2026-09"),
                invoice(10, 500, due: "2026-10-15", month: "2026-09"),
                invoice(13, 2000, due: "2026-09-01", kind: "topup"),
                invoice(14, 900, due: "2026-09-01", currency: Self.eur),
            ],
            creditNotes: [note(20, 7000, month: "2026-10")])
        #expect(lines(result) == ["20->10:500:oldest_open", "20->11:2000:oldest_open", "20->12:4000:corrected_month"])
        #expect(result.unapplied == [Self.usd: 500])
        #expect(result.unappliedByNote == [20: 500])
        #expect(result.standing(11)?.outstanding == 0)
        #expect(result.standing(11)?.credited == 2000)
        #expect(result.standing(13)?.outstanding == 2000) // top-ups take no credit
        #expect(result.standing(14)?.outstanding == 900)  // another currency
    }

    @Test("each credit note's own month is served before any credit note's leftovers")
    func monthsBeforeLeftovers() throws {
        // Note 30 (September, 5000) could take October's invoice as its oldest-open leftover;
        // note 31 (October) must get it first.
        let result = try CreditSettlement.settle(
            invoices: [invoice(1, 1000, due: "2026-10-15", month: "2026-09"), invoice(2, 3000, due: "2026-11-15", month: "2026-10")],
            creditNotes: [note(30, 5000, month: "2026-09"), note(31, 3000, month: "2026-10")])
        #expect(lines(result) == ["30->1:1000:corrected_month", "31->2:3000:corrected_month"])
        #expect(result.unapplied == [Self.usd: 4000])
    }

    @Test("payments come first: a paid or overpaid invoice takes no credit; the result does not depend on input order")
    func paymentsFirst() throws {
        let invoices = [invoice(1, 1000, paid: 1200, due: "2026-10-15", month: "2026-10"), invoice(2, 3000, paid: 2000, due: "2026-11-15")]
        let notes = [note(9, 1500, month: "2026-10"), note(8, 200, month: nil)]
        let result = try CreditSettlement.settle(invoices: invoices, creditNotes: notes)
        #expect(lines(result) == ["8->2:200:oldest_open", "9->2:800:oldest_open"])
        #expect(result.standing(1)?.outstanding == -200)
        #expect(result.standing(2)?.outstanding == 0)
        #expect(try CreditSettlement.settle(invoices: invoices.reversed(), creditNotes: notes.reversed()) == result)
    }

    @Test("the planner withdraws what no longer holds and numbers a pair's next application")
    func plannerDiff() throws {
        let input = SuspensionSweepInput(
            customerID: 7, localAsOf: date("2026-11-20"),
            invoices: [SuspensionSweepInput.Invoice(id: 1, kind: "period", currency: Self.usd, status: .paid, total: 4900, paid: 0,
                                                    dueOn: date("2026-11-15"), issuedOn: date("2026-11-01"), serviceIDs: [],
                                                    periodStart: date("2026-10-01"), periodEnd: date("2026-11-01"))],
            creditNotes: [note(5, 4900, month: "2026-10")],
            applications: [.init(id: 100, creditNoteID: 5, invoiceID: 1, currency: Self.usd, amount: 4000)],
            applicationCounts: [.init(creditNoteID: 5, invoiceID: 1): 1])
        let plan = try SuspensionSweepPlanner.plan(input)
        #expect(plan.withdrawals.map(\.stored.id) == [100])
        #expect(plan.withdrawals.first?.reason == "the credit of credit note 5 on invoice 1 is now 4900")
        #expect(plan.applications.map(\.sourceKey) == ["suspension-sweep:credit:5:1:2"])
        #expect(plan.applications.first?.application.amount == 4900)
        #expect(plan.unpaid.isEmpty)
        #expect(plan.paid.isEmpty)

        // Without the credit note the paid invoice reopens, unless the correction is switched off.
        var bare = input
        bare.creditNotes = []
        #expect(try SuspensionSweepPlanner.plan(bare).unpaid.map(\.invoiceID) == [1])
        #expect(try SuspensionSweepPlanner.plan(bare, options: .init(reopensPaidInvoices: false)).unpaid.isEmpty)
    }
}
