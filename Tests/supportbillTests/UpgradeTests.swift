import BillingStore
import Foundation
import Postgres
import TestSupport
import Testing

/// An upgrade as INSTALL.md orders it, from the schema the previous release (commit 70dc882)
/// created: its migrations were sql/001 to sql/121, which this binary still carries unchanged as
/// sql/legacy (an applied migration is never edited: its checksum would refuse it). Such a
/// database finishes the legacy sequence, records the 0.1.0 baseline and goes on from there.
@Suite("Upgrading the schema: migrate --status says whether schema and binary match")
struct UpgradeTests {
    /// The previous release's migrations, as that binary embedded them.
    static func previousMigrations() -> [Migration] {
        Migration.legacy.filter { $0.version <= 121 }
    }

    @Test("a database of the previous release: behind (10), migrated with its history kept, then equal (0); a schema ahead: 11 for status and migrate, a clear message for run")
    func upgrade() throws {
        let cluster = try TestCluster.shared()
        let admin = try cluster.connect()
        let name = "upgrade_\(getpid())_\(Int.random(in: 0..<1_000_000))"
        try admin.execute("CREATE DATABASE \(name)")
        defer { _ = try? admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)"); admin.close() }
        let conninfo = cluster.conninfo(database: name)
        let db = try cluster.connect(database: name)
        defer { db.close() }

        let empty = try ChildProcess.supportbill(["migrate", "--status", "--database", conninfo])
        #expect(empty.status == 10, "\(empty.stdout)\(empty.stderr)")
        #expect(empty.stdout.contains("no supportbill schema in this database yet"))

        // The previous release's schema, with a finished run and an issued invoice in it.
        let previous = Self.previousMigrations()
        #expect(previous.count == 13 && previous.last?.name == "121_usage_increment")
        _ = try Migrator(migrations: previous, legacy: []).migrate(db)
        let f = Fixtures(db)
        let customer = try f.customer("Northwind")
        let run = try f.sweep.run()
        try db.execute("UPDATE job_runs SET status = 'succeeded', finished_at = now() WHERE id = $1", [run])
        try db.execute("""
            INSERT INTO invoices (customer_id, currency, kind, status, issued_at, due_on, total, source_key, run_id)
            VALUES ($1, 'USD', 'period', 'issued', now(), '2026-11-15', 4900, 'old:invoice', $2)
            """, [customer, run])

        let behind = try ChildProcess.supportbill(["migrate", "--status", "--database", conninfo])
        #expect(behind.status == 10, "\(behind.stdout)\(behind.stderr)")
        #expect(behind.stdout.contains("schema is behind this binary: version 121 of the pre-0.1.0 sequence"), "\(behind.stdout)")
        #expect(behind.stdout.contains("upgrade from the pre-0.1.0 sequence"), "\(behind.stdout)")
        let legacy = Migration.legacy.filter { $0.version > 121 }.map(\.name)
        let baseline = Migration.all.filter { Migration.baselineVersions.contains($0.version) }.map(\.name)
        let pending = Migration.all.filter { $0.version > Migration.baselineVersions.upperBound }.map(\.name)
        for migration in legacy + pending { #expect(behind.stdout.contains("  \(migration)\n"), "\(migration) not listed") }
        for migration in baseline {
            #expect(behind.stdout.contains("  \(migration) (recorded: the pre-0.1.0 sequence built its schema)\n"), "\(migration) not listed")
        }
        // A run of the new binary on the old schema: exit 1 with what to do, no SQL error.
        let refused = try ChildProcess.supportbill(["run", "suspension-sweep", "--as-of", "2026-11-02", "--database", conninfo])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("run `supportbill migrate`"), "\(refused.stderr)")

        let migrated = try ChildProcess.supportbill(["migrate", "--database", conninfo])
        #expect(migrated.status == 0, "\(migrated.stderr)")
        for migration in legacy + pending { #expect(migrated.stdout.contains("applied \(migration)")) }
        for migration in baseline {
            #expect(migrated.stdout.contains("recorded \(migration)"))
            #expect(!migrated.stdout.contains("applied \(migration)"))
        }
        #expect(!migrated.stdout.contains("applied 001_schema"))
        let equal = try ChildProcess.supportbill(["migrate", "--status", "--database", conninfo])
        #expect(equal.status == 0, "\(equal.stdout)\(equal.stderr)")
        #expect(equal.stdout.contains("schema and binary match: version \(Migration.latestVersion)"))
        // History survived, and the finished run is now guarded (sql/161).
        #expect(try db.query("SELECT total FROM invoices WHERE source_key = 'old:invoice'").scalar(Int64.self) == 4900)
        #expect(throws: PostgresError.self) { try db.execute("UPDATE job_runs SET status = 'failed' WHERE id = $1", [run]) }
        let sweep = try ChildProcess.supportbill(["run", "suspension-sweep", "--as-of", "2026-11-02", "--database", conninfo])
        #expect(sweep.status == 0, "\(sweep.stderr)")

        // A newer release migrated it: this binary says so and changes nothing.
        try db.execute("INSERT INTO schema_migrations (version, name, checksum) VALUES (9990, '9990_from_the_future', 'x')")
        let ahead = try ChildProcess.supportbill(["migrate", "--status", "--database", conninfo])
        #expect(ahead.status == 11, "\(ahead.stdout)\(ahead.stderr)")
        #expect(ahead.stdout.contains("schema is ahead of this binary") && ahead.stdout.contains("9990_from_the_future"))
        let migrateAhead = try ChildProcess.supportbill(["migrate", "--database", conninfo])
        #expect(migrateAhead.status == 11, "\(migrateAhead.stderr)")
        #expect(migrateAhead.stderr.contains("the schema is ahead of this binary"))
        let runAhead = try ChildProcess.supportbill(["run", "suspension-sweep", "--as-of", "2026-11-02", "--database", conninfo])
        #expect(runAhead.status == 1)
        #expect(runAhead.stderr.contains("the schema is ahead of this binary"), "\(runAhead.stderr)")
        #expect(!runAhead.stderr.contains("SQLSTATE") && !runAhead.stderr.contains("PostgreSQL error"))

        // An applied migration whose text differs: 12.
        try db.execute("DELETE FROM schema_migrations WHERE version = 9990")
        try db.execute("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1")
        let changed = try ChildProcess.supportbill(["migrate", "--status", "--database", conninfo])
        #expect(changed.status == 12, "\(changed.stdout)\(changed.stderr)")
        #expect(changed.stdout.contains("001_schema"))
    }
}
