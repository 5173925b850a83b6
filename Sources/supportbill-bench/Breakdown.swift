import ArgumentParser
import BillingCore
import BillingJobs
import BillingStore
import EmbeddedPostgres
import Foundation
import Postgres

/// Where each job's time goes (issue 20). For each job, in the daily order, on the database as
/// the jobs before it left it:
/// - its first run on a copy of the database as it is, with every statement's time recorded
///   (pg_stat_statements, top-level statements only, so a trigger's work is inside its
///   statement): the time per kind of write (insert, update, delete per table), the reads and
///   the computation in SQL, the per-customer locks, the transactions (begin, commit,
///   savepoints), and the rest (planning in Swift, round trips, the process);
/// - its first run on copies with one guard switched off each: foreign keys, the guard
///   triggers (`supportbill_guard_*`; the triggers that keep derived tables stay, or the job
///   would not find their work done), the secondary indexes and the CHECK constraints of the
///   output tables, all four at once, and the batch commits (one batch of every customer, one
///   commit). The difference to the run on the unchanged copy is what that guard costs.
/// Then the job runs on the database itself (not measured), so the next job finds its output.
struct Breakdown: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "breakdown",
        abstract: "Where each job's time goes: per kind of statement, and per guard switched off on a copy.",
        discussion: """
            Prints one Markdown table per job (docs/benchmark.md has the last one measured). Needs \
            the pg_stat_statements module of PostgreSQL's contrib. Example at a tenth of the full scale:

              swift run -c release supportbill-bench breakdown --customers 1000 --services 5000 --entries 500000
            """
    )

    @Option(help: "Customers (standard shape).") var customers = 10_000
    @Option(help: "Services (standard shape).") var services = 50_000
    @Option(help: "Time entries in the month (standard shape).") var entries = 5_000_000
    @Option(help: "standard or ticket-services (half the customers, four services each, a fifth of the entries).") var shape = "standard"
    @Option(help: "The month the entries fall in.") var month = "2026-10"
    @Option(help: "Only these jobs (comma-separated); the jobs before them in the daily order still run, unmeasured.") var jobs: String?

    func validate() throws {
        guard customers > 0, services >= customers, entries > 0 else { throw ValidationError("need customers > 0, services >= customers, entries > 0") }
        guard SyntheticProvider.Shape(rawValue: shape) != nil else { throw ValidationError("unknown shape \(shape)") }
        _ = try YearMonth(month)
    }

    /// One way of running the job on a copy.
    struct Variant {
        let label: String
        let off: Set<DatabaseCopy.Switch>
        let oneBatch: Bool
    }

    static let variants = [
        Variant(label: "as is", off: [], oneBatch: false),
        Variant(label: "no foreign keys", off: [.foreignKeys], oneBatch: false),
        Variant(label: "no guard triggers", off: [.guardTriggers], oneBatch: false),
        Variant(label: "no secondary indexes on the output tables", off: [.indexes], oneBatch: false),
        Variant(label: "no check constraints on the output tables", off: [.checks], oneBatch: false),
        Variant(label: "no guards (foreign keys, guard triggers, indexes, checks)", off: [.foreignKeys, .guardTriggers, .indexes, .checks], oneBatch: false),
        Variant(label: "one batch, one commit", off: [], oneBatch: true),
    ]

    func run() throws {
        let period = try YearMonth(month)
        let provider = SyntheticProvider.make(SyntheticProvider.Shape(rawValue: shape)!, customers: customers, services: services, entries: entries, month: period)
        let measured: Set<JobName> = try jobs.map { list in
            Set(try list.split(separator: ",").map { name in
                guard let job = JobName(rawValue: String(name)) else { throw ValidationError("unknown job \(name)") }
                return job
            })
        } ?? Set(JobName.dailyOrder)
        log("starting a cluster (\(provider.shape.rawValue): \(provider.customers) customers, \(provider.services) services, \(provider.entries) entries)")
        let cluster = try BenchCluster.start(statementStatistics: true)
        defer { try? cluster.stop() }
        do {
            let db = try cluster.target(database: "bench").connect()
            defer { db.close() }
            _ = try Migrator().migrate(db)
            try db.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            try provider.generate(db) { log($0) }
        }
        let configuration = BenchConfiguration()
        let jobsDirectory = NSTemporaryDirectory() + "/supportbill-bench-breakdown-\(getpid())"
        try configuration.write(to: jobsDirectory)
        defer { try? FileManager.default.removeItem(atPath: jobsDirectory) }
        let asOf = Instant(utc: provider.month.next.firstDay, hour: 14)

        print("# Breakdown: \(provider.shape.rawValue) shape, \(provider.customers) customers, \(provider.services) services, \(provider.entries) entries, batches of 500")
        for job in JobName.dailyOrder {
            func arguments(_ database: String, batchSize: Int) -> [String] {
                var arguments = ["job", job.rawValue, "--database", cluster.conninfo(database: database), "--as-of", asOf.description,
                                 "--jobs-dir", jobsDirectory, "--batch-size", String(batchSize)]
                if job == .monthlyRollup { arguments += ["--period", provider.month.description] }
                return arguments
            }
            if measured.contains(job) {
                var rows: [(Variant, ChildRun.Outcome)] = []
                var statements: [(kind: String, calls: Int64, milliseconds: Int64)] = []
                for variant in Breakdown.variants {
                    let copy = try DatabaseCopy.make(cluster, template: "bench", name: "bench_breakdown", off: variant.off)
                    try withConnection(cluster, copy.name) { db in
                        try db.execute("VACUUM ANALYZE")
                        try db.execute("SELECT pg_stat_statements_reset()")
                    }
                    let run = try ChildRun.run(arguments(copy.name, batchSize: variant.oneBatch ? 1_000_000_000 : 500))
                    log("\(job): \(variant.label): \(run.wallMilliseconds) ms, exit \(run.status)")
                    if variant.off.isEmpty && !variant.oneBatch {
                        statements = try withConnection(cluster, copy.name) { try Breakdown.statements($0, database: copy.name) }
                    }
                    rows.append((variant, run))
                    try DatabaseCopy.drop(cluster, copy.name)
                }
                print(Breakdown.table(job, rows, statements))
            }
            let advance = try ChildRun.run(arguments("bench", batchSize: 500))
            guard advance.succeeded else { throw ValidationError("\(job) failed on the bench database: \(advance.stderr.suffix(1500))") }
            try withConnection(cluster, "bench") { try $0.execute("VACUUM ANALYZE") }
        }
    }

    private func withConnection<T>(_ cluster: EmbeddedPostgres, _ database: String, _ body: (PostgresConnection) throws -> T) throws -> T {
        let db = try cluster.target(database: database).connect()
        defer { db.close() }
        return try body(db)
    }

    /// The recorded statements of `database`, by kind: each write per verb and table, the
    /// per-customer locks, the transactions, and the rest (reads and computation in SQL).
    static func statements(_ db: PostgresConnection, database: String) throws -> [(kind: String, calls: Int64, milliseconds: Int64)] {
        try db.query("""
            WITH s AS (
                SELECT lower(regexp_replace(query, '\\s+', ' ', 'g')) AS q, calls, total_exec_time
                  FROM pg_stat_statements
                 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = $1)
            )
            SELECT kind, sum(calls)::bigint, round(sum(total_exec_time))::bigint
              FROM (SELECT calls, total_exec_time,
                           CASE WHEN q ~ 'pg_advisory_xact_lock' THEN 'per-customer locks'
                                WHEN q ~ '^ ?(begin|commit|rollback|savepoint|release|start transaction)' THEN 'transactions (begin, commit, savepoints)'
                                WHEN q ~ '^ ?(with .*\\) )?insert into [a-z_]+' THEN 'insert ' || substring(q FROM 'insert into ([a-z_]+)')
                                WHEN q ~ '^ ?(with .*\\) )?update [a-z_]+( [a-z_]+)? set ' THEN 'update ' || substring(q FROM 'update ([a-z_]+)( [a-z_]+)? set ')
                                WHEN q ~ '^ ?(with .*\\) )?delete from [a-z_]+' THEN 'delete ' || substring(q FROM 'delete from ([a-z_]+)')
                                ELSE 'reads and computation in SQL'
                           END AS kind
                      FROM s) k
             GROUP BY kind
             ORDER BY 3 DESC
            """, [database]).map { row in
            (try row.decode(0, as: String.self), try row.decode(1, as: Int64.self), try row.decode(2, as: Int64.self))
        }
    }

    static func table(_ job: JobName, _ rows: [(Variant, ChildRun.Outcome)], _ statements: [(kind: String, calls: Int64, milliseconds: Int64)]) -> String {
        var lines = ["", "## \(job.rawValue)", "", "| first run on a copy | ms | difference to as is | exit |", "|---|---:|---:|---:|"]
        let base = rows.first?.1.wallMilliseconds ?? 0
        for (variant, run) in rows {
            let difference = variant.off.isEmpty && !variant.oneBatch ? "" : String(run.wallMilliseconds - base)
            lines.append("| \(variant.label) | \(run.wallMilliseconds) | \(difference) | \(run.status) |")
        }
        lines += ["", "| as is, by statement | calls | ms |", "|---|---:|---:|"]
        var inStatements: Int64 = 0
        for s in statements {
            lines.append("| \(s.kind) | \(s.calls) | \(s.milliseconds) |")
            inStatements += s.milliseconds
        }
        lines.append("| outside PostgreSQL's statements (Swift, round trips, process start) | | \(base - inStatements) |")
        return lines.joined(separator: "\n")
    }

    private func log(_ text: String) {
        FileHandle.standardError.write(Data("bench: \(text)\n".utf8))
    }
}
