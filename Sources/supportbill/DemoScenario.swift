import BillingCore
import BillingJobs

/// What `supportbill demo` does after loading the demo data: the jobs a provider's timers would
/// run around the turn of the month, and what happens in between (a customer pays, ...).
struct DemoScenario {
    enum Step {
        /// Run a job at `asOf` (and, for monthly-rollup, for `period`).
        case run(JobName, asOf: Instant, period: YearMonth?, caption: String)
        /// Change the data between runs (static SQL: it carries no outside values).
        case change(caption: String, sql: String)
    }

    let month: YearMonth
    let steps: [Step]

    init(month: YearMonth) {
        self.month = month
        let next = month.next.firstDay
        // The 1st of the next month, 14:00 UTC: the demo month has closed in every time zone.
        let closing = Instant(utc: next, hour: 14)
        steps = [
            // Pre-paid credit through the month (threshold-topup runs hourly in production): the
            // first pack on the 1st, paid the next day; on the 10th the time so far is debited and
            // the payment credited; at the close the tenth hour is used up and the next pack issued.
            .run(.thresholdTopup, asOf: Instant(utc: month.firstDay, minute: 5), period: nil, caption: "The 1st: a pre-paid service without credit gets its first pack"),
            .change(caption: "The 2nd: Fabrikam Servers pays its top-up invoice", sql: """
                INSERT INTO payments (customer_id, invoice_id, amount, currency, received_at)
                SELECT customer_id, id, total, currency, issued_at + interval '1 day 9 hours'
                  FROM invoices WHERE customer_id = 3 AND kind = 'topup' AND status = 'issued'
                """),
            .run(.thresholdTopup, asOf: Instant(utc: month.firstDay.adding(days: 9), hour: 12), period: nil, caption: "The 10th: the time worked so far is debited, the paid pack credited"),
            .run(.contractExpiryRollover, asOf: closing, period: nil, caption: "Contracts: activate, charge time, expire, roll over"),
            .run(.incidentGrants, asOf: closing, period: nil, caption: "Incidents: grant packs, consume them for tickets"),
            .run(.thresholdTopup, asOf: closing, period: nil, caption: "Pre-paid credit: debit time, top up"),
            .run(.monthlyRollup, asOf: closing, period: month, caption: "Month-end rollup: fees and usage into invoices"),
            .run(.monthlyRollup, asOf: closing.adding(seconds: 3600), period: month, caption: "The same rollup again: nothing is billed twice"),
            .run(.suspensionSweep, asOf: Instant(utc: next.adding(days: 30), hour: 6), period: nil, caption: "Thirty days later: overdue invoices suspend services"),
        ]
    }

    /// The steps whose jobs this binary implements.
    func runnableSteps(implemented: [JobName]) -> [Step] {
        steps.filter { step in
            if case .run(let job, _, _, _) = step { return implemented.contains(job) }
            return true
        }
    }
}
