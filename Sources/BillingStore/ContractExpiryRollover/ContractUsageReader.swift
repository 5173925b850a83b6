import BillingCore
import Postgres

/// Reads the `contract_usage`, `contract_usage_entries` and `customer_contracts` views: how much
/// is left on a contract and what used it, for staff (`supportbill contracts`) and, through the
/// same views, the client area. Two statements whatever the number of contracts.
public enum ContractUsageReader {
    /// One contract and its usage (`contract_usage`).
    public struct Usage: Sendable, Hashable {
        public let contractID: Int64
        public let kind: String
        public let status: String
        public let scope: String
        /// The item, customer or org unit the contract belongs to.
        public let scopeID: Int64
        public let startsOn: LocalDate
        /// The end the kind counts (nil: none).
        public let endsOn: LocalDate?
        /// The minutes the kind counts (nil: unlimited).
        public let minutesLimit: Int64?
        public let minutesCovered: Int64
        public let minutesRolledOver: Int64
        public let minutesUsed: Int64
        /// nil: unlimited.
        public let minutesLeft: Int64?
        public let minutesIgnored: Int64
        public let entries: Int64
        public let customers: Int64
        /// The charges that used it (those of one customer when asked for one).
        public var uses: [Use]
    }

    /// One charge (`contract_usage_entries`).
    public struct Use: Sendable, Hashable {
        public let chargeID: Int64
        public let contractID: Int64?
        public let customerID: Int64
        public let customerName: String
        public let ticketID: Int64?
        public let subject: String?
        public let timeEntryID: Int64
        public let workedAt: Instant?
        public let staff: String?
        public let note: String?
        public let minutes: Int64
        public let outcome: String
    }

    public struct Answer: Sendable {
        public var contracts: [Usage]
        /// With a customer: its requests billed per incident (charges with no contract).
        public var perIncident: [Use]
    }

    public enum Lookup: Error, Sendable, Equatable {
        case noSuchContract(Int64)
        case noSuchCustomer(Int64)
    }

    /// The contracts asked for: one contract, the contracts that can serve one customer (with
    /// only that customer's uses), both (that contract, that customer's uses), or every contract
    /// (without uses).
    public static func read(_ db: PostgresConnection, contractID: Int64?, customerID: Int64?) throws -> Answer {
        if let contractID, try db.query("SELECT 1 FROM contracts WHERE id = $1", [contractID]).isEmpty {
            throw Lookup.noSuchContract(contractID)
        }
        if let customerID, try db.query("SELECT 1 FROM customers WHERE id = $1", [customerID]).isEmpty {
            throw Lookup.noSuchCustomer(customerID)
        }
        var contracts = try db.query("""
            SELECT u.contract_id, u.kind, u.status, u.scope, coalesce(u.item_id, u.customer_id, u.org_unit_id),
                   u.starts_on, u.ends_on, u.minutes_limit, u.minutes_covered, u.minutes_rolled_over, u.minutes_used,
                   u.minutes_left, u.minutes_ignored, u.entries, u.customers
              FROM contract_usage u
             WHERE ($1::bigint IS NULL OR u.contract_id = $1)
               AND ($2::bigint IS NULL OR $1::bigint IS NOT NULL
                    OR u.contract_id IN (SELECT cc.contract_id FROM customer_contracts cc WHERE cc.customer_id = $2))
             ORDER BY u.contract_id
            """, [contractID, customerID]).map { row in
            Usage(
                contractID: try row.decode(0), kind: try row.decode(1), status: try row.decode(2), scope: try row.decode(3),
                scopeID: try row.decode(4), startsOn: try row.decode(5), endsOn: try row.decode(6, as: LocalDate?.self),
                minutesLimit: try row.decode(7, as: Int64?.self), minutesCovered: try row.decode(8), minutesRolledOver: try row.decode(9),
                minutesUsed: try row.decode(10), minutesLeft: try row.decode(11, as: Int64?.self), minutesIgnored: try row.decode(12),
                entries: try row.decode(13), customers: try row.decode(14), uses: []
            )
        }
        guard contractID != nil || customerID != nil else { return Answer(contracts: contracts, perIncident: []) }

        var uses: [Int64?: [Use]] = [:]
        for row in try db.query("""
            SELECT e.charge_id, e.contract_id, e.customer_id, e.customer_name, e.ticket_id, e.subject, e.time_entry_id,
                   e.worked_at, e.staff, e.note, e.minutes, e.outcome
              FROM contract_usage_entries e
             WHERE ($2::bigint IS NULL OR e.customer_id = $2)
               AND (e.contract_id = ANY($1::bigint[]) OR ($3 AND e.contract_id IS NULL))
             ORDER BY e.worked_at, e.time_entry_id, e.charge_id
            """, [contracts.map(\.contractID), customerID, contractID == nil && customerID != nil]) {
            let use = Use(
                chargeID: try row.decode(0), contractID: try row.decode(1, as: Int64?.self), customerID: try row.decode(2),
                customerName: try row.decode(3), ticketID: try row.decode(4, as: Int64?.self), subject: try row.decode(5, as: String?.self),
                timeEntryID: try row.decode(6), workedAt: try row.decode(7, as: Instant?.self), staff: try row.decode(8, as: String?.self),
                note: try row.decode(9, as: String?.self), minutes: try row.decode(10), outcome: try row.decode(11)
            )
            uses[use.contractID, default: []].append(use)
        }
        for index in contracts.indices { contracts[index].uses = uses[contracts[index].contractID] ?? [] }
        return Answer(contracts: contracts, perIncident: uses[Int64?.none] ?? [])
    }
}
