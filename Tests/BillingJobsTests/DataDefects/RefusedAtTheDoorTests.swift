import BillingCore
import Postgres
import TestSupport
import Testing

/// The defects the database refuses at the door (the constraints of sql/182 to sql/184), so that no job ever
/// meets them: the row is never stored (docs/data-defects.md, "Refused by the schema").
@Suite("Data defects the schema refuses: never stored")
struct RefusedAtTheDoorTests {
    /// Rows of the test's database a statement binds, in order, as $1, $2, ...
    enum Row: Sendable { case customer, plan, item, unit }

    struct Refusal: Sendable, CustomTestStringConvertible {
        let defect: String
        let sqlState: String
        let table: String
        let statement: String
        var binds: [Row] = []
        var testDescription: String { defect }
    }

    static let refusals: [Refusal] = [
        Refusal(defect: "a plan with a zero increment", sqlState: "23514", table: "plans",
                statement: "INSERT INTO plans (code, name, billing, increment_minutes) VALUES ('zero', 'zero', 'metered', 0)"),
        Refusal(defect: "a contract with no scope", sqlState: "23514", table: "contracts",
                statement: "INSERT INTO contracts (kind, starts_on) SELECT 'subscription', DATE '2026-10-01'"),
        Refusal(defect: "a contract with two scopes", sqlState: "23514", table: "contracts",
                statement: "INSERT INTO contracts (kind, customer_id, item_id, starts_on) SELECT 'subscription', $1, $2, DATE '2026-10-01'", binds: [.customer, .item]),
        Refusal(defect: "a contract with 0 minutes", sqlState: "23514", table: "contracts",
                statement: "INSERT INTO contracts (kind, org_unit_id, starts_on, minutes_total) SELECT 'support_hours', $1, DATE '2026-10-01', 0", binds: [.unit]),
        Refusal(defect: "a time entry of 0 minutes", sqlState: "23514", table: "time_entries",
                statement: "INSERT INTO time_entries (customer_id, ticket_id, worked_at, minutes) SELECT $1, 1, now(), 0", binds: [.customer]),
        Refusal(defect: "a time entry of negative minutes", sqlState: "23514", table: "time_entries",
                statement: "INSERT INTO time_entries (customer_id, ticket_id, worked_at, minutes) SELECT $1, 1, now(), -30", binds: [.customer]),
        Refusal(defect: "a negative price", sqlState: "23514", table: "plan_prices",
                statement: "INSERT INTO plan_prices (plan_id, currency, hourly_rate) SELECT $1, 'EUR', -6000", binds: [.plan]),
        Refusal(defect: "a currency code that is not three upper-case letters", sqlState: "23514", table: "currencies",
                statement: "INSERT INTO currencies (code, minor_units) SELECT 'usd', 2"),
        Refusal(defect: "a currency with more than 4 minor units", sqlState: "23514", table: "currencies",
                statement: "INSERT INTO currencies (code, minor_units) SELECT 'XBT', 8"),
        Refusal(defect: "a customer in an unknown currency", sqlState: "23503", table: "customers",
                statement: "INSERT INTO customers (name, currency) SELECT 'Nowhere', 'XXX'"),
        Refusal(defect: "a service in an unknown currency", sqlState: "23503", table: "services",
                statement: "INSERT INTO services (customer_id, plan_id, currency, starts_on) SELECT $1, $2, 'XXX', DATE '2026-10-01'", binds: [.customer, .plan]),
        Refusal(defect: "a customer with no time zone", sqlState: "23502", table: "customers",
                statement: "INSERT INTO customers (name, currency, timezone) SELECT 'Nowhere', 'USD', NULL"),
        Refusal(defect: "an unknown service status", sqlState: "23514", table: "services",
                statement: "INSERT INTO services (customer_id, plan_id, currency, status, starts_on) SELECT $1, $2, 'USD', 'paused', DATE '2026-10-01'", binds: [.customer, .plan]),
        Refusal(defect: "an unknown billing kind", sqlState: "23514", table: "plans",
                statement: "INSERT INTO plans (code, name, billing) SELECT 'free', 'free', 'free'"),
        Refusal(defect: "an unknown payment status", sqlState: "23514", table: "payments",
                statement: "INSERT INTO payments (customer_id, amount, currency, received_at, status) SELECT $1, 100, 'USD', now(), 'pending'", binds: [.customer]),
        Refusal(defect: "a payment in an unknown currency", sqlState: "23503", table: "payments",
                statement: "INSERT INTO payments (customer_id, amount, currency, received_at) SELECT $1, 100, 'XXX', now()", binds: [.customer]),
        Refusal(defect: "a ticket naming an item that does not exist", sqlState: "23503", table: "tickets",
                statement: "INSERT INTO tickets (customer_id, item_id, opened_at) SELECT $1, $2::bigint + 1000, now()", binds: [.customer, .item]),
        Refusal(defect: "a negative grace period", sqlState: "23514", table: "plans",
                statement: "INSERT INTO plans (code, name, billing, grace_days) SELECT 'neg', 'neg', 'recurring', -1"),
    ]

    @Test("the schema refuses it", arguments: refusals)
    func refused(_ refusal: Refusal) throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let unit = try f.orgUnit("Unit")
        let customer = try f.customer("Customer", orgUnitID: unit)
        let plan = try f.plan("plan", billing: "metered")
        let item = try f.item("Item", customer: customer)
        let before = try f.count(refusal.table)
        do {
            let rows: [Row: Int64] = [.customer: customer, .plan: plan, .item: item, .unit: unit]
            try db.execute(refusal.statement, refusal.binds.map { rows[$0] ?? 0 })
            Issue.record("stored: \(refusal.defect)")
        } catch let error as PostgresError {
            #expect(error.sqlState == refusal.sqlState, "\(error)")
        }
        #expect(try f.count(refusal.table) == before)
    }
}
