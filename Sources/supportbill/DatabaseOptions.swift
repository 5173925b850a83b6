import ArgumentParser
import Postgres

/// `--database`, shared by every command that talks to PostgreSQL.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .customLong("database"),
        help: ArgumentHelp(
            "A libpq conninfo string or postgresql:// URI.",
            discussion: "Without it, libpq's environment and defaults apply (PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSFILE, PGSERVICE, ...). Prefer a passfile or PGSERVICE to a password in the URI: command lines are visible to other users.",
            valueName: "conninfo-or-uri"
        )
    )
    var database: String?

    /// A string libpq cannot parse is a usage error (64), reported without its password.
    func validate() throws {
        if let database, let problem = PostgresConnection.conninfoProblem(database) {
            throw ValidationError("--database is not a valid conninfo string or URI: \(problem)")
        }
    }

    var target: PostgresTarget { PostgresTarget(conninfo: database) }
}
