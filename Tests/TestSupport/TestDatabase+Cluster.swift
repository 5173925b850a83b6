import EmbeddedPostgres

extension TestDatabase {
    /// A database of a cluster the caller started (a dedicated or a standby cluster).
    public init(named name: String, on cluster: EmbeddedPostgres) {
        self.init(name: name, cluster: cluster)
    }
}
