import EmbeddedPostgres
import Foundation
import Postgres

/// A database's schema as text, to compare two databases built by different migration paths
/// (the baseline and the legacy sequence, docs/design.md §4): `pg_dump --schema-only` of the
/// cluster's own PostgreSQL (tables, columns with types, defaults and generated expressions,
/// constraints with their definitions, indexes, triggers, functions' bodies, views, sequences,
/// comments, grants), the database's own grants, and the rows of every table migrations seed
/// (schema_migrations aside: its rows are the path, not the schema).
public struct SchemaCatalogue: Sendable, Equatable {
    public let schema: String
    public let data: String

    /// Why a catalogue could not be read.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public static func read(_ database: TestDatabase) throws -> SchemaCatalogue {
        let pgDump = try PostgresBinaries.locate().directory + "/pg_dump"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: pgDump)
        process.arguments = ["--schema-only", "--no-sync", "--dbname", database.conninfo]
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "pg_dump \(database.name) exited \(process.terminationStatus): \(stderr)")
        }
        // pg_dump's \restrict key is random per dump; the comment lines name the server version.
        let schema = text.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("\\restrict") && !$0.hasPrefix("\\unrestrict") && !$0.hasPrefix("-- Dumped") }
            .joined(separator: "\n")

        let db = try database.connect()
        defer { db.close() }
        var data = try db.query("""
            SELECT 'database grants: ' || coalesce(array_to_string(datacl, ' '), '(defaults)')
              FROM pg_database WHERE datname = current_database()
            """).scalar(String.self) ?? ""
        let tables = try db.query("""
            SELECT c.relname FROM pg_class c
             WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' AND c.relname <> 'schema_migrations'
             ORDER BY c.relname
            """).map { try $0.decode(0, as: String.self) }
        for table in tables {
            // Names come from the catalogue, quoted by PostgreSQL.
            let rows = try db.query("SELECT coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '') FROM \(table) t")
                .scalar(String.self) ?? ""
            if !rows.isEmpty { data += "\n-- \(table)\n" + rows }
        }
        return SchemaCatalogue(schema: schema, data: data)
    }

    /// The lines that differ, `-` only in `self`, `+` only in `other`, each with its line number
    /// and the nearest object header above it, so that a failure says what differs and where.
    public func differences(to other: SchemaCatalogue) -> String {
        Self.diff(schema, other.schema) + Self.diff(data, other.data)
    }

    private static func diff(_ a: String, _ b: String) -> String {
        let left = a.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let right = b.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var lines: [String] = []
        for change in right.difference(from: left) {
            switch change {
            case .remove(let offset, let line, _):
                lines.append("- \(offset + 1) [\(header(left, offset))] \(line)")
            case .insert(let offset, let line, _):
                lines.append("+ \(offset + 1) [\(header(right, offset))] \(line)")
            }
        }
        return lines.joined(separator: "\n")
    }

    /// pg_dump heads every object with `-- Name: ...; Type: ...`.
    private static func header(_ lines: [String], _ offset: Int) -> String {
        var index = min(offset, lines.count - 1)
        while index >= 0 {
            if lines[index].hasPrefix("-- Name: ") || lines[index].hasPrefix("-- ") && lines[index].contains("Type:") {
                return String(lines[index].dropFirst(3))
            }
            index -= 1
        }
        return "top"
    }
}
