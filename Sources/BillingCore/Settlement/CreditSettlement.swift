/// How a customer's invoices stand: what its completed payments and its credit notes settle
/// (docs/design.md §7; docs/jobs/suspension-sweep.md, "Settlement"). One pure function, shared by
/// suspension-sweep (which stores the applications and moves invoice statuses) and
/// `supportbill balance` (which shows them); threshold-topup can call it for its top-up
/// invoices too.
///
/// The allocation is a function of today's invoices, payments and credit notes only, never of
/// what was allocated before or in which order things arrived: so a sweep after any sequence of
/// corrections ends where one clean sweep over the final data ends.
///
/// 1. An invoice needs `total - completed payments` (payments are earmarked by `invoice_id`, so
///    they come first; a credit note is fungible).
/// 2. Credit notes in id order apply to the open invoices *of the month they correct* (same
///    currency, `period_start` and `period_end` equal to the credit note's), earliest due first,
///    then id.
/// 3. Then, credit notes in id order apply what is left to the customer's open invoices in that
///    currency, earliest due first, then id. What is still left is unapplied credit, which a
///    later invoice receives when it is issued (it then is an open invoice of step 3).
/// 4. An invoice is settled when payments plus applied credit reach its total.
///
/// Top-up invoices receive no credit: threshold-topup ties each one to a pre-paid ledger credit
/// and moves its status by its payments; a credit note settling one would be undone by that job
/// on its next run. Credit notes of one month are applied in full before any other month's
/// leftovers (two passes), so that a later credit note for month M is not beaten to M's invoice
/// by an older credit note's leftover.
public enum CreditSettlement {
    /// An issued (or paid) invoice with a positive total.
    public struct Invoice: Sendable, Equatable {
        public let id: Int64
        /// `period`, `topup` or `adjustment` (a positive adjustment: a debit note).
        public let kind: String
        public let currency: CurrencyCode
        public let total: Int64
        /// Sum of the completed payments in the invoice's currency that reference it.
        public let paid: Int64
        /// The effective due date (`due_on`, or the local issue date when NULL).
        public let dueOn: LocalDate
        public let periodStart: LocalDate?
        public let periodEnd: LocalDate?

        public init(id: Int64, kind: String, currency: CurrencyCode, total: Int64, paid: Int64, dueOn: LocalDate,
                    periodStart: LocalDate? = nil, periodEnd: LocalDate? = nil) {
            self.id = id
            self.kind = kind
            self.currency = currency
            self.total = total
            self.paid = paid
            self.dueOn = dueOn
            self.periodStart = periodStart
            self.periodEnd = periodEnd
        }

        /// What payments leave open, never below zero (an overpayment is no credit for others).
        public var needAfterPayments: Int64 { paid >= total ? 0 : total - paid }
    }

    /// An issued `adjustment` invoice with a negative total.
    public struct CreditNote: Sendable, Equatable {
        public let id: Int64
        public let currency: CurrencyCode
        /// The credit: minus the credit note's total (positive).
        public let amount: Int64
        public let periodStart: LocalDate?
        public let periodEnd: LocalDate?

        public init(id: Int64, currency: CurrencyCode, amount: Int64, periodStart: LocalDate?, periodEnd: LocalDate?) {
            self.id = id
            self.currency = currency
            self.amount = amount
            self.periodStart = periodStart
            self.periodEnd = periodEnd
        }
    }

    public enum Rule: String, Sendable, Equatable {
        /// An open invoice of the month the credit note corrects.
        case correctedMonth = "corrected_month"
        /// The customer's oldest open invoices, then later ones.
        case oldestOpen = "oldest_open"
    }

    /// Part of a credit note applied to an invoice.
    public struct Application: Sendable, Hashable {
        public let creditNoteID: Int64
        public let invoiceID: Int64
        public let currency: CurrencyCode
        public let amount: Int64
        public let rule: Rule

        public init(creditNoteID: Int64, invoiceID: Int64, currency: CurrencyCode, amount: Int64, rule: Rule) {
            self.creditNoteID = creditNoteID
            self.invoiceID = invoiceID
            self.currency = currency
            self.amount = amount
            self.rule = rule
        }
    }

