import Postgres

extension EmbeddedPostgres {
    /// The cluster's `database` as a connection target.
    public func target(database: String = "postgres") -> PostgresTarget {
        PostgresTarget(parameters: connectionParameters(database: database))
    }
}
