import BillingCore
import Postgres

/// Loads everything the contract planner needs for a batch of customers in a few set-based
/// statements: their billable time entries that no service bills and that are not charged yet
/// (or not completely),
/// the entries' tickets and where each ticket's earlier time went, the customers' org-unit
/// chains, and every contract that can serve them, locked (FOR UPDATE) with its usage computed
/// from `contract_charges` after the lock, so that customers sharing a contract in different
/// batches charge it consistently.
public enum ContractBatchLoader {
    public struct Batch: Sendable {
        public var customers: [ContractCustomerInput]
        public var contracts: [SupportContract]
    }

    /// The customers with billable time entries worked by `asOf` that no service bills (neither
    /// the entry nor its ticket names a service) and that are not charged yet, or not
    /// completely (part of the entry waits for a contract to roll over to, or its minutes grew
    /// after it was charged): one statement.
    public static func customersWithWork(_ db: PostgresConnection, asOf: Instant, customerFilter: [Int64]?) throws -> [Int64] {
        try db.query("""
            SELECT DISTINCT te.customer_id
              FROM time_entries te
              LEFT JOIN tickets t ON t.id = te.ticket_id
              LEFT JOIN (SELECT cc.customer_id, cc.time_entry_id, sum(cc.minutes) AS minutes
                           FROM contract_charges cc
                          WHERE $2::bigint[] IS NULL OR cc.customer_id = ANY($2::bigint[])
                          GROUP BY cc.customer_id, cc.time_entry_id) cc
                     ON cc.customer_id = te.customer_id AND cc.time_entry_id = te.id
             WHERE te.billable AND te.worked_at <= $1
               AND te.service_id IS NULL AND t.service_id IS NULL
               AND ($2::bigint[] IS NULL OR te.customer_id = ANY($2::bigint[]))
               AND (cc.minutes IS NULL OR cc.minutes < te.minutes)
             ORDER BY te.customer_id
            """, [asOf, customerFilter]).map { try $0.decode(0, as: Int64.self) }
    }

    public static func load(_ db: PostgresConnection, customers: [CustomerRecord], asOf: Instant) throws -> Batch {
        let ids = customers.map(\.id)
        guard !ids.isEmpty else { return Batch(customers: [], contracts: []) }

        // 1. The entries to charge, with the customer's local date of each and what earlier runs
        //    charged of them (an entry part of which waited for a contract).
        var entries: [Int64: [ContractCustomerInput.Entry]] = [:]
        var ticketIDs = Set<Int64>()
        for row in try db.query("""
            SELECT te.id, te.customer_id, te.ticket_id, te.worked_at, (te.worked_at AT TIME ZONE c.timezone)::date, te.minutes,
                   COALESCE(cc.minutes, 0), COALESCE(cc.pieces, 0)
              FROM time_entries te
              JOIN customers c ON c.id = te.customer_id
              LEFT JOIN tickets t ON t.id = te.ticket_id
              LEFT JOIN (SELECT cc.customer_id, cc.time_entry_id, sum(cc.minutes)::bigint AS minutes, count(*)::int AS pieces
                           FROM contract_charges cc
                          WHERE cc.customer_id = ANY($1::bigint[])
                          GROUP BY cc.customer_id, cc.time_entry_id) cc
                     ON cc.customer_id = te.customer_id AND cc.time_entry_id = te.id
             WHERE te.customer_id = ANY($1::bigint[])
               AND te.billable AND te.worked_at <= $2
               AND te.service_id IS NULL AND t.service_id IS NULL
               AND (cc.minutes IS NULL OR cc.minutes < te.minutes)
             ORDER BY te.customer_id, te.worked_at, te.id
            """, [ids, asOf]) {
            let entry = ContractCustomerInput.Entry(
                id: try row.decode(0), ticketID: try row.decode(2), workedAt: try row.decode(3),
                localDate: try row.decode(4), minutes: try row.decode(5),
                chargedMinutes: try row.decode(6), chargedPieces: try row.decode(7)
            )
            entries[try row.decode(1, as: Int64.self), default: []].append(entry)
            ticketIDs.insert(entry.ticketID)
        }
        let tickets = Array(ticketIDs).sorted()

        // 2. Where each ticket's earlier time went: its last charge.
        var states: [Int64: TicketChargeState] = [:]
        var stateContracts = Set<Int64>()
        for row in try db.query("""
            SELECT DISTINCT ON (te.ticket_id) te.ticket_id, cc.outcome, cc.contract_id
              FROM time_entries te
              JOIN contract_charges cc ON cc.customer_id = te.customer_id AND cc.time_entry_id = te.id
             WHERE te.ticket_id = ANY($1::bigint[]) AND te.customer_id = ANY($2::bigint[])
             ORDER BY te.ticket_id, cc.id DESC
            """, [tickets, ids]) {
            guard let outcome = ContractChargeOutcome(rawValue: try row.decode(1, as: String.self)),
                  let state = TicketChargeState(lastOutcome: outcome, contractID: try row.decode(2, as: Int64?.self)) else { continue }
            states[try row.decode(0, as: Int64.self)] = state
            switch state {
            case .contract(let id, _), .ignoring(let id): stateContracts.insert(id)
            case .perIncident: break
            }
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
                openedOn: try row.decode(4), subject: try row.decode(3), state: states[try row.decode(0, as: Int64.self)]
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

        // 5. The contracts that can serve the batch, locked in id order, then their usage.
        var locked: [SupportContract] = []
        for row in try db.query("""
            SELECT \(ContractRows.columns),
                   k.status <> 'expired' OR EXISTS (
                       SELECT 1 FROM audit_events a
                        WHERE a.entity = 'contract' AND a.entity_id = k.id AND a.event = 'contract_expired'
                          AND a.source_key LIKE 'ce:%')
              FROM contracts k
             WHERE k.item_id = ANY($1::bigint[]) OR k.customer_id = ANY($2::bigint[])
                OR k.org_unit_id = ANY($3::bigint[]) OR k.id = ANY($4::bigint[])
             ORDER BY k.id
               FOR UPDATE OF k
            """, [Array(itemIDs).sorted(), ids, allUnits, Array(stateContracts).sorted()]) {
            locked.append(try ContractRows.decode(row, minutesUsed: 0, chargeable: try row.decode(9, as: Bool.self)))
        }
        let used = try ContractRows.minutesUsed(db, contracts: locked.filter { $0.limit != nil }.map(\.id))
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
            return ContractCustomerInput(
                customerID: customer.id, currency: customer.currency.code,
                orgUnits: customer.orgUnitID.flatMap { chains[$0] } ?? [],
                // A ticket of another customer is passed on as it is: the planner refuses it.
                entries: list, tickets: own.sorted().compactMap { ticketsByID[$0] }
            )
        }
        return Batch(customers: inputs, contracts: contracts)
    }
}
