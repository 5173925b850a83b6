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
        for command in [["runs", "list"], ["simulate"], ["incidents"], ["contracts"], ["demo"]] {
            let help = try ChildProcess.supportbill(command + ["--help"])
            #expect(help.stdout.contains("values: text, json;"), "\(command): \(help.stdout)")
            #expect(!help.stdout.contains("csv"), "\(command) help offers csv")
        }
        // runs show prints a job's report again: every report format.
        let show = try ChildProcess.supportbill(["runs", "show", "--help"])
        #expect(show.stdout.contains("text, json, csv, summary; default: text"), "\(show.stdout)")
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
        // argument-parser printed the root help and exited 0 for these.
        ["help", "nosuch"],
        ["help", "runs", "nosuch"],
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
        let empty = try TestCluster.makeEmptyDatabase("cli")
        defer { empty.drop() }
        let conninfo = empty.conninfo
        let first = try ChildProcess.supportbill(["migrate", "--database", conninfo])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("applied 182_reference_data"))
        let second = try ChildProcess.supportbill(["migrate", "--database", conninfo])
        #expect(second.status == 0)
        #expect(second.stdout.contains("schema is up to date (version \(Migration.latestVersion))"))
        #expect(!second.stdout.contains("applied"))
        let runs = try ChildProcess.supportbill(["runs", "--database", conninfo])
        #expect(runs.status == 0)
        #expect(runs.stdout.contains("no runs recorded"))
    }

    @Test("help NAME for a real command still exits 0")
    func helpTopic() throws {
        let result = try ChildProcess.supportbill(["help", "run"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("--dry-run"))
        let unknown = try ChildProcess.supportbill(["help", "nosuch"])
        #expect(unknown.stderr.contains("no command 'nosuch'"), "\(unknown.stderr)")
        #expect(unknown.stderr.contains("run, migrate, runs"))
    }

    /// Before connecting (the database here does not exist: a value that passes goes on to 69),
    /// a bad duration exits 64 naming the option and the units PostgreSQL accepts.
    @Test("session options are checked before connecting: 64 naming the option and the units", arguments: [
        ("--lock-timeout", "5mins", 64), ("--lock-timeout", "5 minutes", 64), ("--statement-timeout", "1.2.3s", 64),
        ("--idle-in-transaction-timeout", "1 s 2", 64), ("--statement-timeout", "s", 64), ("--lock-timeout", "", 64),
        ("--lock-timeout", "5min", 69), ("--lock-timeout", "1.5 s", 69), ("--statement-timeout", "0", 69),
        ("--idle-in-transaction-timeout", "250", 69), ("--lock-timeout", "2h", 69), ("--statement-timeout", "500us", 69),
    ] as [(String, String, Int32)])
    func sessionOptions(option: String, value: String, status: Int32) throws {
        let result = try ChildProcess.supportbill(["run", "suspension-sweep", option, value, "--database", "host=/nonexistent/socket dbname=x connect_timeout=2"])
        #expect(result.status == status, "\(option) \(value): \(result.stderr)")
        if status == 64 {
            #expect(result.stderr.contains(option), "\(result.stderr)")
            #expect(result.stderr.contains("us, ms, s, min, h, d"), "\(result.stderr)")
        }
    }

    @Test("migrate refuses a database whose encoding is not UTF8, saying how to create one")
    func migrateRefusesSQLASCII() throws {
        let cluster = try TestCluster.shared()
        let admin = try cluster.connect()
        let name = "ascii_\(getpid())_\(Int.random(in: 0..<1_000_000))"
        try admin.execute("CREATE DATABASE \(name) ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
        defer { _ = try? admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)"); admin.close() }
        let result = try ChildProcess.supportbill(["migrate", "--database", cluster.conninfo(database: name)])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("encoding is SQL_ASCII; supportbill needs UTF8"), "\(result.stderr)")
        #expect(result.stderr.contains("createdb -E UTF8 -T template0"))
        let db = try cluster.connect(database: name)
        defer { db.close() }
        #expect(try db.query("SELECT to_regclass('schema_migrations') IS NULL").scalar(Bool.self) == true, "migrate created tables")
    }
}
