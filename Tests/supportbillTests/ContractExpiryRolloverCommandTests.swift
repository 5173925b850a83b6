import BillingCore
import Foundation
import Postgres
import TestSupport
import Testing

@Suite("supportbill run contract-expiry-rollover and supportbill contracts")
struct ContractExpiryRolloverCommandTests {
    /// Customer "Litware" with a 600-minute contract on its item and a 1200-minute renewal,
    /// 120 + 240 + 300 minutes of work; customer "Other" with a request no contract covers.
    struct Scenario {
        let litware: Int64, other: Int64, hours: Int64, renewal: Int64, otherTicket: Int64

        init(_ f: Fixtures) throws {
            litware = try f.customer("Litware", timezone: "Europe/Warsaw")
            let item = try f.item("mail cluster", customer: litware)
            hours = try f.contract(kind: "support_hours", item: item, startsOn: "2026-08-01", minutesTotal: 600, status: "active")
            renewal = try f.contract(kind: "time_limited", item: item, startsOn: "2026-10-20", endsOn: "2027-01-20", minutesTotal: 1200)
            let quota = try f.ticket(customer: litware, item: item, subject: "quota alerts", openedAt: "2026-10-04T07:00:00Z")
            let storage = try f.ticket(customer: litware, item: item, subject: "new storage", openedAt: "2026-10-15T07:00:00Z")
            try f.entry(customer: litware, ticket: quota, workedAt: "2026-10-04T07:30:00Z", minutes: 120)
            try f.entry(customer: litware, ticket: storage, workedAt: "2026-10-15T07:30:00Z", minutes: 240)
            try f.entry(customer: litware, ticket: storage, workedAt: "2026-10-22T07:30:00Z", minutes: 300)
            other = try f.customer("Other")
            otherTicket = try f.ticket(customer: other, subject: "DNS question", openedAt: "2026-10-10T10:00:00Z")
            try f.entry(customer: other, ticket: otherTicket, workedAt: "2026-10-10T11:00:00Z", minutes: 25)
        }
    }

    private func jobsDir(_ text: String) throws -> String {
        let dir = NSTemporaryDirectory() + "/ce-jobs-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try text.write(toFile: dir + "/contract-expiry-rollover.toml", atomically: true, encoding: .utf8)
        return dir
    }

    @Test("exit 0 with the charges in the JSON report, 0 again on a rerun, 65 when a customer has no per-incident price")
    func exitCodes() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        _ = try Scenario(f)
        let priced = try jobsDir("expired_time = \"rollover\"\n[per_incident_price]\nUSD = 4500\n")
        defer { try? FileManager.default.removeItem(atPath: priced) }
        let base = ["run", "contract-expiry-rollover", "--as-of", "2026-11-01T14:00:00Z", "--database", database.conninfo, "--jobs-dir", priced]

        let dry = try ChildProcess.supportbill(base + ["--dry-run", "--format", "json"])
        #expect(dry.status == 0, "\(dry.stderr)")
        let dryReport = try JSONValue(parsing: dry.stdout)
        #expect(dryReport["dry_run"]?.boolValue == true)
        #expect(dryReport["charges"]?.arrayValue?.compactMap { $0["outcome"]?.stringValue } == ["covered", "covered", "covered", "rolled_over", "per_incident"])
        #expect(try f.count("contract_charges") == 0)

        let real = try ChildProcess.supportbill(base + ["--format", "json"])
        #expect(real.status == 0, "\(real.stderr)")
        let report = try JSONValue(parsing: real.stdout)
        #expect(report["counts"]?["minutes_rolled_over"]?.intValue == 60)
        #expect(report["items"]?.arrayValue?.first?["amount"]?.intValue == 4500)
        #expect(report["totals"]?["USD"]?["per_incident"]?.intValue == 4500)
        #expect(try f.count("contract_charges") == 5)

        let rerun = try ChildProcess.supportbill(base)
        #expect(rerun.status == 0, "\(rerun.stderr)")
        #expect(!rerun.stdout.contains("Charges"))

