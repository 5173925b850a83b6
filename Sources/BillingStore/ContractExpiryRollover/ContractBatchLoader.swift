import BillingCore
import Postgres

/// Loads everything the contract planner needs for a batch of customers in a few set-based
/// statements: all their billable time entries worked by as-of that no service bills (the
/// planner recomputes every charge from today's data, docs/design.md §9), the entries' tickets,
/// the customers' org-unit chains, every contract that can serve them or that they hold minutes
/// of, locked (FOR UPDATE), with the minutes other customers use of it computed after the lock
/// (so customers sharing a contract in different batches charge it consistently), and what
/// earlier runs stored for them: charges netted per entry, contract and outcome, and per-incident
/// items.
public enum ContractBatchLoader {
    public struct Batch: Sendable {
        public var customers: [ContractCustomerInput]
        public var contracts: [SupportContract]
        public var stored: [ContractCorrections.StoredEntry] = []
        public var incidents: [ContractCorrections.StoredIncident] = []
        /// Rows stored per entry (any customer): the next row's number follows.
        public var entryRows: [Int64: Int] = [:]
    }

    /// The customers the job may have something to do for: billable entries worked by `asOf`
    /// that no service bills, stored charges that still hold minutes, or open per-incident
    /// items. A superset is harmless (the diff is then empty); one statement.
    public static func customersWithWork(_ db: PostgresConnection, asOf: Instant, customerFilter: [Int64]?) throws -> [Int64] {
        try db.query("""
            SELECT te.customer_id
              FROM time_entries te
              LEFT JOIN tickets t ON t.id = te.ticket_id
             WHERE te.billable AND te.worked_at <= $1
               AND te.service_id IS NULL AND t.service_id IS NULL
               AND ($2::bigint[] IS NULL OR te.customer_id = ANY($2::bigint[]))
            UNION
            SELECT cc.customer_id FROM contract_charges cc
             WHERE $2::bigint[] IS NULL OR cc.customer_id = ANY($2::bigint[])
             GROUP BY cc.customer_id, cc.time_entry_id HAVING sum(cc.minutes) <> 0
            UNION
            SELECT b.customer_id FROM billable_items b
             WHERE b.kind = 'per_incident' AND b.source_key LIKE 'ce:incident:%'
               AND ($2::bigint[] IS NULL OR b.customer_id = ANY($2::bigint[]))
            ORDER BY 1
            """, [asOf, customerFilter]).map { try $0.decode(0, as: Int64.self) }
    }

