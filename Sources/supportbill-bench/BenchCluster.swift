import EmbeddedPostgres

/// The bench's throwaway cluster, with an empty database `bench`: 1 GB of shared buffers,
/// autovacuum off for stable figures (the bench vacuums and analyzes between the measured steps
/// instead, as autovacuum would after such writes).
enum BenchCluster {
    static func start(statementStatistics: Bool = false) throws -> EmbeddedPostgres {
        var settings = EmbeddedPostgres.Options.disposable
        settings["shared_buffers"] = "1GB"
        settings["work_mem"] = "64MB"
        settings["maintenance_work_mem"] = "512MB"
        settings["max_wal_size"] = "8GB"
        settings["checkpoint_timeout"] = "30min"
        settings["autovacuum"] = "off"
        if statementStatistics {
            // `breakdown` attributes the time to statements (pg_stat_statements, a contrib module):
            // top-level statements only, so a trigger's queries count in the statement that fired it.
            settings["shared_preload_libraries"] = "pg_stat_statements"
            settings["pg_stat_statements.track"] = "top"
        }
        let cluster = try EmbeddedPostgres.start(EmbeddedPostgres.Options(settings: settings))
        do {
            let admin = try cluster.connect()
            defer { admin.close() }
            try admin.execute("CREATE DATABASE bench")
        } catch {
            try? cluster.stop()
            throw error
        }
        return cluster
    }
}