        let yen = try f.customer("Yen", currency: "JPY")
        try f.entry(customer: yen, ticket: try f.ticket(customer: yen, openedAt: "2026-10-12T00:00:00Z"), workedAt: "2026-10-12T01:00:00Z", minutes: 30)
        let partial = try ChildProcess.supportbill(base)
        #expect(partial.status == 65, "\(partial.stdout)")
        #expect(partial.stdout.contains("customer \(yen): no per_incident_price for JPY"))
    }

    @Test("a jobs file with an unknown key exits 64 naming the file and the key")
    func unknownKey() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let dir = try jobsDir("expired_time = \"rollover\"\nexpired_tme = \"ignore\"\n")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try ChildProcess.supportbill(["run", "contract-expiry-rollover", "--database", database.conninfo, "--jobs-dir", dir])
        #expect(result.status == 64)
        #expect(result.stderr.contains("contract-expiry-rollover.toml"))
        #expect(result.stderr.contains("expired_tme"))
    }

    @Test("supportbill contracts: how much is left on a contract and what used it, per contract and per customer")
    func contractsCommand() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        let s = try Scenario(f)
        let run = try ChildProcess.supportbill(["run", "contract-expiry-rollover", "--as-of", "2026-11-01T14:00:00Z", "--database", database.conninfo])
        #expect(run.status == 0, "\(run.stderr)")

        let one = try ChildProcess.supportbill(["contracts", "--contract", String(s.hours), "--database", database.conninfo])
        #expect(one.status == 0, "\(one.stderr)")
        #expect(one.stdout.contains("contract \(s.hours)  support_hours  item"))
        #expect(one.stdout.contains("600 min (10:00 h) bought, 600 min (10:00 h) used, 0 min (0:00 h) left"))
        #expect(one.stdout.contains("ticket #"))
        #expect(one.stdout.components(separatedBy: "min covered").count - 1 == 3)

        let all = try ChildProcess.supportbill(["contracts", "--database", database.conninfo])
        #expect(all.status == 0)
        #expect(all.stdout.contains("1200 min (20:00 h) bought, 60 min (1:00 h) used, 1140 min (19:00 h) left (60 min (1:00 h) rolled over from expired contracts)"))

        let client = try ChildProcess.supportbill(["contracts", "--customer", String(s.litware), "--format", "json", "--database", database.conninfo])
        #expect(client.status == 0, "\(client.stderr)")
        let answer = try JSONValue(parsing: client.stdout)
        let contracts = try #require(answer["contracts"]?.arrayValue)
        #expect(contracts.compactMap { $0["contract_id"]?.intValue } == [s.hours, s.renewal])
        #expect(contracts.compactMap { $0["minutes_left"]?.intValue } == [0, 1140])
        #expect(contracts[1]["uses"]?.arrayValue?.compactMap { $0["minutes"]?.intValue } == [60])
        #expect(contracts[1]["uses"]?.arrayValue?.first?["outcome"]?.stringValue == "rolled_over")

        // Another customer sees no contract of Litware's, and its request billed per incident.
        let other = try ChildProcess.supportbill(["contracts", "--customer", String(s.other), "--format", "json", "--database", database.conninfo])
        let otherAnswer = try JSONValue(parsing: other.stdout)
        #expect(otherAnswer["contracts"]?.arrayValue?.isEmpty == true)
        #expect(otherAnswer["per_incident"]?.arrayValue?.compactMap { $0["ticket_id"]?.intValue } == [s.otherTicket])

        for arguments in [["--contract", "999999"], ["--customer", "999999"]] {
            let missing = try ChildProcess.supportbill(["contracts"] + arguments + ["--database", database.conninfo])
            #expect(missing.status == 64)
            #expect(missing.stderr.contains("no such"))
        }
        let help = try ChildProcess.supportbill(["contracts", "--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("Examples:"))
    }
}
