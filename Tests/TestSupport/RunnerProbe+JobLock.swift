import Postgres

extension RunnerProbe {
    /// The backend holding a job's session advisory lock in this database (nil: free). The
    /// runner's key is (class, object) of two int4 values, which pg_locks shows as classid,
    /// objid and objsubid 2.
    public func jobLockHolder(classID: Int32, objectID: Int32) throws -> Int32? {
        try db.query("""
            SELECT pid FROM pg_locks
             WHERE locktype = 'advisory' AND granted AND objsubid = 2
               AND classid = $1::bigint::oid AND objid = $2::bigint::oid
               AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            """, [Int64(classID), Int64(objectID)]).first.map { try $0.decode(0, as: Int32.self) }
    }

    /// Whether a backend is still there (a backend that is gone holds no lock).
    public func backendAlive(_ pid: Int32) throws -> Bool {
        try db.query("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", [pid]).scalar(Int64.self) == 1
    }
}
