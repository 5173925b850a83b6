import BillingCore
import Testing

/// Tax vectors (docs/invoices.md, "Taxes"): per invoice and rate, tax = roundHalfUp(base × rate
/// / 100), away from zero for credit notes; amounts in minor units of the invoice's currency.
@Suite("Taxes: once per invoice and rate, half away from zero")
struct InvoiceTaxesTests {
    static let vat19 = try! TaxRate(code: "DE-19", percent: ExactDecimal("19.0000")!)
    static let vat7 = try! TaxRate(code: "DE-7", percent: ExactDecimal("7.0000")!)
    static let zero = try! TaxRate(code: "EU-RC", percent: ExactDecimal("0.0000")!)

    @Test("MoneyMath.tax", arguments: [
        // USD, 19 %: 39.99 -> 7.5981 -> 7.60.
        (3999, "19.0000", 760),
        // JPY (no minor units), 10 %: 1234 -> 123.4 -> 123; 1235 -> 123.5 -> 124.
        (1234, "10", 123), (1235, "10", 124),
        // KWD (three decimals), 5 %: 12.345 -> 0.61725 -> 0.617.
        (12345, "5", 617),
        // A four-decimal rate: 8.875 % of 100.00 = 8.875 -> 8.88.
        (10000, "8.8750", 888),
        // 0 %: reverse charge.
        (5000, "0.0000", 0),
        // A credit note: -39.99 at 19 % = -7.5981 -> -7.60; -2.50 at 7 % = -0.175 -> -0.18.
        (-3999, "19", -760), (-250, "7", -18),
        // Half a minor unit exactly: 0.50 at 1 % = 0.005 -> 0.01; and -0.005 -> -0.01.
        (50, "1", 1), (-50, "1", -1),
        (0, "19", 0),
    ] as [(Int64, String, Int64)])
    func tax(base: Int64, percent: String, expected: Int64) throws {
        #expect(try MoneyMath.tax(base: base, percent: ExactDecimal(percent)!) == expected)
    }

    @Test("a negative rate and an overflowing product are refused")
    func refused() {
        #expect(throws: BillingError.self) { try MoneyMath.tax(base: 100, percent: ExactDecimal("-1")!) }
        #expect(throws: BillingError.self) { try MoneyMath.tax(base: Int64.max / 2, percent: ExactDecimal("19.0000")!) }
    }

    @Test("a rate is a percent from 0 to 999.9999 with at most four decimals, equal by value")
    func rates() throws {
        #expect(try TaxRate(code: "X", percent: ExactDecimal("19.0000")!) == TaxRate(code: "X", percent: ExactDecimal("19")!))
        #expect(throws: BillingError.self) { try TaxRate(code: "X", percent: ExactDecimal("19.00001")!) }
        #expect(throws: BillingError.self) { try TaxRate(code: "X", percent: ExactDecimal("1000")!) }
        #expect(throws: BillingError.self) { try TaxRate(code: "X", percent: ExactDecimal("-1")!) }
    }

    @Test("two rates on one invoice: each rate's base is rounded once, not each item")
    func twoRates() throws {
        // Three items of 0.03 at 19 %: per rate 0.09 × 19 % = 0.0171 -> 0.02; per item it would
        // have been 0.0057 -> 0.01 each, 0.03 in all. One item of 2.50 at 7 %: 0.175 -> 0.18.
        // One untaxed item of 1.00 counts in the subtotal only.
        let taxes = try InvoiceTaxes(items: [
            (3, Self.vat19), (3, Self.vat19), (3, Self.vat19), (250, Self.vat7), (100, nil),
        ])
        #expect(taxes.lines == [
            .init(rate: Self.vat19, base: 9, tax: 2),
            .init(rate: Self.vat7, base: 250, tax: 18),
        ])
        #expect(taxes.subtotal == 359)
        #expect(taxes.taxTotal == 20)
        #expect(taxes.total == 379)
    }

    @Test("a credit note at the rate of what it corrects: negative base, tax away from zero")
    func creditNote() throws {
        let taxes = try InvoiceTaxes(items: [(-3999, Self.vat19), (-250, Self.vat7)])
        #expect(taxes.lines.map(\.tax) == [-760, -18])
        #expect(taxes.subtotal == -4249)
        #expect(taxes.total == -5027)
    }

    @Test("reverse charge: a 0 % line is kept (the invoice shows it with its note), tax 0")
    func reverseCharge() throws {
        let taxes = try InvoiceTaxes(items: [(13500, Self.zero)])
        #expect(taxes.lines == [.init(rate: Self.zero, base: 13500, tax: 0)])
        #expect(taxes.total == 13500)
    }

    @Test("an untaxed invoice: no lines, total = subtotal")
    func untaxed() throws {
        let taxes = try InvoiceTaxes(items: [(13500, nil), (-500, nil)])
        #expect(taxes.lines.isEmpty)
        #expect(taxes.total == 13000)
    }

    @Test("the same rate code at two percents (a rate changed between an issued month and its correction) gives two lines")
    func rateChanged() throws {
        let old = try TaxRate(code: "UK-VAT", percent: ExactDecimal("17.5")!)
        let new = try TaxRate(code: "UK-VAT", percent: ExactDecimal("20.0000")!)
        let taxes = try InvoiceTaxes(items: [(-1000, old), (2000, new)])
        #expect(taxes.lines == [.init(rate: old, base: -1000, tax: -175), .init(rate: new, base: 2000, tax: 400)])
        #expect(taxes.total == 1225)
    }
}
