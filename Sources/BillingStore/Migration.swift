/// One forward-only migration: `sql/NNN_name.sql`, embedded in the binary at build time.
public struct Migration: Sendable, Equatable {
    public let version: Int
    public let name: String
    public let sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// The migrations this binary carries, in version order: the 0.1.0 baseline (sql/182 to
    /// sql/189), then whatever was appended after it. A fresh database runs these.
    public static let all: [Migration] = parse(EmbeddedMigrationFiles.files)

    /// The pre-0.1.0 sequence (sql/legacy/001 to 180), unchanged. Only a database that has some
    /// of them recorded runs them: the migrator applies the ones it lacks, then records the
    /// baseline as applied, since these build exactly the baseline's schema (docs/design.md §4).
    public static let legacy: [Migration] = parse(EmbeddedLegacyMigrationFiles.files)

    /// The versions of the baseline: what the legacy sequence built, squashed one place per table.
    public static let baselineVersions: ClosedRange<Int> = 182...189

    /// The schema version this binary expects.
    public static var latestVersion: Int { all.last?.version ?? 0 }

    private static func parse(_ files: [(name: String, contents: String)]) -> [Migration] {
        files.compactMap { file in
            let stem = file.name.hasSuffix(".sql") ? String(file.name.dropLast(4)) : file.name
            guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]) else { return nil }
            return Migration(version: version, name: stem, sql: file.contents)
        }.sorted { $0.version < $1.version }
    }
}
