/// The difference between what a batch's customers should be charged today (the planner's
/// target over all their entries) and what earlier runs stored, as rows to append (docs/design.md
/// §9). Pure: stored state and target in, rows out.
///
/// Charges are compared per (entry, contract, outcome) after netting the stored rows:
///
///     stored   e7 -> A 120 covered                  target  e7 -> A 60 covered        (edited down)
///     rows     ce:return:7:2  A  -60 covered  (correction)
///
///     stored   e8 -> A 90 covered                   target  e8 -> none                (withdrawn)
///     rows     ce:return:8:2  A  -90 covered  (correction)
///
///     stored   e9 -> A 60 covered                   target  e9 -> B 60 covered        (re-dated)
///     rows     ce:return:9:2  A  -60 covered,  ce:charge:9:3  B  60 covered
///
/// Rows of one entry are numbered 1, 2, ... across charges and corrections, so each key follows
/// from what is stored and a rerun writes nothing twice.
///
/// Per-incident items (`ce:incident:<ticket>`, then `ce:incident:<ticket>:<n>` for a ticket
/// charged per incident again after a withdrawal) are compared per (customer, ticket): an open
/// item (no offset) is kept while the ticket still needs a per-incident charge, and offset by
/// `<its key>:offset` (amount = −original) once it does not; a ticket that needs one and has no
/// open item gets a new item with the next number.
public enum ContractCorrections {
    /// Which corrections are written. Everything in production; the convergence property tests
    /// switch one off to show they catch its absence.
    public struct Enabled: OptionSet, Sendable, Hashable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        /// Minutes given back (negative rows).
        public static let returns = Enabled(rawValue: 1)
        /// Per-incident items offset.
        public static let offsets = Enabled(rawValue: 2)
        public static let all: Enabled = [.returns, .offsets]
    }

    /// Where stored minutes sit: a contract (nil for per-incident time) and an outcome.
    public struct Slot: Hashable, Sendable, Comparable {
        public let contractID: Int64?
        public let outcome: ContractChargeOutcome

        public init(contractID: Int64?, outcome: ContractChargeOutcome) {
            self.contractID = contractID
            self.outcome = outcome
        }

        public static func < (a: Slot, b: Slot) -> Bool {
            (a.contractID ?? -1, a.outcome.rawValue) < (b.contractID ?? -1, b.outcome.rawValue)
        }
    }

    /// The stored charges of one entry under one customer, netted.
    public struct StoredEntry: Sendable, Hashable {
        public let customerID: Int64
        public let entryID: Int64
        public let held: [Slot: Int64]
        /// Rows stored for the entry (any customer): numbers the next.
        public let rows: Int
        /// Why the entry may have to give minutes back, as the loader sees it now (deleted,
        /// withdrawn, billed by a service, ...); nil when it is still the job's time.
        public let reason: String?

        public init(customerID: Int64, entryID: Int64, held: [Slot: Int64], rows: Int, reason: String? = nil) {
            self.customerID = customerID
            self.entryID = entryID
            self.held = held
            self.rows = rows
            self.reason = reason
        }
    }

    /// A per-incident item this job stored.
    public struct StoredIncident: Sendable, Hashable {
        public let customerID: Int64
        public let ticketID: Int64
        public let sourceKey: String
        public let description: String
        public let unitPrice: Int64
        public let amount: Int64
        public let currency: CurrencyCode
        public let periodStart: LocalDate
        public let periodEnd: LocalDate
        /// True once `<sourceKey>:offset` exists.
        public let offset: Bool

        public init(customerID: Int64, ticketID: Int64, sourceKey: String, description: String, unitPrice: Int64, amount: Int64,
                    currency: CurrencyCode, periodStart: LocalDate, periodEnd: LocalDate, offset: Bool) {
            self.customerID = customerID
            self.ticketID = ticketID
            self.sourceKey = sourceKey
            self.description = description
            self.unitPrice = unitPrice
            self.amount = amount
            self.currency = currency
            self.periodStart = periodStart
            self.periodEnd = periodEnd
            self.offset = offset
        }
    }

    /// A `contract_charges` row to append.
    public struct Row: Sendable, Hashable {
        public let customerID: Int64
        public let entryID: Int64
        public let contractID: Int64?
        /// > 0 a charge, < 0 a correction (minutes given back).
        public let minutes: Int64
        public let outcome: ContractChargeOutcome
        public let sourceKey: String

        public var correction: Bool { minutes < 0 }
    }

    /// A per-incident item to insert (a new charge) or its offset.
    public struct Item: Sendable, Hashable {
        public let customerID: Int64
        public let ticketID: Int64
        public let description: String
        public let quantity: Int64
        public let unitPrice: Int64
        public let amount: Int64
        public let currency: CurrencyCode
        public let periodStart: LocalDate
        public let periodEnd: LocalDate
        public let sourceKey: String
        /// For an offset: the key of the item it withdraws.
        public let offsets: String?
    }

    /// An entry that gave minutes back, for the audit trail.
    public struct Returned: Sendable, Hashable {
        public let customerID: Int64
        public let entryID: Int64
        public let reason: String
        public let slots: [(slot: Slot, minutes: Int64)]

        public static func == (a: Returned, b: Returned) -> Bool {
            a.customerID == b.customerID && a.entryID == b.entryID && a.reason == b.reason
                && a.slots.map(\.slot) == b.slots.map(\.slot) && a.slots.map(\.minutes) == b.slots.map(\.minutes)
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(customerID)
            hasher.combine(entryID)
        }
    }

    public struct Result: Sendable {
        public var rows: [Row] = []
        public var items: [Item] = []
        public var offsets: [Item] = []
        public var returned: [Returned] = []
    }

    public static func chargeKey(entry: Int64, row: Int) -> String { "ce:charge:\(entry):\(row)" }
    public static func returnKey(entry: Int64, row: Int) -> String { "ce:return:\(entry):\(row)" }
    public static func incidentKey(ticket: Int64, number: Int) -> String {
        number <= 1 ? "ce:incident:\(ticket)" : "ce:incident:\(ticket):\(number)"
    }
    public static func offsetKey(of original: String) -> String { "\(original):offset" }

    /// - Parameters:
    ///   - target: the planner's plan over all of the batch's entries from no stored charges.
    ///   - stored: the stored charges of the batch's customers, per entry.
    ///   - incidents: the stored per-incident items of the batch's customers, and of the tickets
    ///     the target bills per incident (whoever holds them: keys are global).
    ///   - entryRows: rows stored per entry by any customer (numbers the next).
    ///   - customers: the batch: only their rows are written.
    public static func diff(customers batch: Set<Int64>, target: ContractBatchPlan, stored: [StoredEntry], incidents: [StoredIncident],
                            entryRows: [Int64: Int], enabled: Enabled = .all) -> Result {
        let skipped = Set(target.skipped.map(\.customerID)).union(Set(stored.map(\.customerID)).subtracting(batch))
        var result = Result()

        // 1. Charges, per (customer, entry).
        struct Key: Hashable, Comparable {
            let customer: Int64
            let entry: Int64
            static func < (a: Key, b: Key) -> Bool { (a.customer, a.entry) < (b.customer, b.entry) }
        }
        var want: [Key: [Slot: Int64]] = [:]
        for charge in target.charges where !skipped.contains(charge.customerID) {
            want[Key(customer: charge.customerID, entry: charge.entryID), default: [:]][Slot(contractID: charge.contractID, outcome: charge.outcome), default: 0] += charge.minutes
        }
        var have: [Key: StoredEntry] = [:]
        for entry in stored where !skipped.contains(entry.customerID) {
            have[Key(customer: entry.customerID, entry: entry.entryID)] = entry
        }
        var rowsSoFar = entryRows
        for key in Set(want.keys).union(have.keys).sorted() {
            let target = want[key] ?? [:]
            let held = have[key]?.held ?? [:]
            var returns: [(Slot, Int64)] = []
            var charges: [(Slot, Int64)] = []
            for slot in Set(target.keys).union(held.keys).sorted() {
                let delta = (target[slot] ?? 0) - (held[slot] ?? 0)
                if delta < 0 { returns.append((slot, delta)) } else if delta > 0 { charges.append((slot, delta)) }
            }
            if !enabled.contains(.returns) { returns = [] }
            var next = rowsSoFar[key.entry] ?? 0
            for (slot, minutes) in returns {
                next += 1
                result.rows.append(Row(customerID: key.customer, entryID: key.entry, contractID: slot.contractID, minutes: minutes,
                                       outcome: slot.outcome, sourceKey: returnKey(entry: key.entry, row: next)))
            }
            for (slot, minutes) in charges {
                next += 1
                result.rows.append(Row(customerID: key.customer, entryID: key.entry, contractID: slot.contractID, minutes: minutes,
                                       outcome: slot.outcome, sourceKey: chargeKey(entry: key.entry, row: next)))
            }
            rowsSoFar[key.entry] = next
            if !returns.isEmpty {
                let reason = have[key]?.reason ?? (target.isEmpty ? "no longer the job's time" : "recharged: its minutes, date or ticket changed, or a contract's terms")
                result.returned.append(Returned(customerID: key.customer, entryID: key.entry, reason: reason,
                                                slots: returns.map { (slot: $0.0, minutes: -$0.1) }))
            }
        }

        // 2. Per-incident items, per (customer, ticket).
        struct TicketKey: Hashable, Comparable {
            let customer: Int64
            let ticket: Int64
            static func < (a: TicketKey, b: TicketKey) -> Bool { (a.customer, a.ticket) < (b.customer, b.ticket) }
        }
        var needed: [TicketKey: ContractBatchPlan.Incident] = [:]
        for incident in target.incidents where !skipped.contains(incident.customerID) {
            needed[TicketKey(customer: incident.customerID, ticket: incident.ticketID)] = incident
        }
        var open: [TicketKey: [StoredIncident]] = [:]
        var numbered: [Int64: Int] = [:]
        for item in incidents {
            numbered[item.ticketID, default: 0] += 1
            guard !item.offset, !skipped.contains(item.customerID) else { continue }
            open[TicketKey(customer: item.customerID, ticket: item.ticketID), default: []].append(item)
        }
        for key in Set(needed.keys).union(open.keys).sorted() {
            let items = (open[key] ?? []).sorted { $0.sourceKey < $1.sourceKey }
            if let incident = needed[key] {
                guard items.isEmpty else { continue }
                let number = (numbered[key.ticket] ?? 0) + 1
                numbered[key.ticket] = number
                let range = incident.month.dateRange
                result.items.append(Item(customerID: key.customer, ticketID: key.ticket, description: incident.description, quantity: 1,
                                         unitPrice: incident.price, amount: incident.price, currency: incident.currency,
                                         periodStart: range.start, periodEnd: range.end,
                                         sourceKey: incidentKey(ticket: key.ticket, number: number), offsets: nil))
            } else if enabled.contains(.offsets), batch.contains(key.customer) {
                for item in items {
                    result.offsets.append(Item(customerID: item.customerID, ticketID: item.ticketID,
                                               description: "Withdrawn: \(item.description)", quantity: -1, unitPrice: item.unitPrice,
                                               amount: -item.amount, currency: item.currency, periodStart: item.periodStart,
                                               periodEnd: item.periodEnd, sourceKey: offsetKey(of: item.sourceKey), offsets: item.sourceKey))
                }
            }
        }
        return result
    }
}
