import Postgres

/// Per-customer locks that make two different jobs over the same customers give the result of
/// some serial order, customer by customer. Each batch of a real run takes them first thing in
/// its transaction, before any row lock, so a batch of threshold-topup and one of
/// suspension-sweep over the same customer run one after the other, and the second reads what
/// the first committed. Without them, a batch could read a service as active, the sweep could
/// suspend it and queue it for a new look, and the batch could then consume that queue row on
/// the stale status: the restored service would wait for its pack until something else changed.
///
/// Transaction-level advisory locks: no table privilege needed (the runner role cannot UPDATE
/// customers, so `FOR NO KEY UPDATE` is out), released at COMMIT or ROLLBACK whatever happens.
/// Customers share `slots` keys (id modulo slots): a shared key only serializes two customers
/// that need not be, never the reverse, and it bounds the shared lock table entries a
/// transaction holds (`simulate --commit` holds every batch's keys until its one COMMIT).
/// The keys are taken in ascending order, so two batches never deadlock on them.
public enum CustomerLocks {
    /// "SBCU": apart from the job locks' class (`JobRunner.lockClassID`).
    public static let classID: Int32 = 0x5342_4355
    public static let slots: Int64 = 1024

    /// Waits for the keys of `customers` (bounded by the session's `lock_timeout`).
    public static func lock(_ db: PostgresConnection, customers: [Int64]) throws {
        guard !customers.isEmpty else { return }
        // The sorted subquery is not flattened, so the lateral call takes the keys in its order.
        try db.execute("""
            SELECT count(*)
              FROM (SELECT DISTINCT (id % $2)::integer AS k FROM unnest($1::bigint[]) AS id ORDER BY k) keys
             CROSS JOIN LATERAL pg_advisory_xact_lock($3::integer, keys.k)
            """, [customers, slots, classID])
    }
}
