import BillingCore
import BillingStore
import EmbeddedPostgres
import Foundation
import Postgres
import TestSupport
import Testing

/// A password handed to supportbill through PGPASSWORD, a URI or a passfile never shows up in
/// stdout, stderr (logs at trace level), the report, the metrics file or job_runs: not when the
/// host is wrong, not when the server refuses the password, not when the run succeeds. The
/// cluster is our own, with scram-sha-256 authentication on its socket.
@Suite("No secret anywhere: output, logs, reports, job_runs")
struct SecretsTests {
    /// How the password reaches libpq.
    enum Source: String, CaseIterable {
        case environment = "PGPASSWORD"
        case uri = "URI"
        case passfile = "PGPASSFILE"
        /// systemd's credential (`LoadCredential=pgpass:...`): $CREDENTIALS_DIRECTORY/pgpass,
        /// ahead of a PGPASSFILE that does not work.
        case credential = "CREDENTIALS_DIRECTORY"
    }

    struct Cluster {
        let postgres: EmbeddedPostgres
        let scratch: String

        /// `--database` and the environment for `source` with `password`, reaching `socket`.
        func invocation(_ source: Source, password: String, socket: String) throws -> (database: String, environment: [String: String?]) {
            var environment: [String: String?] = ["PGPASSWORD": nil, "PGPASSFILE": nil, "PGSERVICE": nil, "PGUSER": nil]
            let conninfo = "host=\(socket) port=\(postgres.port) dbname=support user=billing connect_timeout=5"
            switch source {
            case .environment:
                environment["PGPASSWORD"] = password
                return (conninfo, environment)
            case .uri:
                return ("postgresql://billing:\(password)@/support?host=\(socket)&port=\(postgres.port)&connect_timeout=5", environment)
            case .passfile:
                let path = scratch + "/pgpass-\(UUID().uuidString)"
                try "*:*:*:billing:\(password)\n".write(toFile: path, atomically: false, encoding: .utf8)
                chmod(path, 0o600)
                environment["PGPASSFILE"] = path
                return (conninfo, environment)
            case .credential:
                let directory = scratch + "/credentials-\(UUID().uuidString)"
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                try "*:*:*:billing:\(password)\n".write(toFile: directory + "/pgpass", atomically: false, encoding: .utf8)
                chmod(directory + "/pgpass", 0o600)
                environment["CREDENTIALS_DIRECTORY"] = directory
                environment["PGPASSFILE"] = scratch + "/no-such-pgpass"
                return (conninfo, environment)
            }
        }
    }

    static func expectNoSecret(_ secret: String, in result: ChildProcess.Result, _ what: String) {
        #expect(!result.stdout.contains(secret), "stdout of \(what): \(result.stdout)")
        #expect(!result.stderr.contains(secret), "stderr of \(what): \(result.stderr)")
    }

