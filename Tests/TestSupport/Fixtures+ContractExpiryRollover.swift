import BillingCore
import Postgres

extension Fixtures {
    /// One `contract_charges` row, for compact expectations.
    public struct ContractCharge: Equatable, Sendable, CustomStringConvertible {
        public let entry: Int64
        public let contract: Int64?
        public let minutes: Int
        public let outcome: String

        public init(_ entry: Int64, _ contract: Int64?, _ minutes: Int, _ outcome: String) {
            self.entry = entry
            self.contract = contract
            self.minutes = minutes
            self.outcome = outcome
        }

        public var description: String { "\(entry) -> \(contract.map(String.init) ?? "-") \(minutes) \(outcome)" }
    }

    /// Every contract charge, in the order it was charged (id).
    public func contractCharges() throws -> [ContractCharge] {
        try db.query("SELECT time_entry_id, contract_id, minutes, outcome FROM contract_charges ORDER BY id").map {
            ContractCharge(try $0.decode(0), try $0.decode(1, as: Int64?.self), try $0.decode(2), try $0.decode(3))
        }
    }

    /// Entries whose charged minutes (net of corrections) differ from their minutes, or from 0
    /// when withdrawn (the invariant: none), among the charged ones.
    public func contractChargeMismatches() throws -> [Int64] {
        try db.query("""
            SELECT te.id FROM time_entries te JOIN contract_charges cc ON cc.time_entry_id = te.id
             GROUP BY te.id, te.minutes, te.billable HAVING sum(cc.minutes) <> CASE WHEN te.billable THEN te.minutes ELSE 0 END
             ORDER BY te.id
            """).map { try $0.decode(0, as: Int64.self) }
    }

    /// Net minutes per (entry, contract, outcome), nonzero ones, as "entry -> contract minutes outcome".
    public func contractNetCharges() throws -> [String] {
        try db.query("""
            SELECT time_entry_id, contract_id, sum(minutes)::bigint, outcome FROM contract_charges
             GROUP BY time_entry_id, contract_id, outcome HAVING sum(minutes) <> 0
             ORDER BY time_entry_id, contract_id NULLS FIRST, outcome
            """).map {
            "\(try $0.decode(0, as: Int64.self)) -> \(try $0.decode(1, as: Int64?.self).map(String.init) ?? "-") \(try $0.decode(2, as: Int64.self)) \(try $0.decode(3, as: String.self))"
        }
    }

    /// Per-incident money net of offsets per (customer, currency, month start), nonzero ones.
    public func perIncidentMoney() throws -> [String] {
        try db.query("""
            SELECT customer_id, currency, period_start::text, sum(amount)::bigint FROM billable_items
             WHERE kind = 'per_incident' GROUP BY customer_id, currency, period_start HAVING sum(amount) <> 0
             ORDER BY 1, 2, 3
            """).map { "\(try $0.decode(0, as: Int64.self)) \(try $0.decode(1, as: String.self)) \(try $0.decode(2, as: String.self)) \(try $0.decode(3, as: Int64.self))" }
    }

    public func contractStatus(_ id: Int64) throws -> String? {
        try db.query("SELECT status FROM contracts WHERE id = $1", [id]).scalar(String.self)
    }

    /// (minutes_used, minutes_left, minutes_ignored) from the `contract_usage` view.
    public func contractUsage(_ id: Int64) throws -> (used: Int64, left: Int64?, ignored: Int64) {
        guard let row = try db.query("SELECT minutes_used, minutes_left, minutes_ignored FROM contract_usage WHERE contract_id = $1", [id]).first else {
            throw PostgresError.usage("no contract \(id)")
        }
        return (try row.decode(0), try row.decode(1, as: Int64?.self), try row.decode(2))
    }

    /// (event, entity_id, customer_id, source_key) of the contract audit events, in order: a
    /// customer's contracts' in audit_events, the others' in contract_events (sql/210).
    public func contractEvents() throws -> [String] {
        try db.query("""
            SELECT event, entity_id, customer_id, source_key FROM (
                SELECT at, id, event, entity_id, customer_id, source_key FROM audit_events WHERE entity = 'contract'
                UNION ALL
                SELECT at, id, event, entity_id, customer_id, source_key FROM contract_events) e
             ORDER BY at, id
            """).map {
            "\(try $0.decode(0, as: String.self)) #\(try $0.decode(1, as: Int64.self)) customer \(try $0.decode(2, as: Int64?.self).map(String.init) ?? "-") \(try $0.decode(3, as: String.self))"
        }
    }
}
