import Foundation

/// Whether the Citus extension is installed for the PostgreSQL server programs EmbeddedPostgres
/// uses: its library (`citus.so`) in that installation's `pkglibdir` and its control file in
/// `sharedir/extension`. Tests of the Citus cluster use it to skip visibly where Citus is absent.
///
/// Citus is built against one PostgreSQL major version; a library found for another version's
/// server would not load, so the directories are asked of that server's own `pg_config`.
public struct CitusInstallation: Sendable, Equatable {
    /// The directory holding `citus.so`.
    public let libraryDirectory: String
    /// The extension's `default_version` (e.g. `13.2-1`), from `citus.control`.
    public let defaultVersion: String

    /// What a test prints when it skips because Citus is missing.
    public static let notInstalledMessage =
        "Citus is not installed: install the Citus extension for this PostgreSQL as root (.ci/run does it), then rerun; the Citus tests are skipped"

    /// The installation for `binaries`, or nil when Citus is not installed for that server.
    public static func locate(binaries: PostgresBinaries) -> CitusInstallation? {
        guard let directories = pgConfigDirectories(binaries: binaries) else { return nil }
        let library = directories.pkglibdir + "/citus.so"
        let control = directories.sharedir + "/extension/citus.control"
        guard FileManager.default.fileExists(atPath: library),
              let text = try? String(contentsOfFile: control, encoding: .utf8) else {
            return nil
        }
        let version = text.split(separator: "\n").lazy
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .first { $0.hasPrefix("default_version") }
            .flatMap { line in line.split(separator: "'").dropFirst().first.map(String.init) } ?? "unknown"
        return CitusInstallation(libraryDirectory: directories.pkglibdir, defaultVersion: version)
    }

    /// The installation for the server programs EmbeddedPostgres would use, or nil.
    public static func locate() -> CitusInstallation? {
        guard let binaries = try? PostgresBinaries.locate() else { return nil }
        return locate(binaries: binaries)
    }

    /// True when a Citus cluster can be started here.
    public static var isAvailable: Bool { locate() != nil }

    /// `pg_config --pkglibdir --sharedir` of the server in `binaries` (Debian ships a pg_config
    /// per version next to initdb); the one on PATH only when the server directory has none.
    private static func pgConfigDirectories(binaries: PostgresBinaries) -> (pkglibdir: String, sharedir: String)? {
        let own = binaries.directory + "/pg_config"
        let outcome: ProcessRunner.Outcome?
        if FileManager.default.isExecutableFile(atPath: own) {
            outcome = try? ProcessRunner.run(own, ["--pkglibdir", "--sharedir"])
        } else {
            outcome = try? ProcessRunner.run("pg_config", ["--pkglibdir", "--sharedir"], searchPath: true)
        }
        guard let outcome, outcome.status == 0 else { return nil }
        let lines = outcome.output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        guard lines.count >= 2 else { return nil }
        return (lines[0], lines[1])
    }
}
