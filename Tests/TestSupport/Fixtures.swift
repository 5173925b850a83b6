import BillingCore
import BillingStore
import Postgres

/// Inserts input rows for tests, every value bound as a parameter. Returns the new row's id.
public struct Fixtures {
    public let db: PostgresConnection

    public init(_ db: PostgresConnection) { self.db = db }

    private func insert(_ sql: String, _ binds: [any PostgresEncodable]) throws -> Int64 {
        guard let id = try db.query(sql + " RETURNING id", binds).scalar(Int64.self) else {
            throw PostgresError.usage("insert returned no id")
        }
        return id
    }

    @discardableResult
    public func customer(_ name: String = "Customer", currency: String = "USD", timezone: String = "UTC", orgUnitID: Int64? = nil, registeredAt: Instant = Instant(utc: try! LocalDate("2026-01-01"))) throws -> Int64 {
        try insert("INSERT INTO customers (name, currency, timezone, org_unit_id, registered_at) VALUES ($1, $2, $3, $4, $5)",
                   [name, currency, timezone, orgUnitID, registeredAt])
    }

    @discardableResult
    public func plan(_ code: String, billing: String, periodMonths: Int = 1, billInAdvance: Bool = false, includedMinutes: Int = 0, incrementMinutes: Int = 15, incidentsPerPeriod: Int = 0, groupID: Int64? = nil, graceDays: Int = 7) throws -> Int64 {
        try insert("""
            INSERT INTO plans (code, name, billing, period_months, bill_in_advance, included_minutes, increment_minutes,
                               incidents_per_period, group_id, grace_days)
            VALUES ($1, $1, $2, $3, $4, $5, $6, $7, $8, $9)
            """, [code, billing, periodMonths, billInAdvance, includedMinutes, incrementMinutes, incidentsPerPeriod, groupID, graceDays])
    }

    public func price(plan: Int64, currency: String = "USD", recurringFee: Int64 = 0, setupFee: Int64 = 0, hourlyRate: Int64 = 0, topupAmount: Int64 = 0, threshold: Int64 = 0) throws {
        try db.execute("""
            INSERT INTO plan_prices (plan_id, currency, recurring_fee, setup_fee, hourly_rate, topup_amount, threshold)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            """, [plan, currency, recurringFee, setupFee, hourlyRate, topupAmount, threshold])
    }

    @discardableResult
    public func service(customer: Int64, plan: Int64, currency: String = "USD", status: String = "active", startsOn: String, endsOn: String? = nil) throws -> Int64 {
        try insert("""
            INSERT INTO services (customer_id, plan_id, currency, status, starts_on, ends_on)
            VALUES ($1, $2, $3, $4, $5::date, $6::date)
            """, [customer, plan, currency, status, startsOn, endsOn])
    }

    @discardableResult
    public func ticket(customer: Int64, service: Int64? = nil, item: Int64? = nil, subject: String = "Ticket", requiresIncident: Bool = false, openedAt: String) throws -> Int64 {
        try insert("""
            INSERT INTO tickets (customer_id, service_id, item_id, subject, requires_incident, opened_at)
            VALUES ($1, $2, $3, $4, $5, $6::timestamptz)
            """, [customer, service, item, subject, requiresIncident, openedAt])
    }

    @discardableResult
    public func entry(customer: Int64, ticket: Int64, service: Int64? = nil, workedAt: String, minutes: Int, billable: Bool = true, note: String? = nil) throws -> Int64 {
        try insert("""
            INSERT INTO time_entries (customer_id, ticket_id, service_id, worked_at, minutes, billable, note)
            VALUES ($1, $2, $3, $4::timestamptz, $5, $6, $7)
            """, [customer, ticket, service, workedAt, minutes, billable, note])
    }

    @discardableResult
    public func payment(customer: Int64, invoice: Int64? = nil, amount: Int64, currency: String = "USD", receivedAt: String, status: String = "completed") throws -> Int64 {
        try insert("""
            INSERT INTO payments (customer_id, invoice_id, amount, currency, received_at, status)
            VALUES ($1, $2, $3, $4, $5::timestamptz, $6)
            """, [customer, invoice, amount, currency, receivedAt, status])
    }

    @discardableResult
    public func group(_ name: String) throws -> Int64 {
        try insert("INSERT INTO customer_groups (name) VALUES ($1)", [name])
    }

    @discardableResult
    public func orgUnit(_ name: String, parent: Int64? = nil) throws -> Int64 {
        try insert("INSERT INTO org_units (name, parent_id) VALUES ($1, $2)", [name, parent])
    }

    @discardableResult
    public func item(_ name: String, customer: Int64? = nil, orgUnit: Int64? = nil) throws -> Int64 {
        try insert("INSERT INTO items (name, customer_id, org_unit_id) VALUES ($1, $2, $3)", [name, customer, orgUnit])
    }

    @discardableResult
    public func contract(kind: String, item: Int64? = nil, customer: Int64? = nil, orgUnit: Int64? = nil, startsOn: String, endsOn: String? = nil, minutesTotal: Int? = nil, status: String = "pending") throws -> Int64 {
        try insert("""
            INSERT INTO contracts (kind, item_id, customer_id, org_unit_id, starts_on, ends_on, minutes_total, status)
            VALUES ($1, $2, $3, $4, $5::date, $6::date, $7, $8)
            """, [kind, item, customer, orgUnit, startsOn, endsOn, minutesTotal, status])
    }

    /// Counts rows of a table (the name is the test's own literal, never input).
    public func count(_ table: String, where condition: String = "true", _ binds: [any PostgresEncodable] = []) throws -> Int {
        try db.query("SELECT count(*) FROM \(table) WHERE \(condition)", binds).scalar(Int.self) ?? 0
    }
}
