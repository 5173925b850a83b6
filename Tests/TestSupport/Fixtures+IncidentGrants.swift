import BillingCore
import Postgres

/// Fixtures and read-backs for incident-grants tests.
extension Fixtures {
    /// An `incidents` plan (`code` must be unique in the test's database) and a service on it.
    @discardableResult
    public func incidentService(customer: Int64, code: String, periodMonths: Int = 1, incidents: Int = 10, startsOn: String, endsOn: String? = nil, status: String = "active") throws -> Int64 {
        let plan: Int64
        if let existing = try db.query("SELECT id FROM plans WHERE code = $1", [code]).scalar(Int64.self) {
            plan = existing
        } else {
            plan = try self.plan(code, billing: "incidents", periodMonths: periodMonths, incidentsPerPeriod: incidents)
        }
        return try service(customer: customer, plan: plan, status: status, startsOn: startsOn, endsOn: endsOn)
    }

    /// A grant made by staff (no run).
    @discardableResult
    public func manualGrant(customer: Int64, quantity: Int, validFrom: String, validUntil: String? = nil, key: String) throws -> Int64 {
        guard let id = try db.query("""
            INSERT INTO incident_grants (customer_id, quantity, lifetime, valid_from, valid_until, source, source_key)
            VALUES ($1, $2, $3, $4::date, $5::date, 'manual', $6) RETURNING id
            """, [customer, quantity, validUntil == nil, validFrom, validUntil, key]).scalar(Int64.self) else {
            throw PostgresError.usage("insert returned no id")
        }
        return id
    }

    public func reversePayment(_ id: Int64) throws {
        try db.execute("UPDATE payments SET status = 'reversed' WHERE id = $1", [id])
    }

    public func setRequiresIncident(ticket: Int64, _ value: Bool) throws {
        try db.execute("UPDATE tickets SET requires_incident = $2 WHERE id = $1", [ticket, value])
    }

    /// A customer's grants as `source valid_from..valid_until xquantity [revoked]`, oldest id first.
    public func grantLines(customer: Int64) throws -> [String] {
        try db.query("""
            SELECT source, valid_from, valid_until, quantity, revoked_at IS NOT NULL FROM incident_grants
            WHERE customer_id = $1 ORDER BY id
            """, [customer]).map { row in
            let until = try row.decode(2, as: LocalDate?.self).map { "\($0)" } ?? "lifetime"
            let revoked = try row.decode(4, as: Bool.self) ? " revoked" : ""
            return "\(try row.decode(0, as: String.self)) \(try row.decode(1, as: LocalDate.self))..\(until) x\(try row.decode(3, as: Int.self))\(revoked)"
        }
    }

    /// A customer's uses as `ticket T -> <grant source_key> [returned]`, oldest id first.
    public func useLines(customer: Int64) throws -> [String] {
        try db.query("""
            SELECT u.ticket_id, g.source_key, u.source_key, u.returned_at IS NOT NULL FROM incident_uses u
            JOIN incident_grants g ON g.id = u.grant_id
            WHERE u.customer_id = $1 ORDER BY u.id
            """, [customer]).map { row in
            let returned = try row.decode(3, as: Bool.self) ? " returned" : ""
            return "\(try row.decode(2, as: String.self)) ticket \(try row.decode(0, as: Int64.self)) -> \(try row.decode(1, as: String.self))\(returned)"
        }
    }

    /// `incident_balance(customer, date)`: time-limited, lifetime, total.
    public func incidentBalance(customer: Int64, on date: String) throws -> [Int64] {
        guard let row = try db.query("SELECT time_limited, lifetime, total FROM incident_balance($1, $2::date)", [customer, date]).first else { return [] }
        return [try row.decode(0), try row.decode(1), try row.decode(2)]
    }
}
