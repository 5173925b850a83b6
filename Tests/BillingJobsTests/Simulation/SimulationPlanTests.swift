import BillingCore
@testable import BillingJobs
import Testing

@Suite("simulate: the jobs' schedules as a day-by-day plan")
struct SimulationPlanTests {
    @Test("schedules of the jobs parse", arguments: [
        ("*-*-01 14:00:00 UTC", 1, 14, 0),
        ("*-*-* 06:00:00 UTC", nil, 6, 0),
        ("*-*-* *:05:00 UTC", nil, 0, 5),
        ("*-*-* 00:15:30 UTC", nil, 0, 15),
    ] as [(String, Int?, Int, Int)])
    func parse(expression: String, day: Int?, hour: Int, minute: Int) throws {
        let schedule = try DailySchedule(parsing: expression)
        #expect(schedule.dayOfMonth == day)
        #expect(schedule.hour == hour)
        #expect(schedule.minute == minute)
    }

    @Test("other forms are refused with an explanation", arguments: [
        "daily", "Mon *-*-* 06:00:00 UTC", "*-*-* 06:00:00 Europe/Berlin", "*-*-31 06:00:00 UTC", "*-*-* 25:00:00 UTC", "2026-*-01 06:00:00 UTC",
    ])
    func refuse(expression: String) {
        #expect(throws: BillingError.self) { try DailySchedule(parsing: expression) }
    }

    //   Oct 31                       Nov 1
    //   00:05 topup                  00:05 topup
    //   00:15 contracts              00:15 contracts
    //   00:30 grants                 00:30 grants
    //   06:00 sweep                  06:00 sweep
    //                                14:00 monthly-rollup (the 1st only)
    @Test("the plan runs each job at its scheduled time, monthly-rollup on the 1st only")
    func plan() throws {
        let simulation = Simulation(runner: JobRunner(target: .init()), source: JobConfigurationSource(directory: nil), jobs: JobName.allCases)
        let plan = try simulation.plan(from: try LocalDate("2026-10-31"), through: try LocalDate("2026-11-01"))
        #expect(plan.map { "\($0.0) \($0.1)" } == [
            "2026-10-31T00:05:00Z threshold-topup",
            "2026-10-31T00:15:00Z contract-expiry-rollover",
            "2026-10-31T00:30:00Z incident-grants",
            "2026-10-31T06:00:00Z suspension-sweep",
            "2026-11-01T00:05:00Z threshold-topup",
            "2026-11-01T00:15:00Z contract-expiry-rollover",
            "2026-11-01T00:30:00Z incident-grants",
            "2026-11-01T06:00:00Z suspension-sweep",
            "2026-11-01T14:00:00Z monthly-rollup",
        ])
        let fiveWeeks = try simulation.plan(from: try LocalDate("2026-10-01"), through: try LocalDate("2026-11-04"))
        #expect(fiveWeeks.count == 35 * 4 + 2)
    }
}

@Suite("simulate: what the JSON leaves out")
struct SimulationJSONTests {
    @Test("row ids, run ids, output-row references and timings go; input ids and facts stay")
    func stripping() {
        let event: JSONValue = .object([
            ("id", 7), ("run_id", 3), ("customer_id", 8), ("entity", "invoice"), ("entity_id", 41), ("event", "invoice_paid"),
            ("detail", .object([("invoice_id", 41), ("payment_ids", [5]), ("total", 4900)])),
        ])
        let service: JSONValue = .object([("id", 9), ("entity", "service"), ("entity_id", 7), ("event", "suspended")])
        #expect(Simulation.stripVolatile(event) == .object([
            ("customer_id", 8), ("entity", "invoice"), ("event", "invoice_paid"),
            ("detail", .object([("payment_ids", [5]), ("total", 4900)])),
        ]))
        #expect(Simulation.stripVolatile(service) == .object([("entity", "service"), ("entity_id", 7), ("event", "suspended")]))
    }
}
