import BillingCore
import BillingJobs
import BillingStore
import Foundation
import Postgres
import Testing

/// One row of the data-defect catalogue (docs/data-defects.md): how to make the defect next to
/// DefectWorld's clean customers, the jobs that must skip the defective customer, and a piece of
/// the reason each must give.
struct DefectCase: Sendable, CustomTestStringConvertible {
    let name: String
    /// What `supportbill check` lists it as; nil when check cannot see it (a jobs/*.toml gap).
    let kind: DataDefectKind?
    let jobs: [String]
    /// A piece of the skip reason, per job ("*" for every job).
    let reasons: [String: String]
    /// Adds the defective customer to the world; returns its id.
    let setup: @Sendable (DefectWorld) throws -> Int64

    var testDescription: String { name }

    func reason(for job: String) -> String { reasons[job] ?? reasons["*"] ?? "" }

    init(_ name: String, kind: DataDefectKind?, jobs: [String], reason: String, setup: @escaping @Sendable (DefectWorld) throws -> Int64) {
        self.init(name, kind: kind, jobs: jobs, reasons: ["*": reason], setup: setup)
    }

    init(_ name: String, kind: DataDefectKind?, jobs: [String], reasons: [String: String], setup: @escaping @Sendable (DefectWorld) throws -> Int64) {
        self.name = name
        self.kind = kind
        self.jobs = jobs
        self.reasons = reasons
        self.setup = setup
    }
}

extension DefectWorld {
    /// A customer with a service on `plan` and a ticket on it, with `minutes` worked on Oct 12
    /// (nil: no entry).
    func defective(_ name: String = "Defective", currency: String = "USD", timezone: String = "UTC", plan: Int64, serviceCurrency: String? = nil,
                   status: String = "active", startsOn: String = "2026-09-01", endsOn: String? = nil, minutes: Int? = 30) throws -> (customer: Int64, service: Int64, ticket: Int64) {
        let customer = try f.customer(name, currency: currency, timezone: timezone)
        let service = try f.service(customer: customer, plan: plan, currency: serviceCurrency ?? currency, status: status, startsOn: startsOn, endsOn: endsOn)
        let ticket = try f.ticket(customer: customer, service: service, openedAt: "2026-10-12T09:00:00Z")
        if let minutes { try f.entry(customer: customer, ticket: ticket, workedAt: "2026-10-12T10:00:00Z", minutes: minutes) }
        return (customer, service, ticket)
    }
}

extension DefectWorld {
    /// Every job, in the README's order.
    static let jobs = JobName.allCases.map(\.rawValue)

    /// A customer in `timezone` with work for every job, each of which reads the customer's
    /// local dates: 30 minutes on a metered service (monthly-rollup), a pre-paid service waiting
    /// for its first pack (threshold-topup), an unpaid invoice due Nov 10 (suspension-sweep), an
    /// incidents service from Oct 1 (incident-grants), and 30 minutes on a ticket of no service
    /// with a pending customer contract from Oct 1 (contract-expiry-rollover).
    func workForEveryJob(timezone: String) throws -> Int64 {
        let d = try defective(timezone: timezone, plan: metered)
        try f.service(customer: d.customer, plan: prepaid, startsOn: "2026-09-01")
        let flatService = try f.service(customer: d.customer, plan: flat, startsOn: "2026-09-01")
        try f.sweep.invoice(customer: d.customer, lines: [.init(service: flatService, amount: 4900)], issuedAt: "2026-10-27T14:00:00Z",
                            dueOn: "2026-11-10", run: try f.sweep.run())
        try f.incidentService(customer: d.customer, code: "incidents", startsOn: "2026-10-01")
        try f.contract(kind: "support_hours", customer: d.customer, startsOn: "2026-10-01", minutesTotal: 600)
        try looseEntry(customer: d.customer)
        return d.customer
    }

    /// 30 minutes on Oct 12 on a ticket of no service: time for contract-expiry-rollover.
    func looseEntry(customer: Int64) throws {
        let ticket = try f.ticket(customer: customer, openedAt: "2026-10-12T09:00:00Z")
        try f.entry(customer: customer, ticket: ticket, workedAt: "2026-10-12T10:00:00Z", minutes: 30)
    }
}

