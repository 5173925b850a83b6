import Postgres

/// Applies the embedded migrations, once each, in order.
///
/// All pending migrations run in one transaction under an advisory lock, so two migrators never
/// interleave and a failure leaves the schema as it was. The checksum of every applied file is
/// recorded; if an applied file has changed since, the migrator refuses to run: forward-only
/// means a change is a new file.
///
/// A database built by the pre-0.1.0 sequence (sql/legacy: some of its versions are recorded)
/// is upgraded along that sequence: the legacy files it lacks run in order, then the baseline
/// (sql/182 to sql/189, the same schema squashed one place per table) is recorded as applied
/// without running, and the migrations after the baseline run as on any database, all in the
/// same transaction (docs/design.md §4). A fresh database runs the baseline.
public struct Migrator {
    public struct Outcome: Sendable, Equatable {
        /// The files run, in order (legacy files first on an upgrade from the legacy sequence).
        public let applied: [String]
        /// Baseline files recorded as applied without running: the legacy sequence built their schema.
        public let recorded: [String]
        public let currentVersion: Int
    }

    static let lockKey = PostgresAdvisoryLockKey(classID: 0x5342_4C4C, objectID: 0)

    public let migrations: [Migration]
    /// The pre-0.1.0 sequence, run only to finish a database that has part of it recorded.
    public let legacy: [Migration]

    public init(migrations: [Migration] = Migration.all, legacy: [Migration] = Migration.legacy) {
        self.migrations = migrations
        self.legacy = legacy
    }

