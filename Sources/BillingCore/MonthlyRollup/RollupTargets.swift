/// The billing rules of docs/design.md §8 for one customer: which lines are due in the window's
/// months, and what each line should bill.
///
/// Recurring fee: once per anniversary period (`period_months` from `starts_on`, never chained,
/// clamped to short months) that starts within the term `[starts_on, ends_on)`; no proration.
/// It is billed in the month the period starts, or with `bill_in_advance` in the month before,
/// but never before the month of `starts_on` (nobody is invoiced before ordering):
///
///     starts_on Jul 16, monthly, in advance:
///     Jul invoice: Jul 16–Aug 15 and Aug 16–Sep 15   (the first period cannot go earlier)
///     Aug invoice: Sep 16–Oct 15
///     Oct invoice: Nov 16–Dec 15
///
///     starts_on Aug 3, quarterly, cancelled with ends_on Nov 10 (exclusive), in arrears:
///     |-- Aug 3..Nov 2 --|-- Nov 3..Feb 2 --|
///     Aug invoice        Nov invoice (started Nov 3 < Nov 10: paid in full, no proration)
///                                            Feb 3: after the term, never billed
///
/// Setup fee: once, in the month of `starts_on`. `period_months = 0`: one fee for the whole
/// term, billed like the setup fee. Fees are billed on every plan kind (docs/design.md §8:
/// an incidents plan of 10 incidents a month at 99.00 bills 99.00 per period; a pre-paid plan
/// may charge a setup fee); usage only on metered plans.
///
/// Usage (metered plans): U = the month's billable minutes, each entry rounded up to the plan's
/// increment; billed = max(0, U - included_minutes) at `hourly_rate`, rounded half-up once for
/// the line. Included minutes never roll over.
///
/// Cut-over (docs/operations.md): a line dated before it is never due, so it is neither billed
/// nor, once billed, kept (a term corrected to start before the cut-over credits what was billed,
/// as one clean run over the corrected data would bill nothing for it):
///
///     cut-over Oct 15, monthly fee from Sep 20, metered usage:
///     |-- Sep 20..Oct 19 --|-- Oct 20..Nov 19 --|
///     not billed (before)   billed in October
///     October usage: only the entries worked on Oct 15 or later (the store sums no others)
struct RollupTargets {
    let window: RollupWindow
    let cutover: LocalDate?
    let services: [Int64: RollupService]
    let usage: [RollupLine: Int64]
    let increments: [RollupLine: Int64]

    init(_ input: MonthlyRollupInput) {
        window = input.window
        cutover = input.cutover
        var services: [Int64: RollupService] = [:]
        for service in input.services { services[service.id] = service }
        self.services = services
        var usage: [RollupLine: Int64] = [:]
        var increments: [RollupLine: Int64] = [:]
        for row in input.usage where input.window.contains(row.month) && !(input.cutover.map { row.month.next.firstDay <= $0 } ?? false) {
            usage[.usage(service: row.serviceID, month: row.month), default: 0] += row.minutes
            if let increment = row.incrementMinutes { increments[.usage(service: row.serviceID, month: row.month)] = increment }
        }
        self.usage = usage
        self.increments = increments
    }

    /// The dates whose periods may be billed in the window's months: from the first month's
    /// first day to the end of the month after the last (periods billed in advance).
    private var feeSearch: DateRange? {
        guard let first = window.months.first, let last = window.months.last else { return nil }
        return DateRange(start: first.firstDay, end: last.next.next.firstDay)
    }

    /// Refuses a customer whose services cannot be billed for the window: no price in the
    /// service's currency, or cancelled with no end to its term.
    func validate() throws {
        guard let search = feeSearch else { return }
        let usedServices = Set(usage.keys.map(\.serviceID))
        for service in services.values.sorted(by: { $0.id < $1.id }) {
            let overlaps = service.startsOn < search.end && (service.endsOn.map { $0 > search.start } ?? true)
            guard overlaps || usedServices.contains(service.id) else { continue }
            // A pre-paid or incidents service is the rollup's only through its fees.
            guard service.billing.requiresPrice || service.hasFees else { continue }
            if service.status == "cancelled" && service.endsOn == nil {
                throw BillingError.invalidInput("service \(service.id) (plan \(service.planCode)) is cancelled but has no ends_on: set the date its term ended, then re-run")
            }
            _ = try price(of: service)
        }
    }

