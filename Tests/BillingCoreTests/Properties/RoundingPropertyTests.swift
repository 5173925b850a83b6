import BillingCore
import Testing

/// The one rounding rule (docs/design.md §3) over random minutes and rates.
@Suite("property: rounding")
struct RoundingPropertyTests {
    @Test("half-up money rounding is off by at most half a minor unit, and exact halves go away from zero")
    func halfUp() {
        PropertyCheck.forAll("half-up rounding") { g in
            let minutes = g.chance(80) ? g.int64(-100_000...100_000) : g.int64(-50_000_000...50_000_000)
            let rate = g.chance(80) ? g.int64(0...100_000) : g.int64(-1_000_000...1_000_000)
            let amount = try MoneyMath.amount(minutes: minutes, ratePerHour: rate)
            // amount ≈ minutes × rate / 60: compare in sixtieths of a minor unit, exactly.
            let exact = minutes * rate
            let error = amount * 60 - exact
            guard abs(error) <= 30 else { return "\(minutes) min at \(rate)/h = \(amount), off by \(error)/60 of a minor unit" }
            if abs(error) == 30 {
                // A tie: the rounded value lies away from zero.
                guard (exact > 0 && error > 0) || (exact < 0 && error < 0) else { return "\(minutes) min at \(rate)/h: tie rounded to \(amount), towards zero" }
            }
            // Symmetric: a correction of -m costs exactly minus what m costs.
            guard try MoneyMath.amount(minutes: -minutes, ratePerHour: rate) == -amount else { return "\(minutes) min at \(rate)/h is not symmetric" }
            return nil
        }
    }

    @Test("per-line rounding on invoices: every usage line of a plan is within half a minor unit of minutes × rate / 60")
    func perLine() {
        PropertyCheck.forAll("per-line rounding") { g in
            let example = UsagePropertyTests.Case.random(&g)
            let plan = try UsagePropertyTests.plan(example.input(RollupBooks()))
            for item in plan.invoices.flatMap(\.items) where item.kind == "usage" {
                guard let service = example.services.first(where: { $0.id == item.serviceID }), let minutes = item.minutes else {
                    return "usage item \(item.sourceKey) without service or minutes"
                }
                let billed = max(0, minutes - service.includedMinutes)
                let error = item.amount * 60 - billed * item.unitPrice
                guard abs(error) <= 30 else { return "\(item.sourceKey): \(billed) min at \(item.unitPrice)/h billed \(item.amount), off by \(error)/60: \(example)" }
            }
            return nil
        }
    }

    @Test("time rounds up to the increment: never less than worked, less than one increment more, a whole number of increments")
    func increments() {
        PropertyCheck.forAll("increment rounding") { g in
            let minutes = g.int64(1...100_000)
            let increment = g.pick([1, 5, 6, 10, 15, 30, 60, g.int64(1...240)])
            let rounded = try MoneyMath.roundUp(minutes: minutes, toIncrement: increment)
            guard rounded >= minutes, rounded - minutes < increment, rounded % increment == 0 else {
                return "\(minutes) min in steps of \(increment) rounded to \(rounded)"
            }
            return nil
        }
    }
}
