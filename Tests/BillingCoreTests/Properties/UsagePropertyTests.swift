import BillingCore
import Testing

/// monthly-rollup's usage lines over random months of usage, first billed and then re-rated.
@Suite("property: per-month usage sums to the total, and re-rating bills every line exactly")
struct UsagePropertyTests {
    static let usd = try! CurrencyCode("USD")
    static let asOf = try! Instant(rfc3339: "2026-11-01T14:00:00Z")

    /// 1–3 metered services with a package fee (so every month has an invoice), random included
    /// minutes and hourly rates, over a window of 1–6 closed months.
    struct Case: CustomStringConvertible {
        var services: [RollupService]
        var months: [YearMonth]
        var usage: [RollupUsage]

        var description: String {
            let list = services.map { "service \($0.id) included \($0.includedMinutes) rate \($0.price?.hourlyRate ?? 0)" }
            return "\(list.joined(separator: ", ")); months \(months); usage \(usage.map { "\($0.serviceID)/\($0.month)=\($0.minutes)" })"
        }

        static func random(_ g: inout SeededGenerator) -> Case {
            let count = g.int(1...6)
            let months = (0..<count).reversed().map { try! YearMonth("2026-10").adding(months: -$0) }
            let services = (1...Int64(g.int(1...3))).map { id in
                RollupService(id: id, planID: id, planCode: "metered-\(id)", planName: "Metered \(id)", billing: .metered, periodMonths: 1,
                              billInAdvance: false, includedMinutes: Int64(g.pick([0, 0, 60, 120, g.int(1...600)])),
                              currency: UsagePropertyTests.usd, status: "active", startsOn: try! LocalDate("2025-01-01"), endsOn: nil,
                              price: RollupPrice(recurringFee: g.int64(1...50_000), setupFee: 0, hourlyRate: g.int64(0...99_999)))
            }
            var usage: [RollupUsage] = []
            for service in services {
                for month in months where g.chance(80) {
                    usage.append(RollupUsage(serviceID: service.id, month: month, minutes: Self.minutes(&g)))
                }
            }
            return Case(services: services, months: months, usage: usage)
        }

        /// Rounded minutes as the usage query hands them over, small and large.
        static func minutes(_ g: inout SeededGenerator) -> Int64 {
            g.chance(70) ? g.int64(1...600) : g.int64(1...200_000)
        }

        func input(_ books: RollupBooks, usage: [RollupUsage]? = nil) -> MonthlyRollupInput {
            MonthlyRollupInput(customerID: 7, localAsOf: try! LocalDate("2026-11-01"), asOf: UsagePropertyTests.asOf,
                               window: RollupWindow(months: months), services: services, usage: usage ?? self.usage,
                               invoices: books.invoices, openItems: books.openItems, dueDays: 14, issue: true)
        }
    }

    static func plan(_ input: MonthlyRollupInput) throws -> MonthlyRollupPlan {
        switch MonthlyRollupPlanner.plan(input) {
        case .plan(let plan): return plan
        case .skip(let reason): throw BillingError.invalidInput("unexpected skip: \(reason)")
        }
    }

    /// What a line bills for `minutes` under the service's terms.
    static func expectedAmount(_ service: RollupService, minutes: Int64) throws -> Int64 {
        try MoneyMath.amount(minutes: max(0, minutes - service.includedMinutes), ratePerHour: service.price?.hourlyRate ?? 0)
    }

    @Test("first billing: each month's usage line carries that month's minutes, and the months add up to the total")
    func firstBilling() {
        PropertyCheck.forAll("per-month usage") { g in
            let example = Case.random(&g)
            let plan = try Self.plan(example.input(RollupBooks()))
            let items = plan.invoices.flatMap(\.items).filter { $0.kind == "usage" }
            for service in example.services {
                let expected = example.usage.filter { $0.serviceID == service.id }
                let lines = items.filter { $0.serviceID == service.id }
                for row in expected {
                    let onLine = lines.filter { $0.line == .usage(service: service.id, month: row.month) }
                    guard onLine.count == 1, onLine[0].minutes == row.minutes else {
                        return "service \(service.id) \(row.month): usage items \(onLine.map { $0.minutes ?? -1 }), expected \(row.minutes): \(example)"
                    }
                    guard onLine[0].amount == (try Self.expectedAmount(service, minutes: row.minutes)) else {
                        return "service \(service.id) \(row.month): amount \(onLine[0].amount) for \(row.minutes) min: \(example)"
                    }
                }
                let billedMinutes = try MoneyMath.sum(lines.compactMap(\.minutes))
                let workedMinutes = try MoneyMath.sum(expected.map(\.minutes))
                guard billedMinutes == workedMinutes, lines.count == expected.count else {
                    return "service \(service.id): \(billedMinutes) min on \(lines.count) usage lines, \(workedMinutes) min worked in \(expected.count) months: \(example)"
                }
            }
            for invoice in plan.invoices where invoice.total != (try MoneyMath.sum(invoice.items.map(\.amount))) {
                return "invoice \(invoice.sourceKey) totals \(invoice.total), its items \(invoice.items.map(\.amount)): \(example)"
            }
            return nil
        }
    }

    @Test("re-rating: after any changes of usage, each line's items sum to what its final minutes cost; a rerun plans nothing")
    func rerating() {
        PropertyCheck.forAll("usage re-rating") { g in
            let example = Case.random(&g)
            var books = RollupBooks()
            var usage = example.usage
            for round in 0..<g.int(1...4) {
                if round > 0 {
                    // Late entries, edits, withdrawn time, months that had none.
                    usage = usage.compactMap { row in
                        switch g.int(0...3) {
                        case 0: return nil
                        case 1: return RollupUsage(serviceID: row.serviceID, month: row.month, minutes: Case.minutes(&g))
                        default: return row
                        }
                    }
                    for service in example.services {
                        for month in example.months where g.chance(15) && !usage.contains(where: { $0.serviceID == service.id && $0.month == month }) {
                            usage.append(RollupUsage(serviceID: service.id, month: month, minutes: Case.minutes(&g)))
                        }
                    }
                }
                books.apply(try Self.plan(example.input(books, usage: usage)))
            }
            let all = books.invoices.flatMap(\.items)
            for service in example.services {
                for month in example.months {
                    let minutes = usage.first { $0.serviceID == service.id && $0.month == month }?.minutes ?? 0
                    let line = RollupLine.usage(service: service.id, month: month)
                    let billed = try MoneyMath.sum(all.filter { $0.line == line }.map(\.amount))
                    let owed = try Self.expectedAmount(service, minutes: minutes)
                    guard billed == owed else {
                        return "\(line): items bill \(billed), \(minutes) min cost \(owed) (final usage \(usage)): \(example)"
                    }
                }
            }
            for invoice in books.invoices where invoice.total != (try MoneyMath.sum(invoice.items.map(\.amount))) {
                return "invoice \(invoice.sourceKey) totals \(invoice.total), its items sum to \(try MoneyMath.sum(invoice.items.map(\.amount))): \(example)"
            }
            let again = try Self.plan(example.input(books, usage: usage))
            guard again.invoices.isEmpty else { return "a rerun with unchanged usage plans \(again.invoices.map(\.sourceKey)): \(example)" }
            return nil
        }
    }
}
