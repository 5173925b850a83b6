import BillingCore
import BillingJobs
import BillingStore
import Foundation
import Postgres
import TestSupport

/// A database where each job has one clean customer to bill, for the data-defect catalogue
/// (docs/data-defects.md): a defective customer added next to them must be skipped with a reason
/// while every clean one is billed. The jobs run as `supportbill_runner`, as in production.
///
/// All jobs run as of 2026-11-30 14:00 UTC (monthly-rollup for --period 2026-10):
/// - rollup: a metered service, 60 minutes on Oct 10 at 60.00/h        -> a 60.00 invoice
/// - topup: a pre-paid service, 60 minutes on Oct 10 at 1.00/h         -> a -1.00 debit
/// - sweep: an invoice of 49.00 due Nov 10, 7 days' grace, unpaid       -> its service suspended
/// - grants: 5 incidents a month from Oct 1                             -> grants for Oct and Nov
/// - contract: a customer contract, 60 minutes with no service on Oct 10 -> a covered charge
final class DefectWorld {
    static let asOf = try! Instant(rfc3339: "2026-11-30T14:00:00Z")
    static let period = try! YearMonth("2026-10")

    let database: TestDatabase
    let db: PostgresConnection
    let f: Fixtures

    let metered: Int64
    let prepaid: Int64
    let flat: Int64

    /// The clean customer of each job, by job name.
    private(set) var clean: [String: Int64] = [:]
    /// Services of the clean customers a defect may point at.
    private(set) var cleanMeteredService: Int64 = 0
    private(set) var cleanPrepaidService: Int64 = 0
    private(set) var cleanContractItem: Int64 = 0
    private(set) var cleanContractTicket: Int64 = 0

    init() throws {
        database = try TestCluster.makeDatabase()
        db = try database.connect()
        f = Fixtures(db)
        metered = try f.plan("metered", billing: "metered")
        try f.price(plan: metered, hourlyRate: 6000)
        prepaid = try f.prepaidPlan("prepaid")
        flat = try f.plan("flat", billing: "recurring")
        try f.price(plan: flat, recurringFee: 4900)

        let rollup = try f.customer("Clean Rollup")
        cleanMeteredService = try f.service(customer: rollup, plan: metered, startsOn: "2026-09-01")
        let rollupTicket = try f.ticket(customer: rollup, service: cleanMeteredService, openedAt: "2026-10-10T09:00:00Z")
        try f.entry(customer: rollup, ticket: rollupTicket, workedAt: "2026-10-10T10:00:00Z", minutes: 60)
        clean["monthly-rollup"] = rollup

        let topup = try f.prepaidCustomer("Clean Topup", plan: prepaid)
        cleanPrepaidService = topup.service
        try f.entry(customer: topup.customer, ticket: topup.ticket, workedAt: "2026-10-10T10:00:00Z", minutes: 60)
        clean["threshold-topup"] = topup.customer

        let sweep = try f.customer("Clean Sweep")
        let sweepService = try f.service(customer: sweep, plan: flat, startsOn: "2026-09-01")
        try f.sweep.invoice(customer: sweep, lines: [.init(service: sweepService, amount: 4900)], issuedAt: "2026-10-27T14:00:00Z",
                            dueOn: "2026-11-10", run: try f.sweep.run())
        clean["suspension-sweep"] = sweep

        let grants = try f.customer("Clean Grants")
        try f.incidentService(customer: grants, code: "incidents", periodMonths: 1, incidents: 5, startsOn: "2026-10-01")
        clean["incident-grants"] = grants

        let contract = try f.customer("Clean Contract")
        cleanContractItem = try f.item("Clean mail cluster", customer: contract)
        try f.contract(kind: "subscription", item: cleanContractItem, startsOn: "2026-10-01", status: "active")
        cleanContractTicket = try f.ticket(customer: contract, item: cleanContractItem, openedAt: "2026-10-10T09:00:00Z")
        try f.entry(customer: contract, ticket: cleanContractTicket, workedAt: "2026-10-10T10:00:00Z", minutes: 60)
        clean["contract-expiry-rollover"] = contract
    }

    func close() {
        db.close()
        database.drop()
    }

    /// Runs `job` as the runner role (the monthly rollup for October, everything as of Nov 30).
    func run(_ job: String, customers: [Int64] = [], parameters: JobConfigurationSource = JobConfigurationSource(directory: nil)) throws -> JobReport {
        guard let name = JobName(rawValue: job) else { throw PostgresError.usage("no job \(job)") }
        let instance = try JobRegistry.make(name, source: parameters)
        return JobRunner(target: database.runnerTarget).run(instance, JobRunRequest(
            asOf: DefectWorld.asOf, period: name == .monthlyRollup ? DefectWorld.period : nil, customers: customers,
            force: true, invokedBy: "data-defect test"))
    }

    /// Whether the clean customer of `job` got what the job gives it (rows of this run).
    func cleanBilled(_ job: String, run: Int64) throws -> Bool {
        guard let customer = clean[job] else { return false }
        switch job {
        case "monthly-rollup":
            return try f.count("invoices", where: "customer_id = $1 AND run_id = $2 AND total = 6000", [customer, run]) == 1
        case "threshold-topup":
            return try f.count("credit_ledger", where: "customer_id = $1 AND run_id = $2 AND amount = -100", [customer, run]) == 1
        case "suspension-sweep":
            return try f.count("audit_events", where: "customer_id = $1 AND run_id = $2 AND event = 'suspended'", [customer, run]) == 1
        case "incident-grants":
            return try f.count("incident_grants", where: "customer_id = $1 AND run_id = $2", [customer, run]) == 2
        case "contract-expiry-rollover":
            return try f.count("contract_charges", where: "customer_id = $1 AND run_id = $2 AND outcome = 'covered' AND minutes = 60", [customer, run]) == 1
        default:
            return false
        }
    }

    /// Rows `run` wrote for `customer` in any output table (a skipped customer has none).
    func rowsWritten(customer: Int64, run: Int64) throws -> Int {
        var total = 0
        for table in ["invoices", "billable_items", "credit_ledger", "incident_grants", "incident_uses", "contract_charges", "audit_events"] {
            total += try f.count(table, where: "customer_id = $1 AND run_id = $2", [customer, run])
        }
        return total
    }

    /// `job_runs.stats -> 'skipped'` of a run.
    func recordedSkips(run: Int64) throws -> [(customer: Int64, reason: String)] {
        let text = try db.query("SELECT (stats -> 'skipped')::text FROM job_runs WHERE id = $1", [run]).scalar(String.self) ?? "[]"
        return (try JSONValue(parsing: text).arrayValue ?? []).compactMap { skip in
            guard let customer = skip["customer_id"]?.intValue, let reason = skip["reason"]?.stringValue else { return nil }
            return (customer, reason)
        }
    }
}
