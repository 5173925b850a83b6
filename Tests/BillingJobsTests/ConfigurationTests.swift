import BillingCore
import BillingJobs
import Foundation
import Testing

@Suite("jobs/*.toml: defaults, validation, lookup")
struct ConfigurationTests {
    private let embedded = JobConfigurationSource(directory: nil)

    @Test("the embedded files parse to exactly the documented defaults")
    func embeddedDefaults() throws {
        #expect(try embedded.parameters(MonthlyRollupParameters.self, for: .monthlyRollup) == MonthlyRollupParameters())
        #expect(try embedded.parameters(ThresholdTopupParameters.self, for: .thresholdTopup) == ThresholdTopupParameters())
        #expect(try embedded.parameters(SuspensionSweepParameters.self, for: .suspensionSweep) == SuspensionSweepParameters())
        #expect(try embedded.parameters(IncidentGrantsParameters.self, for: .incidentGrants) == IncidentGrantsParameters())
        #expect(try embedded.parameters(ContractExpiryRolloverParameters.self, for: .contractExpiryRollover) == ContractExpiryRolloverParameters())
        let rollup = MonthlyRollupParameters()
        #expect(rollup.lookbackMonths == 3 && rollup.dueDays == 14 && rollup.issue)
        #expect(ThresholdTopupParameters().dueDays == 7 && ThresholdTopupParameters().maxTopupsPerDay == 3)
        #expect(SuspensionSweepParameters().maxSuspensions == 100)
        #expect(IncidentGrantsParameters().fundsStep == [try CurrencyCode("USD"): 5000])
        #expect(ContractExpiryRolloverParameters().expiredTime == .rollover)
        for job in JobName.allCases {
            #expect(try embedded.schedule(for: job).hasSuffix("UTC"), "\(job) schedule names its time zone")
        }
    }

    @Test("the embedded copies are byte for byte the repository's jobs/ files")
    func embeddedMatchesRepository() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for job in JobName.allCases {
            let file = repository.appendingPathComponent("jobs/\(job.rawValue).toml")
            #expect(try String(contentsOf: file, encoding: .utf8) == JobConfigurationSource.embeddedText(for: job))
        }
    }

    @Test("a key left out takes its default; given keys are read")
    func partialFile() throws {
        let parameters = try MonthlyRollupParameters.parse("due_days = 30\nissue = false\n", file: "x.toml")
        #expect(parameters.dueDays == 30)
        #expect(!parameters.issue)
        #expect(parameters.lookbackMonths == 3)
        #expect(parameters.schedule == MonthlyRollupParameters().schedule)
        let grants = try IncidentGrantsParameters.parse("on_registration = 2\n[funds]\nstep = { USD = 2500, JPY = 500 }\nincidents = 1\n", file: "g.toml")
        #expect(grants.onRegistration == 2)
        #expect(grants.fundsStep == [try CurrencyCode("USD"): 2500, try CurrencyCode("JPY"): 500])
        #expect(grants.fundsIncidents == 1)
        let contracts = try ContractExpiryRolloverParameters.parse("expired_time = \"ignore\"\n[per_incident_price]\nUSD = 4900\nEUR = 4500\n", file: "c.toml")
        #expect(contracts.expiredTime == .ignore)
        #expect(contracts.perIncidentPrice[try CurrencyCode("EUR")] == 4500)
    }

    @Test("unknown keys, wrong types and bad values name the file and the key", arguments: [
        ("lookback = 3", "lookback", "unknown key"),
        ("due_days = \"14\"", "due_days", "expected an integer"),
        ("issue = 1", "issue", "expected true or false"),
        ("lookback_months = 0", "lookback_months", "between 1"),
        ("due_days = 1.5", "due_days", "expected an integer"),
        ("schedule = \"\"", "schedule", "must not be empty"),
    ])
    func invalid(text: String, key: String, problem: String) {
        do {
            _ = try MonthlyRollupParameters.parse(text, file: "/etc/supportbill/jobs/monthly-rollup.toml")
            Issue.record("accepted \(text)")
        } catch let error as ConfigurationError {
            #expect(error.file == "/etc/supportbill/jobs/monthly-rollup.toml")
            #expect(error.key == key)
            #expect(error.description.contains(problem), "\(error)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test("nested tables are validated too")
    func nested() {
        #expect(throws: ConfigurationError.self) { try IncidentGrantsParameters.parse("[funds]\nstepp = { USD = 1 }\n", file: "g") }
        #expect(throws: ConfigurationError.self) { try IncidentGrantsParameters.parse("[funds]\nstep = { usd = 1 }\n", file: "g") }
        #expect(throws: ConfigurationError.self) { try IncidentGrantsParameters.parse("[funds]\nstep = { USD = 0 }\n", file: "g") }
        #expect(throws: ConfigurationError.self) { try ContractExpiryRolloverParameters.parse("expired_time = \"drop\"\n", file: "c") }
        #expect(throws: ConfigurationError.self) { try ContractExpiryRolloverParameters.parse("[per_incident_price]\nUSD = -1\n", file: "c") }
        #expect(throws: ConfigurationError.self) { try SuspensionSweepParameters.parse("max_suspensions = [1]\n", file: "s") }
        #expect(throws: ConfigurationError.self) { try SuspensionSweepParameters.parse("not toml at all ===", file: "s") }
    }

    @Test("a directory overrides the defaults; a job missing from it takes the embedded defaults")
    func directory() throws {
        let directory = NSTemporaryDirectory() + "/jobs-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try "max_suspensions = 5\n".write(toFile: directory + "/suspension-sweep.toml", atomically: true, encoding: .utf8)
        let source = JobConfigurationSource(directory: directory)
        #expect(try source.parameters(SuspensionSweepParameters.self, for: .suspensionSweep).maxSuspensions == 5)
        #expect(try source.parameters(MonthlyRollupParameters.self, for: .monthlyRollup) == MonthlyRollupParameters())
        #expect(throws: ConfigurationError.self) {
            try JobConfigurationSource(directory: directory + "/missing").parameters(SuspensionSweepParameters.self, for: .suspensionSweep)
        }
        #expect(JobConfigurationSource.resolve(jobsDir: nil, environment: ["SUPPORTBILL_JOBS_DIR": directory]).directory == directory)
        #expect(JobConfigurationSource.resolve(jobsDir: "/x", environment: ["SUPPORTBILL_JOBS_DIR": directory]).directory == "/x")
    }
}
