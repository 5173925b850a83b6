import BillingCore
import Postgres

/// Decoding of `contracts` rows shared by the contract stores.
enum ContractRows {
    /// The columns `decode` reads, in order, for a `contracts` alias `k`.
    static let columns = "k.id, k.item_id, k.customer_id, k.org_unit_id, k.kind, k.starts_on, k.ends_on, k.minutes_total, k.status"

    static func decode(_ row: PostgresRow, minutesUsed: Int64, chargeable: Bool) throws -> SupportContract {
        let id = try row.decode(0, as: Int64.self)
        let scope: SupportContract.Scope
        if let item = try row.decode(1, as: Int64?.self) {
            scope = .item(item)
        } else if let customer = try row.decode(2, as: Int64?.self) {
            scope = .customer(customer)
        } else if let unit = try row.decode(3, as: Int64?.self) {
            scope = .orgUnit(unit)
        } else {
            throw PostgresError.decoding("contract \(id) has no scope")
        }
        let kindText = try row.decode(4, as: String.self)
        let statusText = try row.decode(8, as: String.self)
        guard let kind = SupportContract.Kind(rawValue: kindText), let status = SupportContract.Status(rawValue: statusText) else {
            throw PostgresError.decoding("contract \(id) has kind \(kindText) and status \(statusText)")
        }
        return SupportContract(
            id: id, scope: scope, kind: kind, startsOn: try row.decode(5, as: LocalDate.self),
            endsOn: try row.decode(6, as: LocalDate?.self), minutesTotal: try row.decode(7, as: Int64?.self),
            status: status, minutesUsed: minutesUsed, chargeable: chargeable
        )
    }

    /// SQL: the events of every contract, customers' (audit_events) and those of org-unit and
    /// item contracts (contract_events, sql/210), with the columns of audit_events.
    static let contractEvents = """
        (SELECT id, run_id, at, customer_id, entity, entity_id, event, detail, source_key FROM audit_events WHERE entity = 'contract'
         UNION ALL
         SELECT id, run_id, at, customer_id, entity, entity_id, event, detail, source_key FROM contract_events)
        """

    /// SQL true when this job expired contract `k` (its last contract event of this job is
    /// `contract_expired`): such a contract keeps covering late entries dated within its terms,
    /// and is made active again when minutes return to it. One expired by staff takes no time.
    static let expiredByJob = """
        coalesce((SELECT a.event = 'contract_expired' FROM \(contractEvents) a
                   WHERE a.entity = 'contract' AND a.entity_id = k.id AND a.source_key LIKE 'ce:%'
                   ORDER BY a.id DESC LIMIT 1), false)
        """

    /// Minutes charged per contract (`covered` and `rolled_over`, net of corrections), from the
    /// usage index; with `excluding`, leaving out those customers' charges.
    static func minutesUsed(_ db: PostgresConnection, contracts ids: [Int64], excluding customers: [Int64] = []) throws -> [Int64: Int64] {
        guard !ids.isEmpty else { return [:] }
        var used: [Int64: Int64] = [:]
        for row in try db.query("""
            SELECT cc.contract_id, sum(cc.minutes)::bigint
              FROM contract_charges cc
             WHERE cc.contract_id = ANY($1::bigint[]) AND cc.outcome IN ('covered', 'rolled_over')
               AND cc.customer_id <> ALL($2::bigint[])
             GROUP BY cc.contract_id
            """, [ids, customers]) {
            used[try row.decode(0, as: Int64.self)] = try row.decode(1, as: Int64.self)
        }
        return used
    }
}
