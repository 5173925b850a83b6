/// Why an embedded cluster could not be created, started or stopped.
public struct EmbeddedPostgresError: Error, CustomStringConvertible, Sendable {
    private enum Code: Sendable {
        case binariesNotFound
        case noPostgresUser
        case commandFailed
        case filesystem
    }

    private let code: Code
    public let message: String

    private init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    static func binariesNotFound(searched: [String]) -> EmbeddedPostgresError {
        EmbeddedPostgresError(.binariesNotFound, """
            the PostgreSQL server programs initdb and pg_ctl were not found. Install them:
              Debian/Ubuntu: apt-get install -y postgresql
              Fedora/RHEL:   dnf install -y postgresql-server
              macOS:         brew install postgresql@15
            or point SUPPORTBILL_PG_BINDIR at the directory that holds them. Looked in: \(searched.joined(separator: ", "))
            """)
    }

    static func noPostgresUser() -> EmbeddedPostgresError {
        EmbeddedPostgresError(.noPostgresUser, """
            running as root, and PostgreSQL refuses to run as root: the cluster is run as the \
            'postgres' user, which does not exist here (installing the postgresql package creates \
            it; or run as an ordinary user). runuser (util-linux) is also needed.
            """)
    }

    static func commandFailed(_ command: String, status: Int32, output: String) -> EmbeddedPostgresError {
        let tail = output.split(separator: "\n").suffix(15).joined(separator: "\n")
        return EmbeddedPostgresError(.commandFailed, "\(command) failed with status \(status):\n\(tail)")
    }

    static func filesystem(_ message: String) -> EmbeddedPostgresError {
        EmbeddedPostgresError(.filesystem, message)
    }

    public var description: String { "embedded PostgreSQL: \(message)" }
}
