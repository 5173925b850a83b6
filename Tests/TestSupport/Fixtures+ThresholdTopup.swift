import BillingCore
import Postgres

/// Test data for threshold-topup: pre-paid plans and customers, and readers of what it wrote.
extension Fixtures {
    /// A `prepaid` plan priced in `currency`; the seed by default (1 h = 1.00, pack 10.00, threshold 0).
    @discardableResult
    public func prepaidPlan(_ code: String = "prepaid-credit", currency: String = "USD", hourlyRate: Int64 = 100, topupAmount: Int64 = 1000,
                            threshold: Int64 = 0, incrementMinutes: Int = 15) throws -> Int64 {
        let plan = try self.plan(code, billing: "prepaid", incrementMinutes: incrementMinutes)
        try price(plan: plan, currency: currency, hourlyRate: hourlyRate, topupAmount: topupAmount, threshold: threshold)
        return plan
    }

    /// A customer with one service on `plan` and a ticket on that service.
    public func prepaidCustomer(_ name: String = "Fabrikam", plan: Int64, status: String = "active", timezone: String = "UTC",
                                startsOn: String = "2026-09-01", endsOn: String? = nil) throws -> (customer: Int64, service: Int64, ticket: Int64) {
        let customer = try self.customer(name, timezone: timezone)
        let service = try self.service(customer: customer, plan: plan, status: status, startsOn: startsOn, endsOn: endsOn)
        let ticket = try self.ticket(customer: customer, service: service, openedAt: "2026-10-01T08:00:00Z")
        return (customer, service, ticket)
    }

    /// `(source_key, amount)` of a customer's ledger rows, oldest first.
    public func ledger(customer: Int64) throws -> [(key: String, amount: Int64)] {
        try db.query("SELECT source_key, amount FROM credit_ledger WHERE customer_id = $1 ORDER BY id", [customer]).map {
            (try $0.decode(0, as: String.self), try $0.decode(1, as: Int64.self))
        }
    }

    /// B: the sum of a service's ledger rows, straight from the ledger.
    public func balance(service: Int64) throws -> Int64 {
        try db.query("SELECT COALESCE(sum(amount), 0)::bigint FROM credit_ledger WHERE service_id = $1", [service]).scalar(Int64.self) ?? 0
    }

    /// A customer's top-up invoices: `(id, status, total, due_on)`, oldest first.
    public func topups(customer: Int64) throws -> [(id: Int64, status: String, total: Int64, dueOn: String?)] {
        try db.query("""
            SELECT id, status, total, due_on::text FROM invoices WHERE customer_id = $1 AND kind = 'topup' ORDER BY id
            """, [customer]).map {
            (try $0.decode(0, as: Int64.self), try $0.decode(1, as: String.self), try $0.decode(2, as: Int64.self), try $0.decode(3, as: String?.self))
        }
    }
}