    public func migrate(_ connection: PostgresConnection) throws -> Outcome {
        try Migrator.requireUTF8(connection)
        return try connection.transaction { db in
            try db.advisoryTransactionLock(Migrator.lockKey)
            try db.execute("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version    integer PRIMARY KEY,
                    name       text NOT NULL,
                    checksum   text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now(),
                    applied_by text NOT NULL DEFAULT current_user
                )
                """)
            let applied = try appliedChecksums(db)
            // A schema ahead of the binary: refuse before applying anything (an older binary's
            // missing migrations may be ones the newer release replaced).
            if let unknown = applied.keys.filter({ !isKnown($0) }).max() {
                throw MigrationError.newerDatabase(version: unknown, known: migrations.last?.version ?? 0)
            }
            var newlyApplied: [String] = []
            var recorded: [String] = []
            let upgrading = upgradesLegacy(applied)
            for migration in (upgrading ? legacyOnly : []) + migrations {
                try requireUnchanged(migration, applied, db)
                guard applied[migration.version] == nil else { continue }
                if upgrading && Migration.baselineVersions.contains(migration.version) {
                    // The legacy sequence has built the baseline's schema (a test compares the
                    // two catalogues): the baseline is recorded, never run on top of it.
                    try record(migration, db)
                    recorded.append(migration.name)
                } else {
                    try apply(migration, db)
                    newlyApplied.append(migration.name)
                }
            }
            try Migrator.distribute(db)
            return Outcome(applied: newlyApplied, recorded: recorded, currentVersion: migrations.last?.version ?? 0)
        }
    }

    /// The baseline files this migrator carries.
    private var baseline: [Migration] { migrations.filter { Migration.baselineVersions.contains($0.version) } }

    /// The legacy files that are not also in the current sequence (a test that builds an old
    /// database migrates with part of the legacy sequence as its current one).
    private var legacyOnly: [Migration] {
        legacy.filter { old in !migrations.contains { $0.version == old.version } }
    }

    private func isKnown(_ version: Int) -> Bool {
        migrations.contains { $0.version == version } || legacy.contains { $0.version == version }
    }

    /// Whether the database was built by the legacy sequence (and so lacks the baseline's record).
    private func upgradesLegacy(_ applied: [Int: (name: String, checksum: String)]) -> Bool {
        legacyOnly.contains { applied[$0.version] != nil }
    }

    private func requireUnchanged(_ migration: Migration, _ applied: [Int: (name: String, checksum: String)], _ db: PostgresConnection) throws {
        guard let recorded = applied[migration.version] else { return }
        guard recorded.checksum == (try checksum(of: migration, db)) else { throw MigrationError.changed(migration.name) }
    }

    private func apply(_ migration: Migration, _ db: PostgresConnection) throws {
        try db.executeScript(migration.sql)
        try record(migration, db)
    }

    private func record(_ migration: Migration, _ db: PostgresConnection) throws {
        try db.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            [migration.version, migration.name, try checksum(of: migration, db)]
        )
    }

    /// On Citus with workers, distributes what is not distributed yet (sql/211's
    /// `supportbill_distribute()`: nothing on plain PostgreSQL, nothing when all is distributed),
    /// in the migration's transaction. Run on every migrate, not only by sql/211: a database
    /// migrated on one server, then given the citus extension and workers, is distributed by its
    /// next `supportbill migrate` (docs/scale-out.md). Returns the tables it distributed now.
    @discardableResult
    public static func distribute(_ db: PostgresConnection) throws -> [String] {
        let present = try db.query("SELECT to_regprocedure('supportbill_distribute()') IS NOT NULL").scalar(Bool.self) ?? false
        guard present else { return [] }
        return try db.query("SELECT supportbill_distribute()").scalar([String].self) ?? []
    }

    /// Refuses a database whose encoding is not UTF8. Under SQL_ASCII PostgreSQL stores any
    /// bytes unchecked, so one name with invalid UTF-8 (from a legacy import) reaches the jobs;
    /// under LATIN1 and the like, text in other scripts cannot be stored at all.
    public static func requireUTF8(_ db: PostgresConnection) throws {
        let encoding = try db.query("SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()")
            .scalar(String.self) ?? "unknown"
        guard encoding == "UTF8" else { throw MigrationError.encoding(encoding) }
    }

    /// Checks, without changing anything, that the database has exactly this binary's migrations.
    public func verify(_ connection: PostgresConnection) throws {
        try Migrator.requireUTF8(connection)
        let exists = try connection.query("SELECT to_regclass('schema_migrations') IS NOT NULL").scalar(Bool.self) ?? false
        guard exists else { throw MigrationError.pending(current: 0, expected: migrations.last?.version ?? 0) }
        let applied = try appliedChecksums(connection)
        let current = applied.keys.max() ?? 0
        let expected = migrations.last?.version ?? 0
        if current > expected { throw MigrationError.newerDatabase(version: current, known: expected) }
        for migration in migrations where applied[migration.version] == nil {
            _ = migration
            throw MigrationError.pending(current: current, expected: expected)
        }
    }

    /// How the database's schema compares with this binary's migrations.
    public enum SchemaStatus: Sendable, Equatable {
        /// Every embedded migration is applied, and nothing else.
        case current(version: Int)
        /// Migrations of this binary the database lacks (all of them: no supportbill schema yet).
        case behind(current: Int, pending: [String])
        /// A database of the pre-0.1.0 sequence: `migrate` runs the legacy files it lacks,
        /// records the baseline as applied (the legacy sequence built its schema), then runs
        /// `pending`.
        case behindLegacy(current: Int, legacy: [String], baseline: [String], pending: [String])
        /// Migrations a newer supportbill applied that this binary does not know.
        case ahead(current: Int, unknown: [String])
        /// Applied migrations whose text differs from this binary's.
        case changed([String])
    }

    /// Compares the applied migrations with the embedded ones, changing nothing.
    public func status(_ connection: PostgresConnection) throws -> SchemaStatus {
        let exists = try connection.query("SELECT to_regclass('schema_migrations') IS NOT NULL").scalar(Bool.self) ?? false
        guard exists else { return .behind(current: 0, pending: migrations.map(\.name)) }
        let applied = try appliedChecksums(connection)
        let current = applied.keys.max() ?? 0
        let unknown = applied.filter { !isKnown($0.key) }.sorted { $0.key < $1.key }.map(\.value.name)
        var changed: [String] = []
        for migration in legacyOnly + migrations {
            guard let recorded = applied[migration.version] else { continue }
            if try checksum(of: migration, connection) != recorded.checksum { changed.append(migration.name) }
        }
        if !changed.isEmpty { return .changed(changed) }
        if !unknown.isEmpty { return .ahead(current: current, unknown: unknown) }
        let recorded = baseline.filter { applied[$0.version] == nil }
        if upgradesLegacy(applied) && !recorded.isEmpty {
            return .behindLegacy(
                current: current,
                legacy: legacyOnly.filter { applied[$0.version] == nil }.map(\.name),
                baseline: recorded.map(\.name),
                pending: migrations.filter { migration in
                    applied[migration.version] == nil && !recorded.contains(migration)
                }.map(\.name))
        }
        let pending = migrations.filter { applied[$0.version] == nil }.map(\.name)
        if !pending.isEmpty { return .behind(current: current, pending: pending) }
        return .current(version: current)
    }

    private func appliedChecksums(_ db: PostgresConnection) throws -> [Int: (name: String, checksum: String)] {
        var result: [Int: (name: String, checksum: String)] = [:]
        for row in try db.query("SELECT version, name, checksum FROM schema_migrations") {
            result[try row.decode(0, as: Int.self)] = (try row.decode(1, as: String.self), try row.decode(2, as: String.self))
        }
        return result
    }

    /// SHA-256 of the file's text, computed by PostgreSQL (no crypto dependency needed here).
    private func checksum(of migration: Migration, _ db: PostgresConnection) throws -> String {
        try db.query("SELECT encode(sha256(convert_to($1, 'UTF8')), 'hex')", [migration.sql]).scalar(String.self) ?? ""
    }
}

/// Why the schema cannot be used or migrated.
public struct MigrationError: Error, CustomStringConvertible, Sendable {
    private enum Code: Sendable { case changed, pending, newerDatabase, encoding }
    private let code: Code
    public let message: String

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    static func changed(_ name: String) -> MigrationError {
        MigrationError(.changed, "migration \(name) was applied with different contents; applied migrations must never change (add a new migration instead)")
    }

    static func pending(current: Int, expected: Int) -> MigrationError {
        MigrationError(.pending, "the database schema is at version \(current) but this supportbill needs version \(expected): run `supportbill migrate`")
    }

    static func newerDatabase(version: Int, known: Int) -> MigrationError {
        MigrationError(.newerDatabase, "the database has migration \(version), newer than this supportbill knows (\(known)): the schema is ahead of this binary; install the supportbill release that migrated it (supportbill migrate --status lists what differs)")
    }

    static func encoding(_ encoding: String) -> MigrationError {
        MigrationError(.encoding, "the database's encoding is \(encoding); supportbill needs UTF8 (under SQL_ASCII invalid bytes reach the reports, under single-byte encodings most names cannot be stored): create the database with `createdb -E UTF8 -T template0 NAME` (or CREATE DATABASE ... ENCODING 'UTF8' TEMPLATE template0) and load the data into it")
    }

    public var isPending: Bool { code == .pending }
    /// The database was migrated by a newer supportbill.
    public var isNewerDatabase: Bool { code == .newerDatabase }
    public var description: String { message }
}