    private func price(of service: RollupService) throws -> RollupPrice {
        guard let price = service.price else {
            // No price on a pre-paid or incidents plan: no fees (see `Billing.requiresPrice`).
            if !service.billing.requiresPrice { return RollupPrice(recurringFee: 0, setupFee: 0, hourlyRate: 0) }
            throw BillingError.invalidInput("service \(service.id) (plan \(service.planCode)) has no price in \(service.currency): add a plan_prices row for plan \(service.planID) in \(service.currency), then re-run")
        }
        return price
    }

    /// The month a fee period starting on `start` is billed in.
    static func billingMonth(ofPeriodStarting start: LocalDate, _ service: RollupService) -> YearMonth {
        guard service.billInAdvance else { return start.yearMonth }
        return max(start.yearMonth.previous, service.startsOn.yearMonth)
    }

    /// Whether `start` begins one of the service's fee periods within its term.
    private func feeDue(_ service: RollupService, _ start: LocalDate) -> Bool {
        guard service.hasTerm, start >= service.startsOn else { return false }
        if let end = service.endsOn, start >= end { return false }
        if service.periodMonths == 0 { return start == service.startsOn }
        return BillingPeriod.anniversary(containing: start, anchor: service.startsOn, months: service.periodMonths)?.range.start == start
    }

    /// The lines due in the window's months at today's prices, with the month each is billed in.
    /// Lines whose price is 0 bill nothing and are left out.
    func candidates() -> [RollupLine: YearMonth] {
        var lines: [RollupLine: YearMonth] = [:]
        guard let search = feeSearch else { return lines }
        for service in services.values {
            guard let price = service.price, service.hasTerm else { continue }
            if price.setupFee > 0, window.contains(service.startsOn.yearMonth), !beforeCutover(service.startsOn) {
                lines[.setup(service: service.id)] = service.startsOn.yearMonth
            }
            guard price.recurringFee > 0 else { continue }
            if service.periodMonths == 0 {
                if window.contains(service.startsOn.yearMonth), !beforeCutover(service.startsOn) {
                    lines[.fee(service: service.id, start: service.startsOn)] = service.startsOn.yearMonth
                }
                continue
            }
            for period in BillingPeriod.anniversaries(anchor: service.startsOn, months: service.periodMonths, startingIn: search, termEnd: service.endsOn) {
                let month = RollupTargets.billingMonth(ofPeriodStarting: period.range.start, service)
                if window.contains(month), !beforeCutover(period.range.start) { lines[.fee(service: service.id, start: period.range.start)] = month }
            }
        }
        for (line, minutes) in usage where minutes > 0 {
            guard let service = services[line.serviceID], service.billing == .metered, service.price != nil,
                  case .usage(_, let month) = line else { continue }
            lines[line] = month
        }
        return lines
    }

    /// What `line` should bill today.
    enum Decision {
        case bill(RollupTarget)
        /// Nothing (any amount billed for it is corrected away).
        case nothing
        /// Not the rollup's to correct any more: its service left the recurring and metered
        /// plans (or went back to pending) after the line was issued. What was issued stands.
        case asBilled
    }

