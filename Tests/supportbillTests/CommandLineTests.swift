import BillingStore
import Foundation
import Postgres
import TestSupport
import Testing

@Suite("The supportbill command line: help, usage errors, exit codes")
struct CommandLineTests {
    @Test("--help reads like documentation: jobs, exit codes, examples")
    func help() throws {
        let root = try ChildProcess.supportbill(["--help"])
        #expect(root.status == 0)
        for word in ["monthly-rollup", "contract-expiry-rollover", "69 database unavailable", "75 another run holds", "PGSERVICE", "supportbill demo"] {
            #expect(root.stdout.contains(word), "root help lacks \(word)")
        }
        let run = try ChildProcess.supportbill(["run", "--help"])
        #expect(run.status == 0)
        for word in ["--dry-run", "--as-of", "--period", "--customer", "--format", "--jobs-dir", "Examples:", "rolled back"] {
            #expect(run.stdout.contains(word), "run help lacks \(word)")
        }
        for command in ["migrate", "runs", "demo"] {
            let help = try ChildProcess.supportbill([command, "--help"])
            #expect(help.status == 0)
            #expect(help.stdout.contains("Example"), "\(command) help has no example")
        }
        // The help offers only the formats the command prints.
        for command in ["runs", "simulate", "incidents", "contracts", "demo"] {
            let help = try ChildProcess.supportbill([command, "--help"])
            #expect(help.stdout.contains("values: text, json;"), "\(command): \(help.stdout)")
            #expect(!help.stdout.contains("csv"), "\(command) help offers csv")
        }
        let version = try ChildProcess.supportbill(["--version"])
        #expect(version.status == 0)
        #expect(!version.stdout.isEmpty)
    }

    @Test("usage errors exit 64", arguments: [
        ["run", "no-such-job"],
        ["run", "monthly-rollup", "--as-of", "yesterday"],
        ["run", "monthly-rollup", "--period", "2026-13"],
        ["run", "threshold-topup", "--period", "2026-10"],
        ["run", "monthly-rollup", "--customer", "-3"],
        ["run", "monthly-rollup", "--format", "xml"],
        ["run", "monthly-rollup", "--log-level", "loud"],
        ["runs", "--status", "done"],
        // Views print text or json only; their help offers nothing else.
        ["runs", "--format", "csv"],
        ["incidents", "--customer", "1", "--format", "csv"],
        ["contracts", "--format", "csv"],
        ["simulate", "--from", "2026-10-01", "--to", "2026-10-02", "--format", "csv"],
        ["no-such-command"],
    ])
    func usage(arguments: [String]) throws {
        let result = try ChildProcess.supportbill(arguments)
        #expect(result.status == 64, "\(arguments): \(result.stderr)")
        #expect(!result.stderr.isEmpty)
    }

    @Test("an unreachable database exits 69 and never prints the password", arguments: [
        (["--database", "postgresql://billing:Sup3rS3cret@/support?host=/nonexistent/socket&connect_timeout=2"], [String: String?]()),
        (["--database", "host=/nonexistent/socket dbname=support user=billing password=Sup3rS3cret"], [:]),
        ([], ["PGHOST": "/nonexistent/socket", "PGUSER": "billing", "PGPASSWORD": "Sup3rS3cret", "PGDATABASE": "support"]),
    ] as [([String], [String: String?])])
    func unavailable(database: [String], environment: [String: String?]) throws {
        for command in [["migrate"], ["runs"], ["run", "suspension-sweep", "--dry-run"], ["simulate", "--from", "2026-10-01", "--to", "2026-10-02"]] {
            let result = try ChildProcess.supportbill(command + database, environment: environment.merging(["PGSERVICEFILE": "/nonexistent"]) { $1 })
            #expect(result.status == 69, "\(command): \(result.stderr)")
            #expect(!result.stdout.contains("Sup3rS3cret"))
            #expect(!result.stderr.contains("Sup3rS3cret"))
            #expect(result.stderr.contains("could not connect"))
        }
    }

    @Test("migrate creates the schema once; a second run changes nothing")
    func migrateTwice() throws {
        let cluster = try TestCluster.shared()
        let admin = try cluster.connect()
        let name = "cli_\(getpid())_\(Int.random(in: 0..<1_000_000))"
        try admin.execute("CREATE DATABASE \(name)")
        defer { _ = try? admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)"); admin.close() }
        let conninfo = cluster.conninfo(database: name)
        let first = try ChildProcess.supportbill(["migrate", "--database", conninfo])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("applied 001_schema"))
        let second = try ChildProcess.supportbill(["migrate", "--database", conninfo])
        #expect(second.status == 0)
        #expect(second.stdout.contains("schema is up to date (version \(Migration.latestVersion))"))
        #expect(!second.stdout.contains("applied"))
        let runs = try ChildProcess.supportbill(["runs", "--database", conninfo])
        #expect(runs.status == 0)
        #expect(runs.stdout.contains("no runs recorded"))
    }
}
