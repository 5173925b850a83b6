/// The one place where supportbill rounds. Exact integer arithmetic with overflow checks.
///
/// - Time entries are rounded **up** per entry to the plan's increment before summing
///   (increment 15: 7 -> 15, 15 -> 15, 16 -> 30; increment 1: exact minutes).
/// - Money is rounded **half away from zero** ("half-up") to a whole minor unit, once per line:
///   `amount = roundHalfUp(minutes * ratePerHour / 60)`.
public enum MoneyMath {
    /// `minutes` rounded up to the next multiple of `increment` (both > 0 for billable time).
    public static func roundUp(minutes: Int64, toIncrement increment: Int64) throws -> Int64 {
        guard increment >= 1 else { throw BillingError.invalidIncrement(increment) }
        guard minutes > 0 else { return 0 }
        let (quotient, remainder) = minutes.quotientAndRemainder(dividingBy: increment)
        let steps = remainder == 0 ? quotient : quotient + 1
        let (rounded, overflow) = steps.multipliedReportingOverflow(by: increment)
        guard !overflow else { throw BillingError.overflow("\(minutes) minutes") }
        return rounded
    }

    /// The price of `minutes` at `ratePerHour` minor units per hour, rounded half away from zero.
    /// Works for negative minutes or rates (corrections): -0.5 rounds to -1, like 0.5 to 1.
    public static func amount(minutes: Int64, ratePerHour: Int64) throws -> Int64 {
        let (product, overflow) = minutes.multipliedReportingOverflow(by: ratePerHour)
        guard !overflow else { throw BillingError.overflow("\(minutes) minutes at \(ratePerHour) per hour") }
        return divideRoundingHalfAwayFromZero(product, by: 60)
    }

    /// `numerator / denominator` rounded half away from zero; `denominator` > 0.
    public static func divideRoundingHalfAwayFromZero(_ numerator: Int64, by denominator: Int64) -> Int64 {
        precondition(denominator > 0, "denominator must be positive")
        let (quotient, remainder) = numerator.quotientAndRemainder(dividingBy: denominator)
        // remainder has the sign of numerator; |remainder| * 2 >= denominator means "half or more".
        let twice = remainder.magnitude * 2
        guard twice >= denominator.magnitude else { return quotient }
        return numerator < 0 ? quotient - 1 : quotient + 1
    }

    /// The tax on `base` at `percent` (19.0000 = 19 %), rounded half away from zero to a whole
    /// minor unit: `roundHalfUp(base × percent / 100)`. Taken once per invoice and rate on the
    /// sum of that rate's item amounts (docs/invoices.md), never per item. A negative base (a
    /// credit note) gives a negative tax rounded away from zero: -0.5 -> -1, like 0.5 -> 1.
    public static func tax(base: Int64, percent: ExactDecimal) throws -> Int64 {
        guard percent.units >= 0 else { throw BillingError.invalidInput("a tax rate cannot be negative: \(percent) %") }
        var denominator: Int64 = 100
        for _ in 0..<percent.scale {
            let (next, overflow) = denominator.multipliedReportingOverflow(by: 10)
            guard !overflow else { throw BillingError.overflow("tax rate \(percent) %") }
            denominator = next
        }
        let (product, overflow) = base.multipliedReportingOverflow(by: percent.units)
        guard !overflow else { throw BillingError.overflow("tax on \(base) at \(percent) %") }
        return divideRoundingHalfAwayFromZero(product, by: denominator)
    }

    /// `count * unitPrice`, refusing overflow.
    public static func multiply(_ count: Int64, _ unitPrice: Int64) throws -> Int64 {
        let (product, overflow) = count.multipliedReportingOverflow(by: unitPrice)
        guard !overflow else { throw BillingError.overflow("\(count) x \(unitPrice)") }
        return product
    }

    public static func add(_ lhs: Int64, _ rhs: Int64) throws -> Int64 {
        let (sum, overflow) = lhs.addingReportingOverflow(rhs)
        guard !overflow else { throw BillingError.overflow("\(lhs) + \(rhs)") }
        return sum
    }

    /// Sums amounts, refusing overflow.
    public static func sum<S: Sequence>(_ amounts: S) throws -> Int64 where S.Element == Int64 {
        try amounts.reduce(0) { try add($0, $1) }
    }

    /// Billed hours as an exact decimal: `minutes / 60` to at most 6 decimal places, rounded
    /// half away from zero only when the division does not terminate (255 min -> 4.25 h,
    /// 20 min -> 0.333333 h). Informational: amounts are always computed from minutes.
    public static func hours(minutes: Int64) throws -> ExactDecimal {
        let (scaled, overflow) = minutes.multipliedReportingOverflow(by: 1_000_000)
        guard !overflow else { throw BillingError.overflow("\(minutes) minutes as hours") }
        return ExactDecimal(units: divideRoundingHalfAwayFromZero(scaled, by: 60), scale: 6).normalized
    }
}