    /// An invoice after settlement.
    public struct Standing: Sendable, Equatable {
        public let invoice: Invoice
        /// Credit applied to it.
        public let credited: Int64
        /// `total - paid - credited`: positive while open, zero or less once settled.
        public let outstanding: Int64

        public var isSettled: Bool { outstanding <= 0 }
    }

    public struct Result: Sendable, Equatable {
        /// By credit note id, then invoice id.
        public var applications: [Application] = []
        /// Every invoice given, by id.
        public var standings: [Int64: Standing] = [:]
        /// Credit left on each credit note (every credit note given, zero when used up).
        public var unappliedByNote: [Int64: Int64] = [:]
        /// Credit left per currency.
        public var unapplied: [CurrencyCode: Int64] = [:]

        public func standing(_ invoiceID: Int64) -> Standing? { standings[invoiceID] }
    }

    /// Invoice kinds that receive credit (see the type's comment on top-up invoices).
    public static func receivesCredit(_ invoice: Invoice) -> Bool { invoice.kind != "topup" && invoice.total > 0 }

    /// The settlement of one customer's invoices and credit notes. Throws only when an amount
    /// overflows 64 bits (a defect in the data).
    public static func settle(invoices: [Invoice], creditNotes: [CreditNote]) throws -> Result {
        let ordered = invoices.sorted { ($0.dueOn, $0.id) < ($1.dueOn, $1.id) }
        var need: [Int64: Int64] = [:]
        for invoice in ordered where receivesCredit(invoice) { need[invoice.id] = invoice.needAfterPayments }
        let notes = creditNotes.filter { $0.amount > 0 }.sorted { $0.id < $1.id }
        var left: [Int64: Int64] = Dictionary(uniqueKeysWithValues: notes.map { ($0.id, $0.amount) })
        var applied: [Int64: [Int64: (amount: Int64, rule: Rule)]] = [:] // note -> invoice -> amount

        func apply(_ note: CreditNote, to invoice: Invoice, rule: Rule) {
            guard let remaining = left[note.id], remaining > 0, let open = need[invoice.id], open > 0 else { return }
            let amount = min(remaining, open)
            left[note.id] = remaining - amount
            need[invoice.id] = open - amount
            let before = applied[note.id]?[invoice.id]
            applied[note.id, default: [:]][invoice.id] = ((before?.amount ?? 0) + amount, before?.rule ?? rule)
        }

        // Pass 1: the month each credit note corrects.
        for note in notes {
            guard let start = note.periodStart else { continue }
            for invoice in ordered where invoice.currency == note.currency && invoice.periodStart == start
                && invoice.periodEnd == note.periodEnd {
                apply(note, to: invoice, rule: .correctedMonth)
            }
        }
        // Pass 2: the oldest open invoices, then later ones.
        for note in notes {
            for invoice in ordered where invoice.currency == note.currency {
                apply(note, to: invoice, rule: .oldestOpen)
            }
        }

        var result = Result()
        var credited: [Int64: Int64] = [:]
        for note in notes {
            for (invoiceID, entry) in (applied[note.id] ?? [:]).sorted(by: { $0.key < $1.key }) {
                result.applications.append(Application(
                    creditNoteID: note.id, invoiceID: invoiceID, currency: note.currency, amount: entry.amount, rule: entry.rule))
                credited[invoiceID, default: 0] += entry.amount
            }
            let remaining = left[note.id] ?? 0
            result.unappliedByNote[note.id] = remaining
            if remaining > 0 {
                let (sum, overflow) = result.unapplied[note.currency, default: 0].addingReportingOverflow(remaining)
                guard !overflow else { throw BillingError.overflow("unapplied credit in \(note.currency)") }
                result.unapplied[note.currency] = sum
            }
        }
        for invoice in invoices {
            let credit = credited[invoice.id] ?? 0
            let (afterPayments, overflow) = invoice.total.subtractingReportingOverflow(invoice.paid)
            guard !overflow else { throw BillingError.overflow("invoice \(invoice.id): \(invoice.total) - \(invoice.paid) paid") }
            result.standings[invoice.id] = Standing(invoice: invoice, credited: credit, outstanding: afterPayments - credit)
        }
        return result
    }
}