    /// Decides what `line` should bill. `lock` holds the terms the line was first issued with:
    /// once issued, re-rating corrects quantities (time entries, the service's term) and never
    /// the terms. The unit price and the included minutes stay those issued, and a fee period
    /// stays due while it starts within the service's term, whatever later edits of the plan
    /// (price, included minutes, period length) say. Plan edits apply to lines billed after them.
    func target(_ line: RollupLine, lock: RollupLock?) throws -> Decision {
        guard let service = services[line.serviceID] else { return lock == nil ? .nothing : .asBilled }
        switch line {
        case .setup:
            guard service.hasTerm, !beforeCutover(service.startsOn) else { return .nothing }
            let unit = try lock?.unitPrice ?? price(of: service).setupFee
            guard unit != 0 else { return .nothing }
            let month = service.startsOn.yearMonth
            return .bill(RollupTarget(line: line, month: month, kind: "setup_fee", description: "\(service.planName), one-time setup fee",
                                      minutes: nil, quantity: ExactDecimal(1), unitPrice: unit, amount: unit, currency: service.currency,
                                      periodStart: month.firstDay, periodEnd: month.next.firstDay))
        case .fee(_, let start):
            guard !beforeCutover(start) else { return .nothing }
            guard lock == nil ? feeDue(service, start) : withinTerm(service, start) && anchored(service, start) else { return .nothing }
            let unit = try lock?.unitPrice ?? price(of: service).recurringFee
            guard unit != 0 else { return .nothing }
            var end: LocalDate? = service.endsOn
            if service.periodMonths > 0, let period = BillingPeriod.anniversary(containing: start, anchor: service.startsOn, months: service.periodMonths), period.range.start == start {
                end = period.range.end
            }
            var description = "\(service.planName), "
            if let end { description += "\(DateRange(start: start, end: end))" } else { description += "from \(start)" }
            if service.billInAdvance && service.periodMonths > 0 { description += " (in advance)" }
            return .bill(RollupTarget(line: line, month: RollupTargets.billingMonth(ofPeriodStarting: start, service), kind: "recurring_fee",
                                      description: description, minutes: nil, quantity: ExactDecimal(1), unitPrice: unit, amount: unit,
                                      currency: service.currency, periodStart: start, periodEnd: end))
        case .usage(_, let month):
            guard service.billing == .metered else { return lock == nil ? .nothing : .asBilled }
            guard let worked = usage[line], worked > 0 else { return .nothing }
            let rate = try lock?.unitPrice ?? price(of: service).hourlyRate
            let included = lock?.includedMinutes ?? service.includedMinutes
            let billed = max(0, worked - included)
            let amount = try MoneyMath.amount(minutes: billed, ratePerHour: rate)
            // The plan's name is on the fee line; billed hours are the quantity.
            var description = "Support time \(month): \(try MoneyMath.hours(minutes: worked)) h worked"
            if included > 0 {
                description += ", \(try MoneyMath.hours(minutes: included)) h included"
            }
            return .bill(RollupTarget(line: line, month: month, kind: "usage", description: description, minutes: worked,
                                      quantity: try MoneyMath.hours(minutes: billed), unitPrice: rate, amount: amount,
                                      currency: service.currency, periodStart: month.firstDay, periodEnd: month.next.firstDay,
                                      includedMinutes: included, incrementMinutes: increments[line]))
        }
    }

    /// Whether an issued fee period starting on `start` still follows the service's anchor: a
    /// monthly anniversary of `starts_on` (so a later change of `period_months` keeps it), or
    /// `starts_on` itself for a lifetime period. A corrected `starts_on` on another day of the
    /// month moves the anchor: the periods of the old anchor are no longer due (credited), those
    /// of the new one are billed, as one run over the corrected term would (docs/design.md §9).
    private func anchored(_ service: RollupService, _ start: LocalDate) -> Bool {
        if service.periodMonths == 0 { return start == service.startsOn }
        return BillingPeriod.anniversary(containing: start, anchor: service.startsOn, months: 1)?.range.start == start
    }

    /// Whether a fee period (or setup fee) dated `start` lies before the cut-over.
    private func beforeCutover(_ start: LocalDate) -> Bool {
        cutover.map { start < $0 } ?? false
    }

    /// Whether `start` lies within the service's term.
    private func withinTerm(_ service: RollupService, _ start: LocalDate) -> Bool {
        service.hasTerm && start >= service.startsOn && service.endsOn.map { start < $0 } ?? true
    }
}