extension DefectCase {
    /// The catalogue. Each defect the jobs can meet in the data, with the jobs that must skip it.
    static let catalogue: [DefectCase] = [
        DefectCase("unknown time zone (not an IANA name)", kind: .unknownTimeZone, jobs: DefectWorld.jobs,
                   reason: "unknown time zone \"Mars/Olympus\"") { w in
            try w.workForEveryJob(timezone: "Mars/Olympus")
        },
        DefectCase("unknown time zone (a POSIX offset PostgreSQL would read backwards)", kind: .unknownTimeZone,
                   jobs: DefectWorld.jobs, reason: "unknown time zone \"GMT+3\"") { w in
            try w.workForEveryJob(timezone: "GMT+3")
        },
        DefectCase("no price in the service's currency (metered)", kind: .missingPrice, jobs: ["monthly-rollup"],
                   reason: "has no price in EUR") { w in
            try w.defective(currency: "EUR", plan: w.metered).customer
        },
        DefectCase("no price in the service's currency (pre-paid)", kind: .missingPrice, jobs: ["threshold-topup"],
                   reason: "has no price in EUR") { w in
            try w.defective(currency: "EUR", plan: w.prepaid).customer
        },
        DefectCase("a top-up pack of 0", kind: .zeroTopupAmount, jobs: ["threshold-topup"], reason: "has topup_amount 0 in USD") { w in
            let plan = try w.f.prepaidPlan("prepaid-zero", topupAmount: 0)
            return try w.defective(plan: plan).customer
        },
        DefectCase("overflow-sized amounts (hourly_rate = Int64.max)", kind: .amountOutOfRange,
                   jobs: ["monthly-rollup", "threshold-topup"], reason: "does not fit in 64-bit minor units") { w in
            let metered = try w.f.plan("metered-huge", billing: "metered")
            try w.f.price(plan: metered, hourlyRate: .max)
            let prepaid = try w.f.prepaidPlan("prepaid-huge", hourlyRate: .max)
            let d = try w.defective(plan: metered)
            let service = try w.f.service(customer: d.customer, plan: prepaid, startsOn: "2026-09-01")
            let ticket = try w.f.ticket(customer: d.customer, service: service, openedAt: "2026-10-12T09:00:00Z")
            try w.f.entry(customer: d.customer, ticket: ticket, workedAt: "2026-10-12T10:00:00Z", minutes: 60)
            return d.customer
        },
        DefectCase("a cancelled service with no end to its term", kind: .cancelledWithoutEnd, jobs: ["monthly-rollup"],
                   reason: "is cancelled but has no ends_on") { w in
            try w.defective(plan: w.metered, status: "cancelled").customer
        },
        DefectCase("ends_on before starts_on (metered)", kind: .serviceEndsBeforeStart, jobs: ["monthly-rollup"],
                   reason: "ends on 2026-08-01 before it starts on 2026-09-01") { w in
            try w.defective(plan: w.metered, endsOn: "2026-08-01").customer
        },
        DefectCase("ends_on before starts_on (pre-paid)", kind: .serviceEndsBeforeStart, jobs: ["threshold-topup"],
                   reason: "ends on 2026-08-01 before it starts on 2026-09-01") { w in
            try w.defective(plan: w.prepaid, endsOn: "2026-08-01").customer
        },
        DefectCase("ends_on before starts_on (incidents)", kind: .serviceEndsBeforeStart, jobs: ["incident-grants"],
                   reason: "ends on 2026-09-01 before it starts on 2026-10-01") { w in
            let d = try w.f.customer("Defective")
            try w.f.incidentService(customer: d, code: "incidents", startsOn: "2026-10-01", endsOn: "2026-09-01")
            return d
        },
        DefectCase("an entry whose customer differs from its ticket's (no service)", kind: .entryTicketOtherCustomer,
                   jobs: ["monthly-rollup", "contract-expiry-rollover"],
                   reasons: ["monthly-rollup": "which is not a ticket of customer", "contract-expiry-rollover": "but its ticket #"]) { w in
            let d = try w.defective(plan: w.metered)
            try w.f.entry(customer: d.customer, ticket: w.cleanContractTicket, workedAt: "2026-10-13T10:00:00Z", minutes: 45)
            return d.customer
        },
        DefectCase("an entry whose customer differs from its ticket's (pre-paid ticket)", kind: .entryTicketOtherCustomer,
                   jobs: ["threshold-topup"], reason: "but its ticket") { w in
            let d = try w.f.customer("Defective")
            let ticket = try w.db.query("SELECT id FROM tickets WHERE service_id = $1", [w.cleanPrepaidService]).scalar(Int64.self) ?? 0
            try w.f.entry(customer: d, ticket: ticket, workedAt: "2026-10-13T10:00:00Z", minutes: 45)
            return d
        },
        DefectCase("an entry on a ticket that does not exist", kind: .entryTicketMissing,
                   jobs: ["monthly-rollup", "contract-expiry-rollover"],
                   reasons: ["monthly-rollup": "which is not a ticket of customer", "contract-expiry-rollover": "which does not exist"]) { w in
            let d = try w.defective(plan: w.metered)
            try w.f.entry(customer: d.customer, ticket: 987_654, workedAt: "2026-10-13T10:00:00Z", minutes: 45)
            return d.customer
        },
        DefectCase("an entry on a service of another customer", kind: .entryServiceOtherCustomer,
                   jobs: ["monthly-rollup", "threshold-topup"], reason: "is charged to service") { w in
            let d = try w.defective(plan: w.metered)
            try w.f.entry(customer: d.customer, ticket: d.ticket, service: w.cleanPrepaidService, workedAt: "2026-10-13T10:00:00Z", minutes: 45)
            return d.customer
        },
        DefectCase("an entry dated far in the future", kind: .entryFarFuture,
                   jobs: ["monthly-rollup", "threshold-topup", "contract-expiry-rollover"], reason: "is dated 2028-01-05T10:00:00Z") { w in
            let d = try w.defective(plan: w.metered)
            try w.f.entry(customer: d.customer, ticket: d.ticket, workedAt: "2028-01-05T10:00:00Z", minutes: 45)
            let service = try w.f.service(customer: d.customer, plan: w.prepaid, startsOn: "2026-09-01")
            let prepaidTicket = try w.f.ticket(customer: d.customer, service: service, openedAt: "2026-10-12T09:00:00Z")
            try w.f.entry(customer: d.customer, ticket: prepaidTicket, workedAt: "2028-01-05T10:00:00Z", minutes: 45)
            let loose = try w.f.ticket(customer: d.customer, openedAt: "2026-10-12T09:00:00Z")
            try w.f.entry(customer: d.customer, ticket: loose, workedAt: "2026-10-12T10:00:00Z", minutes: 30)
            try w.f.entry(customer: d.customer, ticket: loose, workedAt: "2028-01-05T10:00:00Z", minutes: 45)
            return d.customer
        },
        DefectCase("a ticket naming another customer's service", kind: .ticketServiceOtherCustomer, jobs: ["incident-grants"],
                   reason: "names service") { w in
            let d = try w.f.customer("Defective")
            try w.f.incidentService(customer: d, code: "incidents", startsOn: "2026-10-01")
            try w.f.ticket(customer: d, service: w.cleanMeteredService, requiresIncident: true, openedAt: "2026-10-12T09:00:00Z")
            return d
        },
        DefectCase("a ticket naming another customer's item", kind: .ticketItemOtherCustomer, jobs: ["contract-expiry-rollover"],
                   reason: "names item") { w in
            let d = try w.f.customer("Defective")
            let ticket = try w.f.ticket(customer: d, item: w.cleanContractItem, openedAt: "2026-10-12T09:00:00Z")
            try w.f.entry(customer: d, ticket: ticket, workedAt: "2026-10-12T10:00:00Z", minutes: 30)
            return d
        },
        DefectCase("a payment in a foreign currency (period invoice)", kind: .paymentCurrencyMismatch, jobs: ["suspension-sweep"],
                   reason: "is in EUR but the invoice it pays") { w in
            let d = try w.defective(plan: w.flat, minutes: nil)
            let invoice = try w.f.sweep.invoice(customer: d.customer, lines: [.init(service: d.service, amount: 4900)],
                                                issuedAt: "2026-10-27T14:00:00Z", dueOn: "2026-11-10", run: try w.f.sweep.run())
            try w.f.payment(customer: d.customer, invoice: invoice, amount: 4900, currency: "EUR", receivedAt: "2026-11-05T10:00:00Z")
            return d.customer
        },
        DefectCase("a payment in a foreign currency (top-up invoice)", kind: .paymentCurrencyMismatch, jobs: ["threshold-topup"],
                   reason: "is in EUR but the topup invoice it pays") { w in
            let d = try w.defective(plan: w.prepaid, minutes: nil)
            let invoice = try w.f.sweep.invoice(customer: d.customer, kind: "topup", lines: [.init(service: d.service, amount: 1000, kind: "topup")],
                                                issuedAt: "2026-10-27T14:00:00Z", dueOn: "2026-11-03", run: try w.f.sweep.run(job: "threshold-topup"))
            try w.f.payment(customer: d.customer, invoice: invoice, amount: 1000, currency: "EUR", receivedAt: "2026-11-05T10:00:00Z")
            return d.customer
        },
        DefectCase("an invoice item for a service of another customer", kind: .invoiceItemOtherCustomerService, jobs: ["suspension-sweep"],
                   reason: "is not a service of customer") { w in
            let d = try w.defective(plan: w.flat, minutes: nil)
            try w.f.sweep.invoice(customer: d.customer, lines: [.init(service: d.service, amount: 4900), .init(service: w.cleanMeteredService, amount: 100)],
                                  issuedAt: "2026-10-27T14:00:00Z", dueOn: "2026-11-10", run: try w.f.sweep.run())
            return d.customer
        },
        DefectCase("a service whose currency changed after it was billed", kind: .serviceCurrencyChanged, jobs: ["monthly-rollup"],
                   reason: "is now billed in EUR but usage:") { w in
            let plan = try w.f.plan("metered-moved", billing: "metered")
            try w.f.price(plan: plan, hourlyRate: 6000)
            let d = try w.defective(plan: plan)
            let first = try w.run("monthly-rollup", customers: [d.customer])
            guard first.exitStatus == .success else { throw PostgresError.usage("setup rollup failed: \(first.error ?? "")") }
            try w.f.price(plan: plan, currency: "EUR", hourlyRate: 5500)
            try w.db.execute("UPDATE services SET currency = 'EUR' WHERE id = $1", [d.service])
            return d.customer
        },
        DefectCase("a pre-paid service moved to a metered plan after its time was debited", kind: .serviceBillingChanged,
                   jobs: ["monthly-rollup"], reason: "its time was debited from pre-paid credit") { w in
            let d = try w.defective(plan: w.prepaid, minutes: 90)
            let topup = try w.run("threshold-topup", customers: [d.customer])
            guard topup.exitStatus == .success else { throw PostgresError.usage("setup top-up failed: \(topup.error ?? "")") }
            try w.db.execute("UPDATE services SET plan_id = $1 WHERE id = $2", [w.metered, d.service])
            return d.customer
        },
        DefectCase("a metered service moved to a pre-paid plan after monthly-rollup billed it", kind: .serviceBillingChanged,
                   jobs: ["threshold-topup"], reason: "monthly-rollup billed it on invoices") { w in
            let plan = try w.f.plan("metered-to-prepaid", billing: "metered")
            try w.f.price(plan: plan, hourlyRate: 6000)
            let d = try w.defective(plan: plan, minutes: 90)
            let rollup = try w.run("monthly-rollup", customers: [d.customer])
            guard rollup.exitStatus == .success else { throw PostgresError.usage("setup rollup failed: \(rollup.error ?? "")") }
            try w.db.execute("UPDATE services SET plan_id = $1 WHERE id = $2", [w.prepaid, d.service])
            return d.customer
        },
        DefectCase("a contract with no minutes (support_hours without minutes_total)", kind: .contractIncomplete,
                   jobs: ["contract-expiry-rollover"], reason: "is support_hours but has no minutes_total") { w in
            let d = try w.f.customer("Defective")
            try w.f.contract(kind: "support_hours", customer: d, startsOn: "2026-10-01", status: "active")
            try w.looseEntry(customer: d)
            return d
        },
        DefectCase("a time_limited contract with neither ends_on nor minutes_total", kind: .contractIncomplete,
                   jobs: ["contract-expiry-rollover"], reason: "is time_limited but lacks ends_on") { w in
            let d = try w.f.customer("Defective")
            try w.f.contract(kind: "time_limited", customer: d, startsOn: "2026-10-01", status: "active")
            try w.looseEntry(customer: d)
            return d
        },
        DefectCase("a contract that ends on or before it starts (ends_on <= starts_on)", kind: .contractIncomplete,
                   jobs: ["contract-expiry-rollover"], reason: "ends (ends_on 2026-10-01) on or before it starts (starts_on 2026-10-01)") { w in
            let d = try w.f.customer("Defective")
            try w.f.contract(kind: "time_limited", customer: d, startsOn: "2026-10-01", endsOn: "2026-10-01", minutesTotal: 600, status: "active")
            try w.looseEntry(customer: d)
            return d
        },
        DefectCase("no per-incident price in the customer's currency (jobs/contract-expiry-rollover.toml)", kind: nil,
                   jobs: ["contract-expiry-rollover"], reason: "no per_incident_price for JPY") { w in
            let d = try w.f.customer("Defective", currency: "JPY")
            try w.looseEntry(customer: d)
            return d
        },
    ]
}
