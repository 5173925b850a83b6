import BillingCore
import Postgres

/// A customer's available incidents on a date, through the SQL function
/// `incident_availability(customer_id, on_date)` (sql/040_incident_grants.sql): the same
/// numbers the helpdesk and the client area read.
public enum IncidentBalanceReader {
    public struct Line: Sendable, Equatable {
        public let grantID: Int64
        public let source: String
        public let serviceID: Int64?
        public let lifetime: Bool
        public let validFrom: LocalDate
        /// Exclusive; nil for lifetime grants.
        public let validUntil: LocalDate?
        public let quantity: Int
        public let used: Int
        public let available: Int
    }

    public struct Balance: Sendable, Equatable {
        public let customerID: Int64
        public let name: String
        public let timezone: String
        /// The customer's local date the balance is for.
        public let date: LocalDate
        /// Grants valid on `date` with something left, in the order tickets consume them.
        public let lines: [Line]
        /// Tickets that require an incident and hold none (opened on or before `date`).
        public let waitingTickets: [Int64]

        public var timeLimited: Int { lines.filter { !$0.lifetime }.reduce(0) { $0 + $1.available } }
        public var lifetime: Int { lines.filter(\.lifetime).reduce(0) { $0 + $1.available } }
        public var total: Int { timeLimited + lifetime }
    }

    public struct UnknownCustomer: Error, CustomStringConvertible, Sendable {
        public let id: Int64
        public var description: String { "no such customer: \(id)" }
    }

    /// Where the date comes from: a local date given as such, or an instant turned into the
    /// customer's local date (PostgreSQL's `AT TIME ZONE`, as the jobs do).
    public enum When: Sendable {
        case date(LocalDate)
        case instant(Instant)
    }

    public static func balance(_ db: PostgresConnection, customer: Int64, when: When) throws -> Balance {
        let instant: Instant?
        let given: LocalDate?
        switch when {
        case .date(let date): (given, instant) = (date, nil)
        case .instant(let value): (given, instant) = (nil, value)
        }
        guard let row = try db.query("""
            SELECT c.id, c.name, c.timezone, coalesce($2::date, ($3::timestamptz AT TIME ZONE c.timezone)::date)
            FROM customers c WHERE c.id = $1
            """, [customer, given, instant]).first else {
            throw UnknownCustomer(id: customer)
        }
        let date = try row.decode(3, as: LocalDate.self)
        let lines = try db.query("""
            SELECT grant_id, source, service_id, lifetime, valid_from, valid_until, quantity, used, available
            FROM incident_availability($1, $2::date)
            """, [customer, date]).map { row in
            Line(grantID: try row.decode(0), source: try row.decode(1), serviceID: try row.decode(2, as: Int64?.self),
                 lifetime: try row.decode(3), validFrom: try row.decode(4), validUntil: try row.decode(5, as: LocalDate?.self),
                 quantity: try row.decode(6), used: try row.decode(7), available: try row.decode(8))
        }
        let waiting = try db.query("""
            SELECT t.id FROM tickets t JOIN customers c ON c.id = t.customer_id
            WHERE t.customer_id = $1 AND t.requires_incident AND (t.opened_at AT TIME ZONE c.timezone)::date <= $2::date
              AND NOT EXISTS (SELECT 1 FROM incident_uses u
                              WHERE u.customer_id = t.customer_id AND u.ticket_id = t.id AND u.returned_at IS NULL)
            ORDER BY t.opened_at, t.id
            """, [customer, date]).map { try $0.decode(0, as: Int64.self) }
        return Balance(customerID: try row.decode(0), name: try row.decode(1), timezone: try row.decode(2), date: date,
                       lines: lines, waitingTickets: waiting)
    }
}
