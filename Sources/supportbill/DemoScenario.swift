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
        /// Set the cut-over (`supportbill cutover --set`): the first date supportbill bills.
        case cutover(LocalDate, caption: String)
        /// Print the credit notes issued so far: their numbers (a series of their own) and the
        /// invoice each corrects, which the jobs' reports do not show.
        case creditNotes(caption: String)
    }

    let month: YearMonth
    /// The month: every job around its turn, as the timers run them.
    let theMonth: [Step]
    /// Then the past changes: one correction per job that has one to show, and what it emits.
    let corrections: [Step]
    var steps: [Step] { theMonth + corrections }

    init(month: YearMonth) {
        self.month = month
        let next = month.next.firstDay
        // The 1st of the next month, 14:00 UTC: the demo month has closed in every time zone.
        let closing = Instant(utc: next, hour: 14)
        theMonth = [
            // Going live (docs/operations.md "Cut-over"): the provider's old system billed what
            // came before. Three months before the demo month: services that started earlier
            // (Sakura Cloud's bundle) bill their periods from then on, and everything the demo
            // bills lies on or after it, so the month tells the story a fresh start would.
            .cutover(month.adding(months: -3).firstDay,
                     caption: "Going live: the provider's old billing system billed everything before \(month.adding(months: -3).firstDay); supportbill takes over from that date"),
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
            .change(caption: "The helpdesk clears \"requires incident\" on Tailspin's mail ticket (it was their own network)",
                    sql: "UPDATE tickets SET requires_incident = false WHERE customer_id = 4 AND subject LIKE 'Mail server unreachable%'"),
            .run(.incidentGrants, asOf: closing.adding(seconds: 1800), period: nil, caption: "Incidents again: the incident comes back, nothing is granted twice"),
            .run(.thresholdTopup, asOf: closing, period: nil, caption: "Pre-paid credit: debit time, top up"),
            .run(.monthlyRollup, asOf: closing, period: month, caption: "Month-end rollup: fees and usage into invoices"),
            .run(.monthlyRollup, asOf: closing.adding(seconds: 3600), period: month, caption: "The same rollup again: nothing is billed twice (Blue Yonder is still skipped for its missing EUR price, so it exits 65 too)"),
            .change(caption: "A late time entry: 30 more minutes on Northwind's mail ticket, logged after the invoice went out", sql: """
                INSERT INTO time_entries (customer_id, ticket_id, worked_at, minutes, staff, note)
                SELECT 1, 3, max(worked_at) + interval '1 day', 30, 'carol', 'Late entry: DMARC report review'
                  FROM time_entries WHERE customer_id = 1 AND ticket_id = 3
                """),
            .run(.monthlyRollup, asOf: closing.adding(seconds: 2 * 86_400), period: month, caption: "Re-rating the month: the issued invoice stays, an adjustment invoice bills the difference"),
            .change(caption: "Before the due date: Northwind, Contoso, Wingtip Toys and Sakura Cloud pay their invoices",
                    sql: DemoScenario.periodInvoicesPaid),
            .run(.suspensionSweep, asOf: Instant(utc: next.adding(days: 30), hour: 6), period: nil, caption: "Thirty days later: overdue invoices suspend services"),
            .change(caption: "Adventure Works pays what it owes", sql: DemoScenario.adventureWorksPays),
            .run(.suspensionSweep, asOf: Instant(utc: next.adding(days: 32), hour: 6), period: nil,
                 caption: "Two days later: the payment restores Adventure Works' priority support and its group"),
        ]
        corrections = [
            // Corrections (docs/design.md §9): the past changes after it was billed and paid; each
            // job emits the difference as explicit corrections, and issued invoices stay as
            // they are. One change per job, so each output has one cause.
            .change(caption: "Corrections, the next days. An edited entry: bob's reverse DNS work for Northwind took 30 minutes, not the 90 he logged",
                    sql: "UPDATE time_entries SET minutes = 30 WHERE customer_id = 1 AND ticket_id = 2 AND minutes = 90"),
            .run(.monthlyRollup, asOf: Instant(utc: next.adding(days: 33), hour: 14), period: month,
                 caption: "The rollup re-rates the month: 4.75 h -> 3.75 h worked, one hour less beyond the 2 h included at 60.00, so an adjustment of -60.00, a credit note (the issued invoices stay)"),
            .creditNotes(caption: "The credit note is numbered in a series of its own and names the invoice it corrects; Northwind has paid everything, so the credit waits for its next invoice"),
            .change(caption: "A reversed payment: Wingtip Toys' card payment of the month's invoice is charged back",
                    sql: DemoScenario.wingtipChargeback),
            .run(.suspensionSweep, asOf: Instant(utc: next.adding(days: 34), hour: 6), period: nil,
                 caption: "The sweep settles invoices from today's payments: Wingtip's is issued again (invoice_unpaid) and overdue, so its service is suspended and it leaves Priority Support"),
            .change(caption: "A withdrawn entry: Litware's 120 minutes on the mail cluster's quota alerts are marked not billable",
                    sql: "UPDATE time_entries SET billable = false WHERE customer_id = 7 AND ticket_id = 13"),
            .run(.contractExpiryRollover, asOf: Instant(utc: next.adding(days: 34), hour: 6), period: nil,
                 caption: "Contracts re-plan Litware's time: the 120 minutes return to contract 1, the 60 that rolled over return from contract 2 to it"),
        ]
    }

    // suspension-sweep's story (docs/jobs/suspension-sweep.md). Payments reference whatever
    // invoices monthly-rollup issued, so the statements do nothing when there are none.

    /// The demo's contract-expiry-rollover.toml: support on a ticket with no contract costs 49.00.
    static let contractParameters = """
        expired_time = "rollover"

        [per_incident_price]
        USD = 4900
        """

    /// Customers 1, 2, 5 and 6 pay their invoices (period and adjustment) in full, two days
    /// before the due date.
    static let periodInvoicesPaid = """
        INSERT INTO payments (customer_id, invoice_id, amount, currency, received_at, status)
        SELECT i.customer_id, i.id, i.total, i.currency,
               ((COALESCE(i.due_on, (i.issued_at AT TIME ZONE c.timezone)::date) - 2) + time '10:00') AT TIME ZONE c.timezone,
               'completed'
          FROM invoices i JOIN customers c ON c.id = i.customer_id
         WHERE i.customer_id IN (1, 2, 5, 6) AND i.kind IN ('period', 'adjustment') AND i.status = 'issued' AND i.total > 0
           AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.invoice_id = i.id AND p.customer_id = i.customer_id);
        """

    /// Wingtip Toys' (5) payment of its period invoice is reversed (a chargeback): the row stays,
    /// its status says it no longer counts.
    static let wingtipChargeback = """
        UPDATE payments SET status = 'reversed'
         WHERE customer_id = 5 AND status = 'completed'
           AND invoice_id IN (SELECT id FROM invoices WHERE customer_id = 5 AND kind = 'period');
        """

    /// Adventure Works (8) pays every invoice it still owes, sixteen days after it fell due.
    static let adventureWorksPays = """
        INSERT INTO payments (customer_id, invoice_id, amount, currency, received_at, status)
        SELECT i.customer_id, i.id, i.total, i.currency,
               ((COALESCE(i.due_on, (i.issued_at AT TIME ZONE c.timezone)::date) + 16) + time '09:00') AT TIME ZONE c.timezone,
               'completed'
          FROM invoices i JOIN customers c ON c.id = i.customer_id
         WHERE i.customer_id = 8 AND i.status = 'issued' AND i.total > 0
           AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.invoice_id = i.id AND p.customer_id = i.customer_id);
        """
}
