import BillingStore
import Foundation
import Postgres
import TestSupport
import Testing

/// The 0.1.0 baseline (sql/182 to sql/188) and the pre-0.1.0 sequence it squashes (sql/legacy):
/// both build the same schema, a database of the legacy sequence upgrades without running the
/// baseline, and a released migration never changes (docs/design.md §4).
@Suite("The baseline schema: the same catalogue as the legacy sequence; released migrations never change")
struct BaselineTests {
    /// An empty database of the shared cluster (no schema_migrations yet).
    static func emptyDatabase(_ prefix: String) throws -> TestDatabase {
        let cluster = try TestCluster.shared()
        let admin = try cluster.connect()
        defer { admin.close() }
        let name = "\(prefix)_\(getpid())_\(Int.random(in: 0..<1_000_000))"
        try admin.execute("CREATE DATABASE \(name)")
        return TestDatabase(named: name, on: cluster)
    }

    @Test("a fresh database (the baseline and what follows) and an upgraded database of the legacy sequence have the same catalogue")
    func sameCatalogue() throws {
        let fresh = try Self.emptyDatabase("baseline")
        defer { fresh.drop() }
        let upgraded = try Self.emptyDatabase("legacy")
        defer { upgraded.drop() }

        let freshDB = try fresh.connect()
        let freshOutcome = try Migrator().migrate(freshDB)
        freshDB.close()
        #expect(freshOutcome.applied == Migration.all.map(\.name))
        #expect(freshOutcome.recorded.isEmpty)

        // The whole legacy sequence as main built it, then this binary's migrate.
        let legacyDB = try upgraded.connect()
        _ = try Migrator(migrations: Migration.legacy, legacy: []).migrate(legacyDB)
        let outcome = try Migrator().migrate(legacyDB)
        legacyDB.close()
        #expect(outcome.recorded == Migration.all.filter { Migration.baselineVersions.contains($0.version) }.map(\.name))
        #expect(outcome.applied == Migration.all.filter { $0.version > Migration.baselineVersions.upperBound }.map(\.name))

        let baseline = try SchemaCatalogue.read(fresh)
        let legacy = try SchemaCatalogue.read(upgraded)
        #expect(baseline.schema.contains("CREATE TABLE public.billable_items"), "pg_dump printed no schema")
        #expect(baseline.data.contains("-- audit_event_names") && baseline.data.contains("-- currencies") && baseline.data.contains("-- invoice_series"))
        let differences = legacy.differences(to: baseline)
        #expect(differences.isEmpty, """
            the baseline's catalogue differs from the legacy sequence's (- legacy, + baseline); the \
            baseline must build exactly the schema the legacy files build:
            \(differences)
            """)
    }

    @Test("a database of the previous release (legacy 001-121): the legacy files it lacks run, the baseline is recorded, then the rest")
    func upgradeFromPreviousRelease() throws {
        let database = try Self.emptyDatabase("prev")
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let previous = Migration.legacy.filter { $0.version <= 121 }
        _ = try Migrator(migrations: previous, legacy: []).migrate(db)

        let baseline = Migration.all.filter { Migration.baselineVersions.contains($0.version) }.map(\.name)
        let later = Migration.all.filter { $0.version > Migration.baselineVersions.upperBound }.map(\.name)
        let missing = Migration.legacy.filter { $0.version > 121 }.map(\.name)
        #expect(missing.first == "125_audit_event_names" && missing.last == "180_invoice_documents")
        #expect(try Migrator().status(db) == .behindLegacy(current: 121, legacy: missing, baseline: baseline, pending: later))
        #expect(throws: MigrationError.self) { try Migrator().verify(db) }

        let outcome = try Migrator().migrate(db)
        #expect(outcome.applied == missing + later)
        #expect(outcome.recorded == baseline)
        #expect(outcome.currentVersion == Migration.latestVersion)
        #expect(try Migrator().status(db) == .current(version: Migration.latestVersion))
        try Migrator().verify(db)
        // The baseline is recorded with its checksum: a binary whose baseline file differs is refused.
        let recorded = try db.query("SELECT count(*) FROM schema_migrations WHERE version BETWEEN 182 AND 189").scalar(Int.self)
        #expect(recorded == baseline.count)
        let again = try Migrator().migrate(db)
        #expect(again.applied.isEmpty && again.recorded.isEmpty)

        // A legacy file edited after it was applied is refused like any other.
        var edited = Migration.legacy
        edited[0] = Migration(version: edited[0].version, name: edited[0].name, sql: edited[0].sql + "\n-- edited\n")
        #expect(try Migrator(legacy: edited).status(db) == .changed(["001_schema"]))
        #expect(throws: MigrationError.self) { try Migrator(legacy: edited).migrate(db) }
    }

    /// The released migrations with their SHA-256 (`sha256sum -c sql/RELEASED.sha256` from the
    /// repository's root checks the files too).
    static func released() throws -> [(checksum: String, path: String)] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("sql/RELEASED.sha256"), encoding: .utf8)
        return text.split(separator: "\n").map { line in
            let parts = line.split(separator: " ", maxSplits: 1)
            return (String(parts[0]), parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : "")
        }
    }

    @Test("a released migration never changes or disappears, and a new one is numbered after the last released one")
    func releasedMigrationsNeverChange() throws {
        let released = try Self.released()
        // 0.1.0 released the legacy sequence, the baseline and the migrations after it up to sql/230.
        let paths = Set(released.map(\.path))
        for migration in Migration.legacy { #expect(paths.contains("sql/legacy/\(migration.name).sql"), "\(migration.name) not listed") }
        for migration in Migration.all where Migration.baselineVersions.contains(migration.version) {
            #expect(paths.contains("sql/\(migration.name).sql"), "\(migration.name) not listed")
        }
        #expect(released.count == paths.count, "a file is listed twice")
        let embedded = Migration.all.map { ("sql/\($0.name).sql", $0) } + Migration.legacy.map { ("sql/legacy/\($0.name).sql", $0) }
        let byPath = Dictionary(uniqueKeysWithValues: embedded)
        let db = try TestCluster.shared().connect()
        defer { db.close() }
        for (checksum, path) in released {
            guard let migration = byPath[path] else {
                Issue.record("\(path) was released (sql/RELEASED.sha256) and is gone: released migrations stay as they are; add a new migration instead")
                continue
            }
            // The checksum the migrator records (SHA-256 of the file's text, by PostgreSQL).
            let actual = try db.query("SELECT encode(sha256(convert_to($1, 'UTF8')), 'hex')", [migration.sql]).scalar(String.self)
            #expect(actual == checksum, "\(path) was released (sql/RELEASED.sha256) and has changed: databases recorded its checksum and would refuse this binary; add a new migration instead")
        }
        let releasedPaths = Set(released.map(\.path))
        let lastReleased = Migration.all.filter { releasedPaths.contains("sql/\($0.name).sql") }.map(\.version).max() ?? 0
        for migration in Migration.all where !releasedPaths.contains("sql/\(migration.name).sql") {
            #expect(migration.version > lastReleased, "sql/\(migration.name).sql is numbered before the last released migration (\(lastReleased)): append it after")
        }
    }
}
