/// The kinds of defect in the provider's data that `supportbill check` lists and the jobs refuse
/// to bill (docs/data-defects.md has the catalogue: what each job does, and the test).
public enum DataDefectKind: String, CaseIterable, Sendable, Comparable {
    case unknownTimeZone = "unknown_time_zone"
    case missingPrice = "missing_price"
    case zeroTopupAmount = "zero_topup_amount"
    case amountOutOfRange = "amount_out_of_range"
    case cancelledWithoutEnd = "cancelled_without_end"
    case serviceEndsBeforeStart = "service_ends_before_start"
    case serviceCurrencyChanged = "service_currency_changed"
    case serviceBillingChanged = "service_billing_changed"
    case entryTicketMissing = "entry_ticket_missing"
    case entryTicketOtherCustomer = "entry_ticket_other_customer"
    case entryServiceOtherCustomer = "entry_service_other_customer"
    case entryFarFuture = "entry_far_future"
    case ticketServiceOtherCustomer = "ticket_service_other_customer"
    case ticketItemOtherCustomer = "ticket_item_other_customer"
    case paymentCurrencyMismatch = "payment_currency_mismatch"
    case paymentOtherCustomerInvoice = "payment_other_customer_invoice"
    case invoiceItemOtherCustomerService = "invoice_item_other_customer_service"
    case contractIncomplete = "contract_incomplete"
    /// A time entry of a metered service recorded or changed for a closed month older than
    /// monthly-rollup's window: no timer run bills it (check only; the rollup's notices name the
    /// same command).
    case lateEntryBeforeWindow = "late_entry_before_window"
    /// An invoice-number counter with a gap or a repeated value (check only, no customer): the
    /// jobs number gap-free (docs/invoices.md), so it can only come from edits outside
    /// supportbill.
    case invoiceNumberGap = "invoice_number_gap"

    // Which kinds the runner itself screens for, per job, is the job's own declaration
    // (`RegisteredJob.defectsSkippedByRunner` in BillingJobs, passed to
    // `DataDefectScanner.blocking`); the other kinds are detected by the jobs, each where it
    // reads the row.

    public static func < (lhs: DataDefectKind, rhs: DataDefectKind) -> Bool {
        (allCases.firstIndex(of: lhs) ?? 0) < (allCases.firstIndex(of: rhs) ?? 0)
    }
}
