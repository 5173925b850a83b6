import Foundation

extension TestCluster {
    /// A database with no schema at all on the shared cluster (not a clone of the migrated
    /// template): for tests of `migrate` itself, of a schema as it was before a migration, and of
    /// what a command says on a database that was never migrated. `drop()` removes it.
    public static func makeEmptyDatabase(_ prefix: String = "empty") throws -> TestDatabase {
        let cluster = try shared()
        // Identifiers cannot be bound as parameters; this one is generated here, never input.
        let name = "\(prefix)_\(getpid())_\(Int.random(in: 0..<1_000_000))"
        let admin = try cluster.connect()
        defer { admin.close() }
        try admin.execute("CREATE DATABASE \(name)")
        return TestDatabase(name: name, cluster: cluster)
    }
}