    @Test("wrong host, refused password and a successful run, for each way of giving the password")
    func passwords() throws {
        let postgres = try EmbeddedPostgres.start(.init(settings: EmbeddedPostgres.Options.disposable,
                                                        hba: ["local all postgres trust", "local all all scram-sha-256"]))
        defer { try? postgres.stop() }
        let scratch = NSTemporaryDirectory() + "/secrets-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let cluster = Cluster(postgres: postgres, scratch: scratch)

        let password = "Sb-" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
        let wrong = "Wr0ng-" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
        let admin = try postgres.connect()
        defer { admin.close() }
        try admin.execute("CREATE DATABASE support")
        let support = try postgres.connect(database: "support")
        defer { support.close() }
        _ = try Migrator().migrate(support)
        // The password is the test's own (letters, digits, a dash); format %L quotes it anyway.
        let create = try admin.query("SELECT format('CREATE ROLE billing LOGIN PASSWORD %L IN ROLE supportbill_runner', $1::text)", [password]).scalar(String.self) ?? ""
        try admin.execute(create)
        // Data for a partial run: a customer billed, one skipped (no EUR price).
        let f = Fixtures(support)
        let plan = try f.plan("flat", billing: "recurring")
        try f.price(plan: plan, recurringFee: 4900)
        try f.service(customer: try f.customer("Northwind"), plan: plan, startsOn: "2026-10-01")
        try f.service(customer: try f.customer("Blue Yonder", currency: "EUR"), plan: plan, currency: "EUR", startsOn: "2026-10-01")
        #expect(try admin.query("SELECT rolpassword LIKE 'SCRAM-SHA-256$%' FROM pg_authid WHERE rolname = 'billing'").scalar(Bool.self) == true)

        let failing: [[String]] = [
            ["run", "monthly-rollup", "--period", "2026-10", "--as-of", "2026-11-01T14:00:00Z", "--log-level", "trace"],
            ["run", "threshold-topup", "--format", "json", "--log-level", "trace"],
            ["runs", "--format", "json"], ["check", "--format", "json"], ["migrate"],
            ["simulate", "--from", "2026-11-01", "--to", "2026-11-01", "--format", "json", "--log-level", "trace"],
        ]
        for source in Source.allCases {
            // 1. The host is wrong: libpq never gets to the password.
            let nowhere = try cluster.invocation(source, password: password, socket: scratch + "/no-such-socket")
            for command in failing {
                let result = try ChildProcess.supportbill(command + ["--database", nowhere.database], environment: nowhere.environment)
                #expect(result.status == 69, "\(source) \(command): \(result.stderr)")
                Self.expectNoSecret(password, in: result, "\(source) \(command) (wrong host)")
            }
            // 2. The server refuses the password.
            let refused = try cluster.invocation(source, password: wrong, socket: postgres.socketDirectory)
            for command in failing {
                let result = try ChildProcess.supportbill(command + ["--database", refused.database], environment: refused.environment)
                #expect(result.status == 69, "\(source) \(command): \(result.stderr)")
                #expect(result.stderr.contains("password authentication failed"), "\(source) \(command): \(result.stderr)")
                Self.expectNoSecret(wrong, in: result, "\(source) \(command) (refused)")
            }
            // 3. It works: the run, its report, its metrics and its job_runs row hold no password.
            let right = try cluster.invocation(source, password: password, socket: postgres.socketDirectory)
            let metrics = scratch + "/metrics-\(source.rawValue).prom"
            for format in ["text", "json", "csv"] {
                let run = try ChildProcess.supportbill(
                    ["run", "monthly-rollup", "--period", "2026-10", "--as-of", "2026-11-01T14:00:00Z", "--format", format,
                     "--log-level", "trace", "--metrics-file", metrics, "--database", right.database], environment: right.environment)
                #expect(run.status == 65, "\(source) \(format): \(run.stderr)")
                #expect(run.stdout.contains("has no price in EUR"), "\(source) \(format)")
                Self.expectNoSecret(password, in: run, "\(source) run \(format)")
                #expect(!(try String(contentsOfFile: metrics, encoding: .utf8)).contains(password))
            }
            for command in [["runs", "--format", "json"], ["check"], ["migrate"]] {
                let result = try ChildProcess.supportbill(command + ["--database", right.database], environment: right.environment)
                #expect(result.status != 69, "\(source) \(command): \(result.stderr)")
                Self.expectNoSecret(password, in: result, "\(source) \(command)")
            }
        }
        // 4. A run that fails after it started: its job_runs.error is recorded, without the password.
        try support.execute("REVOKE INSERT ON invoices FROM supportbill_runner")
        try f.service(customer: try f.customer("Contoso"), plan: plan, startsOn: "2026-10-05")
        let right = try cluster.invocation(.environment, password: password, socket: postgres.socketDirectory)
        let failed = try ChildProcess.supportbill(["run", "monthly-rollup", "--period", "2026-10", "--as-of", "2026-11-01T14:00:00Z",
                                                   "--format", "json", "--database", right.database], environment: right.environment)
        #expect(failed.status == 1, "\(failed.stderr)")
        Self.expectNoSecret(password, in: failed, "a failed run")
        let error = try support.query("SELECT error FROM job_runs WHERE status = 'failed'").scalar(String.self)
        #expect(error?.contains("permission denied for table invoices") == true, "\(error ?? "no failed run")")

        let runs = try support.query("SELECT count(*), count(*) FILTER (WHERE r::text LIKE '%' || $1 || '%' OR r::text LIKE '%' || $2 || '%') FROM job_runs r",
                                     [password, wrong]).first
        #expect(try runs?.decode(0, as: Int.self) == 3 * Source.allCases.count + 1)
        #expect(try runs?.decode(1, as: Int.self) == 0)
        let skipped = try support.query("SELECT DISTINCT stats -> 'skipped' -> 0 ->> 'reason' FROM job_runs WHERE status = 'partial'").map { try $0.decode(0, as: String?.self) }
        #expect(skipped.count == 1 && skipped.first??.contains("has no price in EUR") == true)
    }

    /// The libpq helpers behind it: a password is found in every form a conninfo can carry it,
    /// also when the string cannot be parsed (libpq then quotes the part it choked on).
    @Test("passwords are found in parsable and unparsable conninfo strings", arguments: [
        ("postgresql://billing:Secr3t@%2Fnonexistent/support", "Secr3t"),
        ("postgresql://billing:Secr%33t@%2Fnonexistent/support", "Secr3t"),
        ("postgresql://billing:p%ZZSecr3t@%2Fnonexistent/support", "p%ZZSecr3t"),
        ("postgresql://billing:Secr3t@[::1/support", "Secr3t"),
        ("host=/nonexistent password=Secr3t dbname=support", "Secr3t"),
        ("host=/nonexistent password = 'Secr 3t' dbname=support", "Secr 3t"),
        ("host=/nonexistent password='Secr3t dbname=support", "Secr3t dbname=support"),
        ("postgresql://%2Fnonexistent/support?password=Secr3t&sslmode=bogus%ZZ", "Secr3t"),
    ] as [(String, String)])
    func conninfoPasswords(conninfo: String, secret: String) throws {
        let problem = PostgresConnection.conninfoProblem(conninfo)
        if let problem { #expect(!problem.contains(secret), "\(problem)") }
        do {
            _ = try PostgresConnection(conninfo: conninfo)
            Issue.record("connected?")
        } catch {
            #expect(!"\(error)".contains(secret), "\(error)")
        }
    }
}
