import BillingCore
import Testing

@Suite("Rounding: increments per entry, half away from zero per line")
struct MoneyMathTests {
    @Test("time entries round up to the plan's increment", arguments: [
        (7, 15, 15), (15, 15, 15), (16, 15, 30), (1, 15, 15), (29, 15, 30), (30, 15, 30), (31, 15, 45),
        (50, 15, 60), (7, 1, 7), (59, 60, 60), (61, 60, 120), (1, 6, 6), (13, 6, 18),
    ] as [(Int64, Int64, Int64)])
    func roundUp(minutes: Int64, increment: Int64, expected: Int64) throws {
        #expect(try MoneyMath.roundUp(minutes: minutes, toIncrement: increment) == expected)
    }

    @Test("an increment below 1 is refused, never a division by zero")
    func zeroIncrement() {
        #expect(throws: BillingError.invalidIncrement(0)) { try MoneyMath.roundUp(minutes: 10, toIncrement: 0) }
        #expect(throws: BillingError.invalidIncrement(-15)) { try MoneyMath.roundUp(minutes: 10, toIncrement: -15) }
    }

    @Test("amount = roundHalfUp(minutes × rate / 60)", arguments: [
        // The seed: 2.25 h of overtime at 60.00/h = 135.00.
        (135, 6000, 13500),
        // 1 h = 1.00: 255 minutes = 4.25.
        (255, 100, 425),
        // 1 minute at 1.00/h = 1.666 cents -> 2 cents.
        (1, 100, 2),
        // 1 minute at 0.30/h = 0.5 cent -> 1 cent (half away from zero).
        (1, 30, 1),
        // 1 minute at 0.29/h = 0.4833 cent -> 0.
        (1, 29, 0),
        // 7 minutes at 1.00/h = 11.666 -> 12.
        (7, 100, 12),
        // JPY has no minor units: 75 minutes at 9000 JPY/h = 11250 JPY.
        (75, 9000, 11250),
        // KWD has three: 20 minutes at 12.500 KWD/h = 4.1666 KWD -> 4.167.
        (20, 12500, 4167),
        (0, 6000, 0),
    ] as [(Int64, Int64, Int64)])
    func amount(minutes: Int64, rate: Int64, expected: Int64) throws {
        #expect(try MoneyMath.amount(minutes: minutes, ratePerHour: rate) == expected)
    }

    @Test("negative amounts round half away from zero too (corrections mirror charges)", arguments: [
        (-1, 30, -1),   // -0.5 -> -1
        (-1, 29, 0),    // -0.4833 -> 0
        (-1, 100, -2),  // -1.666 -> -2
        (-135, 6000, -13500),
        (-7, 100, -12),
    ] as [(Int64, Int64, Int64)])
    func negativeAmounts(minutes: Int64, rate: Int64, expected: Int64) throws {
        #expect(try MoneyMath.amount(minutes: minutes, ratePerHour: rate) == expected)
        #expect(try MoneyMath.amount(minutes: -minutes, ratePerHour: rate) == -expected)
    }

    @Test("division rounds half away from zero exactly at the half")
    func halves() {
        #expect(MoneyMath.divideRoundingHalfAwayFromZero(30, by: 60) == 1)
        #expect(MoneyMath.divideRoundingHalfAwayFromZero(-30, by: 60) == -1)
        #expect(MoneyMath.divideRoundingHalfAwayFromZero(29, by: 60) == 0)
        #expect(MoneyMath.divideRoundingHalfAwayFromZero(-29, by: 60) == 0)
        #expect(MoneyMath.divideRoundingHalfAwayFromZero(90, by: 60) == 2)
        #expect(MoneyMath.divideRoundingHalfAwayFromZero(-90, by: 60) == -2)
        #expect(MoneyMath.divideRoundingHalfAwayFromZero(5, by: 2) == 3)
        #expect(MoneyMath.divideRoundingHalfAwayFromZero(-5, by: 2) == -3)
    }

    @Test("overflow is an error, never a wrapped amount")
    func overflow() {
        #expect(throws: BillingError.self) { try MoneyMath.amount(minutes: Int64.max / 2, ratePerHour: 1000) }
        #expect(throws: BillingError.self) { try MoneyMath.add(Int64.max, 1) }
        #expect(throws: BillingError.self) { try MoneyMath.multiply(Int64.max, 2) }
        #expect(throws: BillingError.self) { try MoneyMath.sum([Int64.max, 1]) }
        #expect(throws: BillingError.self) { try MoneyMath.roundUp(minutes: Int64.max - 1, toIncrement: 15) }
        #expect(throws: BillingError.self) { try MoneyMath.hours(minutes: Int64.max / 10) }
    }

    @Test("billed hours are exact decimals", arguments: [
        (255, "4.25"), (135, "2.25"), (60, "1"), (0, "0"), (15, "0.25"), (20, "0.333333"), (40, "0.666667"), (-135, "-2.25"),
    ] as [(Int64, String)])
    func hours(minutes: Int64, expected: String) throws {
        #expect(try MoneyMath.hours(minutes: minutes).description == expected)
    }

    @Test("money is formatted with the currency's exponent")
    func formatting() throws {
        #expect(Currency(code: try CurrencyCode("USD"), minorUnits: 2).format(13500) == "135.00 USD")
        #expect(Currency(code: try CurrencyCode("USD"), minorUnits: 2).format(-5) == "-0.05 USD")
        #expect(Currency(code: try CurrencyCode("JPY"), minorUnits: 0).format(11250) == "11250 JPY")
        #expect(Currency(code: try CurrencyCode("KWD"), minorUnits: 3).format(4167) == "4.167 KWD")
        #expect(Currency(code: try CurrencyCode("KWD"), minorUnits: 3).format(-1) == "-0.001 KWD")
    }

    @Test("currency codes are three upper-case letters")
    func currencyCodes() {
        #expect((try? CurrencyCode("USD")) != nil)
        for bad in ["usd", "US", "USDD", "U$D", "", "EUR; DROP TABLE x"] {
            #expect(throws: BillingError.self) { try CurrencyCode(bad) }
        }
    }

    @Test("money adds within one currency only")
    func moneyAddition() throws {
        let usd = try CurrencyCode("USD")
        let sum = try Money(minorUnits: 100, currency: usd).adding(Money(minorUnits: 250, currency: usd))
        #expect(sum == Money(minorUnits: 350, currency: usd))
        #expect(throws: BillingError.self) { try Money(minorUnits: 1, currency: usd).adding(Money(minorUnits: 1, currency: try CurrencyCode("EUR"))) }
    }

    @Test("exact decimals parse, print and compare by value")
    func exactDecimal() {
        #expect(ExactDecimal("2.250")?.description == "2.250")
        #expect(ExactDecimal("2.250") == ExactDecimal("2.25"))
        #expect(ExactDecimal("-0.05")?.description == "-0.05")
        #expect(ExactDecimal(units: 5, scale: 3).description == "0.005")
        #expect(ExactDecimal("1e5") == nil)
        #expect(ExactDecimal("abc") == nil)
    }
}
