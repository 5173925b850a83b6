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

    /// The migrations this binary carries, in version order.
    public static let all: [Migration] = EmbeddedMigrationFiles.files.compactMap { file in
        let stem = file.name.hasSuffix(".sql") ? String(file.name.dropLast(4)) : file.name
        guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]) else { return nil }
        return Migration(version: version, name: stem, sql: file.contents)
    }.sorted { $0.version < $1.version }

    /// The schema version this binary expects.
    public static var latestVersion: Int { all.last?.version ?? 0 }
}