    public static func load(_ db: PostgresConnection, customers: [CustomerRecord], asOf: Instant) throws -> Batch {
        let ids = customers.map(\.id)
        guard !ids.isEmpty else { return Batch(customers: [], contracts: []) }
        let cutover = try BillingCutover.load(db)

        // 1. The job's time: every billable entry worked by as-of that no service bills, with
        //    the customer's local date of each.
        var entries: [Int64: [ContractCustomerInput.Entry]] = [:]
        var ticketIDs = Set<Int64>()
        var entryIDs = Set<Int64>()
        for row in try db.query("""
            SELECT te.id, te.customer_id, te.ticket_id, te.worked_at, (te.worked_at AT TIME ZONE c.timezone)::date, te.minutes
              FROM time_entries te
              JOIN customers c ON c.id = te.customer_id
              LEFT JOIN tickets t ON t.id = te.ticket_id
             WHERE te.customer_id = ANY($1::bigint[])
               AND te.billable AND te.worked_at <= $2
               AND te.service_id IS NULL AND t.service_id IS NULL
             ORDER BY te.customer_id, te.worked_at, te.id
            """, [ids, asOf]) {
            let entry = ContractCustomerInput.Entry(
                id: try row.decode(0), ticketID: try row.decode(2), workedAt: try row.decode(3),
                localDate: try row.decode(4), minutes: try row.decode(5)
            )
            entries[try row.decode(1, as: Int64.self), default: []].append(entry)
            ticketIDs.insert(entry.ticketID)
            entryIDs.insert(entry.id)
        }
        let tickets = Array(ticketIDs).sorted()

        // 2. What earlier runs stored for the batch: charges netted per entry, contract and
        //    outcome, with what became of the entry (the reason minutes go back).
        var held: [String: (customer: Int64, entry: Int64, reason: String?, slots: [ContractCorrections.Slot: Int64])] = [:]
        var heldContracts = Set<Int64>()
        for row in try db.query("""
            SELECT cc.customer_id, cc.time_entry_id, cc.contract_id, cc.outcome, sum(cc.minutes)::bigint,
                   CASE WHEN te.id IS NULL THEN 'the entry was deleted'
                        WHEN te.customer_id <> cc.customer_id THEN 'the entry moved to customer ' || te.customer_id
                        WHEN NOT te.billable THEN 'the entry was withdrawn (billable = false)'
                        WHEN te.service_id IS NOT NULL OR t.service_id IS NOT NULL THEN 'the entry is billed by a service now'
                        WHEN te.worked_at > $2 THEN 'the entry was re-dated after the as-of date'
                        WHEN (te.worked_at AT TIME ZONE c.timezone)::date < $3::date THEN 'the entry is dated before the cut-over' END
              FROM contract_charges cc
              LEFT JOIN time_entries te ON te.id = cc.time_entry_id
              LEFT JOIN tickets t ON t.id = te.ticket_id
              LEFT JOIN customers c ON c.id = te.customer_id
             WHERE cc.customer_id = ANY($1::bigint[])
             GROUP BY cc.customer_id, cc.time_entry_id, cc.contract_id, cc.outcome, te.id, te.customer_id, te.billable,
                      te.service_id, t.service_id, te.worked_at, c.timezone
            HAVING sum(cc.minutes) <> 0
            """, [ids, asOf, cutover]) {
            let customer = try row.decode(0, as: Int64.self)
            let entry = try row.decode(1, as: Int64.self)
            let outcomeText = try row.decode(3, as: String.self)
            guard let outcome = ContractChargeOutcome(rawValue: outcomeText) else {
                throw PostgresError.decoding("contract charge outcome \(outcomeText.debugDescription)")
            }
            let contract = try row.decode(2, as: Int64?.self)
            if let contract { heldContracts.insert(contract) }
            let key = "\(customer):\(entry)"
            let reason = try row.decode(5, as: String?.self)
            let minutes = try row.decode(4, as: Int64.self)
            var value = held[key] ?? (customer, entry, reason, [:])
            value.slots[ContractCorrections.Slot(contractID: contract, outcome: outcome), default: 0] += minutes
            held[key] = value
            entryIDs.insert(entry)
        }
        var entryRows: [Int64: Int] = [:]
        for row in try db.query("""
            SELECT cc.time_entry_id, count(*)::int FROM contract_charges cc
             WHERE cc.time_entry_id = ANY($1::bigint[]) GROUP BY cc.time_entry_id
            """, [Array(entryIDs).sorted()]) {
            entryRows[try row.decode(0, as: Int64.self)] = try row.decode(1, as: Int.self)
        }

        // 3. The per-incident items this job stored for the batch's customers or its tickets
        //    (keys are global: a ticket moved between customers keeps numbering its items).
        var incidents: [ContractCorrections.StoredIncident] = []
        for row in try db.query("""
            SELECT b.customer_id, split_part(b.source_key, ':', 3)::bigint, b.source_key, b.description, b.unit_price, b.amount,
                   b.currency, b.period_start, b.period_end,
                   EXISTS (SELECT 1 FROM billable_items o WHERE o.source_key = b.source_key || ':offset')
              FROM billable_items b
             WHERE b.kind = 'per_incident' AND b.source_key LIKE 'ce:incident:%' AND b.source_key NOT LIKE '%:offset'
               -- (the CASE keeps the cast away from other jobs' keys whatever order the planner picks)
               AND (b.customer_id = ANY($1::bigint[])
                    OR CASE WHEN b.source_key ~ '^ce:incident:[0-9]+(:|$)' THEN split_part(b.source_key, ':', 3)::bigint END = ANY($2::bigint[]))
             ORDER BY b.source_key
            """, [ids, tickets]) {
            incidents.append(ContractCorrections.StoredIncident(
                customerID: try row.decode(0), ticketID: try row.decode(1), sourceKey: try row.decode(2), description: try row.decode(3),
                unitPrice: try row.decode(4), amount: try row.decode(5), currency: try row.decode(6), periodStart: try row.decode(7),
                periodEnd: try row.decode(8), offset: try row.decode(9)
            ))
        }

        // 3. The tickets, their opening date in the (entry's) customer's time zone.
        var ticketsByID: [Int64: ContractCustomerInput.Ticket] = [:]
        var itemIDs = Set<Int64>()
        for row in try db.query("""
            SELECT t.id, t.customer_id, t.item_id, t.subject,
                   (t.opened_at AT TIME ZONE CASE WHEN t.customer_id = ANY($2::bigint[]) THEN c.timezone ELSE 'UTC' END)::date
              FROM tickets t JOIN customers c ON c.id = t.customer_id
             WHERE t.id = ANY($1::bigint[])
            """, [tickets, ids]) {
            let ticket = ContractCustomerInput.Ticket(
                id: try row.decode(0), customerID: try row.decode(1), itemID: try row.decode(2, as: Int64?.self),
                openedOn: try row.decode(4), subject: try row.decode(3)
            )
            if let item = ticket.itemID { itemIDs.insert(item) }
            ticketsByID[ticket.id] = ticket
        }

        // 4. The org-unit chains: each org unit, then its parents, nearest first (a cycle in
        //    parent_id stops at the first repeat).
        let units = Array(Set(customers.compactMap(\.orgUnitID))).sorted()
        var chains: [Int64: [Int64]] = [:]
        if !units.isEmpty {
            for row in try db.query("""
                WITH RECURSIVE up (start, id, depth) AS (
                    SELECT o.id, o.id, 0 FROM org_units o WHERE o.id = ANY($1::bigint[])
                    UNION ALL
                    SELECT up.start, o.parent_id, up.depth + 1 FROM up JOIN org_units o ON o.id = up.id
                     WHERE o.parent_id IS NOT NULL AND up.depth < 64
                )
                SELECT start, id FROM up ORDER BY start, depth
                """, [units]) {
                let start = try row.decode(0, as: Int64.self)
                let unit = try row.decode(1, as: Int64.self)
                if !(chains[start]?.contains(unit) ?? false) { chains[start, default: []].append(unit) }
            }
        }
        let allUnits = Array(Set(chains.values.joined())).sorted()

        // 5. The contracts that can serve the batch or that it holds minutes of, locked in id
        //    order, then the minutes the other customers use of them (the batch's own are
        //    recomputed). A contract someone other than this job expired takes no time: the job
        //    expired it when its last event of this job is contract_expired.
        var locked: [SupportContract] = []
        for row in try db.query("""
            SELECT \(ContractRows.columns),
                   k.status <> 'expired' OR \(ContractRows.expiredByJob)
              FROM contracts k
             WHERE k.item_id = ANY($1::bigint[]) OR k.customer_id = ANY($2::bigint[])
                OR k.org_unit_id = ANY($3::bigint[]) OR k.id = ANY($4::bigint[])
             ORDER BY k.id
               FOR UPDATE OF k
            """, [Array(itemIDs).sorted(), ids, allUnits, Array(heldContracts).sorted()]) {
            locked.append(try ContractRows.decode(row, minutesUsed: 0, chargeable: try row.decode(9, as: Bool.self)))
        }
        let used = try ContractRows.minutesUsed(db, contracts: locked.filter { $0.limit != nil }.map(\.id), excluding: ids)
        let contracts = locked.map { contract in
            SupportContract(
                id: contract.id, scope: contract.scope, kind: contract.kind, startsOn: contract.startsOn, endsOn: contract.endsOn,
                minutesTotal: contract.minutesTotal, status: contract.status, minutesUsed: used[contract.id] ?? 0,
                chargeable: contract.chargeable
            )
        }

        let inputs = customers.compactMap { customer -> ContractCustomerInput? in
            guard let list = entries[customer.id] else { return nil }
            let own = Set(list.map(\.ticketID))
            var input = ContractCustomerInput(
                customerID: customer.id, currency: customer.currency.code,
                orgUnits: customer.orgUnitID.flatMap { chains[$0] } ?? [],
                // A ticket of another customer is passed on as it is: the planner refuses it.
                entries: list, tickets: own.sorted().compactMap { ticketsByID[$0] }
            )
            input.cutover = cutover
            return input
        }
        let stored = held.values.sorted { ($0.customer, $0.entry) < ($1.customer, $1.entry) }.map {
            ContractCorrections.StoredEntry(customerID: $0.customer, entryID: $0.entry, held: $0.slots, rows: entryRows[$0.entry] ?? 0, reason: $0.reason)
        }
        return Batch(customers: inputs, contracts: contracts, stored: stored, incidents: incidents, entryRows: entryRows)
    }
}
