/// Why an embedded Citus cluster could not be started or prepared.
public struct EmbeddedCitusError: Error, CustomStringConvertible, Sendable {
    public let message: String

    init(_ message: String) {
        self.message = message
    }

    static func notInstalled(binaries: PostgresBinaries) -> EmbeddedCitusError {
        EmbeddedCitusError("""
            the Citus extension is not installed for the PostgreSQL server in \(binaries.directory) \
            (no citus.so in its pkglibdir or no citus.control in its sharedir/extension). \
            \(CitusInstallation.notInstalledMessage)
            """)
    }

    static func invalidDatabaseName(_ name: String) -> EmbeddedCitusError {
        EmbeddedCitusError("database name \(name) is not a plain lower-case identifier ([a-z_][a-z0-9_]*)")
    }

    static func setupFailed(_ step: String, node: String, underlying: Error) -> EmbeddedCitusError {
        EmbeddedCitusError("\(step) on \(node) failed: \(underlying)")
    }

    static func workersMissing(expected: Int, active: Int) -> EmbeddedCitusError {
        EmbeddedCitusError("the coordinator lists \(active) active workers, expected \(expected)")
    }

    public var description: String { "embedded Citus: \(message)" }
}
