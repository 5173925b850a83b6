import BillingCore
import BillingJobs
import BillingStore
import Foundation
import Postgres
import TestSupport

/// A fresh database with the rollup catalogue, and helpers to run the job and read what it wrote.
struct RollupTestDatabase {
    let database: TestDatabase
    let db: PostgresConnection
    let fixtures: Fixtures
    let plans: Fixtures.RollupPlans

    static let closing = try! Instant(rfc3339: "2026-11-01T14:00:00Z")
    static let october = try! YearMonth("2026-10")

    init() throws {
        database = try TestCluster.makeDatabase()
        db = try database.connect()
        fixtures = Fixtures(db)
        plans = try fixtures.rollupPlans()
    }

    func close() {
        db.close()
        database.drop()
    }

    func run(asOf: Instant = closing, period: YearMonth? = october, customers: [Int64] = [], dryRun: Bool = false, batchSize: Int = 500, issue: Bool = true, lookbackMonths: Int = 3) -> JobReport {
        var parameters = MonthlyRollupParameters()
        parameters.issue = issue
        parameters.lookbackMonths = lookbackMonths
        return JobRunner(target: database.target).run(
            MonthlyRollupJob(parameters: parameters),
            JobRunRequest(asOf: asOf, period: period, customers: customers, dryRun: dryRun, batchSize: batchSize, invokedBy: "test")
        )
    }

    /// A customer with one service and one ticket on it.
    func customer(_ name: String, currency: String = "USD", timezone: String = "UTC", plan: Int64, startsOn: String, endsOn: String? = nil, status: String = "active") throws -> (customer: Int64, service: Int64, ticket: Int64) {
        let customer = try fixtures.customer(name, currency: currency, timezone: timezone)
        let service = try fixtures.service(customer: customer, plan: plan, currency: currency, status: status, startsOn: startsOn, endsOn: endsOn)
        let ticket = try fixtures.ticket(customer: customer, service: service, openedAt: "2026-06-01T00:00:00Z")
        return (customer, service, ticket)
    }

    struct StoredInvoice: Equatable {
        let id: Int64
        let kind: String
        let periodStart: LocalDate?
        let status: String
        let total: Int64
        let dueOn: LocalDate?
        let issuedAt: Instant?
        let sourceKey: String
        let items: [StoredItem]
    }

    struct StoredItem: Equatable {
        let id: Int64
        let serviceID: Int64?
        let kind: String
        let minutes: Int?
        let quantity: ExactDecimal
        let unitPrice: Int64
        let amount: Int64
        let periodStart: LocalDate?
        let periodEnd: LocalDate?
        let sourceKey: String
    }

    func invoices(customer: Int64) throws -> [StoredInvoice] {
        try db.query("""
            SELECT id, kind, period_start, status, total, due_on, issued_at, source_key FROM invoices
             WHERE customer_id = $1 ORDER BY id
            """, [customer]).map { row in
            let id = try row.decode(0, as: Int64.self)
            let items = try db.query("""
                SELECT id, service_id, kind, minutes, quantity, unit_price, amount, period_start, period_end, source_key
                  FROM billable_items WHERE invoice_id = $1 ORDER BY source_key
                """, [id]).map { item in
                StoredItem(id: try item.decode(0), serviceID: try item.decode(1, as: Int64?.self), kind: try item.decode(2),
                           minutes: try item.decode(3, as: Int?.self), quantity: try item.decode(4), unitPrice: try item.decode(5),
                           amount: try item.decode(6), periodStart: try item.decode(7, as: LocalDate?.self),
                           periodEnd: try item.decode(8, as: LocalDate?.self), sourceKey: try item.decode(9))
            }
            return StoredInvoice(id: id, kind: try row.decode(1), periodStart: try row.decode(2, as: LocalDate?.self), status: try row.decode(3),
                                 total: try row.decode(4), dueOn: try row.decode(5, as: LocalDate?.self),
                                 issuedAt: try row.decode(6, as: Instant?.self), sourceKey: try row.decode(7), items: items)
        }
    }
}
