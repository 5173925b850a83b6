import BillingCore

/// The report sections of docs/design.md §5, in the order reports print them.
public enum ReportSection: String, CaseIterable, Sendable {
    /// Invoices, each with its `items`.
    case invoices
    /// Billable items not (yet) on an invoice, e.g. per-incident items.
    case items
    case ledger
    case grants
    case uses
    case charges
    case events
}

/// One emitted row in a report: the schema's column names and values.
public struct ReportRecord: Sendable, Equatable {
    public let customerID: Int64?
    /// Orders records within a customer; normally the row's `source_key`.
    public let sortKey: String
    public let fields: JSONValue

    public init(customerID: Int64?, sortKey: String, fields: [(String, JSONValue)]) {
        self.customerID = customerID
        self.sortKey = sortKey
        self.fields = .object(fields)
    }

    init(customerID: Int64?, sortKey: String, value: JSONValue) {
        self.customerID = customerID
        self.sortKey = sortKey
        self.fields = value
    }
}

/// A customer the run did not bill, and why.
public struct SkippedCustomer: Sendable, Equatable {
    public let customerID: Int64
    public let reason: String

    public init(customerID: Int64, reason: String) {
        self.customerID = customerID
        self.reason = reason
    }
}

/// What a batch (and, merged, a whole run) emitted.
public struct JobOutput: Sendable {
    /// Named counts (`invoices`, `items`, `suspended`, ...).
    public var counts: [String: Int] = [:]
    /// Named money totals per currency (`invoiced`, `credited`, ...), in minor units.
    public var totals: [CurrencyCode: [String: Int64]] = [:]
    public var records: [ReportSection: [ReportRecord]] = [:]
    public var skipped: [SkippedCustomer] = []
    /// Customers that were processed (their rows are written) but hit a safety limit a person
    /// should look at, e.g. threshold-topup's `max_topups_per_day`. Like `skipped`, they make the
    /// run `partial` with exit 65; unlike `skipped`, the customer's other work was done.
    public var reported: [SkippedCustomer] = []
    /// Things an operator should read (a safety limit, customers reported for follow-up, ...).
    public var notices: [String] = []

    public init() {}

    public mutating func count(_ name: String, _ amount: Int = 1) {
        counts[name, default: 0] += amount
    }

    public mutating func total(_ name: String, _ minorUnits: Int64, _ currency: CurrencyCode) {
        totals[currency, default: [:]][name, default: 0] &+= minorUnits
    }

    public mutating func append(_ section: ReportSection, _ record: ReportRecord) {
        records[section, default: []].append(record)
    }

    public mutating func skip(_ customerID: Int64, _ reason: String) {
        skipped.append(SkippedCustomer(customerID: customerID, reason: reason))
    }

    /// Reports a customer for follow-up without skipping it (see `reported`).
    public mutating func report(_ customerID: Int64, _ reason: String) {
        reported.append(SkippedCustomer(customerID: customerID, reason: reason))
    }

    public mutating func merge(_ other: JobOutput) {
        for (name, value) in other.counts { counts[name, default: 0] += value }
        for (currency, named) in other.totals {
            for (name, value) in named { totals[currency, default: [:]][name, default: 0] &+= value }
        }
        for (section, list) in other.records { records[section, default: []] += list }
        skipped += other.skipped
        reported += other.reported
        notices += other.notices
    }

    /// Records and skips in a deterministic order: by customer, then sort key.
    public func sorted() -> JobOutput {
        var copy = self
        for (section, list) in records {
            copy.records[section] = list.sorted { ($0.customerID ?? -1, $0.sortKey) < ($1.customerID ?? -1, $1.sortKey) }
        }
        copy.skipped = skipped.sorted { ($0.customerID, $0.reason) < ($1.customerID, $1.reason) }
        copy.reported = reported.sorted { ($0.customerID, $0.reason) < ($1.customerID, $1.reason) }
        return copy
    }
}
