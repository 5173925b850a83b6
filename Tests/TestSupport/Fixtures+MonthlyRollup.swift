import BillingCore
import Postgres

/// The demo catalogue's rollup plans (demo/10_catalogue.sql), for monthly-rollup tests.
extension Fixtures {
    public struct RollupPlans: Sendable {
        /// metered: 200.00 a month with 2 h included, 60.00/h beyond (USD; JPY 30000 / 9000 per h).
        public let bundle: Int64
        /// metered: 1.00/h, 30.00 one-time fee (USD).
        public let postpaid: Int64
        /// recurring, in advance: 49.00 a month (USD).
        public let flat: Int64
        /// recurring, quarterly: 450.00 (USD only).
        public let retainer: Int64
    }

    public func rollupPlans() throws -> RollupPlans {
        let bundle = try plan("bundle-2h", billing: "metered", includedMinutes: 120)
        try price(plan: bundle, currency: "USD", recurringFee: 20000, hourlyRate: 6000)
        try price(plan: bundle, currency: "JPY", recurringFee: 30000, hourlyRate: 9000)
        let postpaid = try plan("hourly-postpaid", billing: "metered")
        try price(plan: postpaid, currency: "USD", setupFee: 3000, hourlyRate: 100)
        let flat = try plan("priority-flat", billing: "recurring", billInAdvance: true)
        try price(plan: flat, currency: "USD", recurringFee: 4900)
        let retainer = try plan("retainer-q", billing: "recurring", periodMonths: 3)
        try price(plan: retainer, currency: "USD", recurringFee: 45000)
        return RollupPlans(bundle: bundle, postpaid: postpaid, flat: flat, retainer: retainer)
    }

    /// An item another job emitted and left uninvoiced (a per-incident item of
    /// contract-expiry-rollover): period = the customer's local month, as the convention says.
    @discardableResult
    public func uninvoicedItem(customer: Int64, kind: String = "per_incident", amount: Int64, currency: String = "USD", month: String, sourceKey: String) throws -> Int64 {
        let start = try YearMonth(month)
        let run = try db.query("""
            INSERT INTO job_runs (job, as_of, dry_run, status, started_at, finished_at, invoked_by, host, pid)
            VALUES ('contract-expiry-rollover', now(), false, 'succeeded', now(), now(), 'test', 'test', 1) RETURNING id
            """).scalar(Int64.self) ?? 0
        guard let id = try db.query("""
            INSERT INTO billable_items (customer_id, kind, description, quantity, unit_price, amount, currency,
                                        period_start, period_end, source_key, run_id)
            VALUES ($1, $2, 'Per-incident support', 1, $3, $3, $4, $5, $6, $7, $8) RETURNING id
            """, [customer, kind, amount, currency, start.firstDay, start.next.firstDay, sourceKey, run]).scalar(Int64.self) else {
            throw PostgresError.usage("insert returned no id")
        }
        return id
    }
}
