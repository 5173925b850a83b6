import EmbeddedPostgres
import Postgres

/// Running the jobs with the least privilege of `supportbill_runner` (sql/188_runner_role.sql):
/// a login role that is a member of it, created once per cluster, as an operator would.
public enum RunnerRole {
    /// The NOLOGIN group role the migration creates.
    public static let group = "supportbill_runner"
    /// The login role tests connect as (trust authentication on the embedded cluster's socket).
    public static let login = "supportbill_test_runner"

    /// Creates the login role if the cluster has none. The group role must exist (any migrated
    /// database of the cluster created it). Roles belong to the cluster: creating it tolerates
    /// another session creating it at the same time.
    public static func ensureLogin(_ admin: PostgresConnection) throws {
        try admin.executeScript("""
            DO $$
            BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'supportbill_test_runner') THEN
                    CREATE ROLE supportbill_test_runner LOGIN IN ROLE supportbill_runner;
                END IF;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;
            END
            $$;
            """)
    }

    /// `database` of `cluster` as the runner's login role.
    public static func target(_ cluster: EmbeddedPostgres, database: String) -> PostgresTarget {
        PostgresTarget(parameters: cluster.connectionParameters(database: database).map { $0.0 == "user" ? ($0.0, login) : $0 })
    }

    /// The same as a conninfo string, for the CLI's `--database`.
    public static func conninfo(_ cluster: EmbeddedPostgres, database: String) -> String {
        "host=\(cluster.socketDirectory) port=\(cluster.port) dbname=\(database) user=\(login)"
    }
}
