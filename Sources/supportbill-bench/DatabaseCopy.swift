import EmbeddedPostgres
import Postgres

/// A copy of the bench database (`CREATE DATABASE ... TEMPLATE`, a file copy) with some of the
/// schema's guards switched off (issue 20): the honest floor runs on a copy with all of them off
/// (`Switch.lean`), and `breakdown` runs a job on copies with one of them off at a time, so the
/// difference to the run on an unchanged copy is what that one guard costs.
///
/// The output tables are the tables with a `source_key` column (the idempotency key): invoices,
/// billable_items, credit_ledger, incident_grants, incident_uses, contract_charges,
/// audit_events, credit_applications.
struct DatabaseCopy {
    enum Switch: String, CaseIterable {
        /// Every foreign key dropped.
        case foreignKeys = "foreign keys"
        /// The guard triggers dropped (functions `supportbill_guard_*`: issued invoices and
        /// their items immutable, the ledger append-only, managed group members, job_runs):
        /// what `breakdown` prices. The triggers that keep derived tables stay.
        case guardTriggers = "guard triggers"
        /// Every user trigger dropped, also those that keep derived tables (top-up balances
        /// and queues, rollup changes, invoice numbers): the honest floor computes what it
        /// needs of them itself. A job on such a copy does not find that work done, and may
        /// take other, slower paths: `breakdown` does not use it alone.
        case triggers
        /// Every index of an output table but its primary key and its `source_key` key dropped
        /// (other unique constraints too, when the foreign keys are off as well).
        case indexes
        /// Every CHECK constraint of an output table dropped (issued invoices have numbers,
        /// amounts have signs, ...).
        case checks = "check constraints"

        static let lean: Set<Switch> = Set(allCases)
    }

    let name: String
    let conninfo: String

    /// Copies `template` (which must have no other session open) to `name` and switches `off`.
    static func make(_ cluster: EmbeddedPostgres, template: String, name: String, off: Set<Switch>) throws -> DatabaseCopy {
        let admin = try cluster.connect()
        defer { admin.close() }
        try admin.execute("DROP DATABASE IF EXISTS \(name)")
        // FILE_COPY: one checkpoint and a copy of the files, much faster than WAL_LOG for a
        // database of millions of rows.
        try admin.execute("CREATE DATABASE \(name) TEMPLATE \(template) STRATEGY FILE_COPY")
        let copy = DatabaseCopy(name: name, conninfo: cluster.conninfo(database: name))
        let db = try cluster.target(database: name).connect()
        defer { db.close() }
        try switchOff(off, db)
        return copy
    }

    static func drop(_ cluster: EmbeddedPostgres, _ name: String) throws {
        let admin = try cluster.connect()
        defer { admin.close() }
        try admin.execute("DROP DATABASE IF EXISTS \(name)")
    }

    static func switchOff(_ off: Set<Switch>, _ db: PostgresConnection) throws {
        if off.contains(.foreignKeys) {
            try db.execute("""
                DO $$
                DECLARE r record;
                BEGIN
                    FOR r IN SELECT c.conrelid::regclass AS t, c.conname FROM pg_constraint c
                              WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace LOOP
                        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.t, r.conname);
                    END LOOP;
                END $$
                """)
        }
        if off.contains(.triggers) || off.contains(.guardTriggers) {
            let which = off.contains(.triggers) ? "true" : "p.proname LIKE 'supportbill\\_guard\\_%'"
            try db.execute("""
                DO $$
                DECLARE r record;
                BEGIN
                    FOR r IN SELECT g.tgrelid::regclass AS t, g.tgname FROM pg_trigger g JOIN pg_class k ON k.oid = g.tgrelid
                               JOIN pg_proc p ON p.oid = g.tgfoid
                              WHERE NOT g.tgisinternal AND k.relnamespace = 'public'::regnamespace AND \(which) LOOP
                        EXECUTE format('DROP TRIGGER %I ON %s', r.tgname, r.t);
                    END LOOP;
                END $$
                """)
        }
        if off.contains(.checks) {
            try db.execute("""
                DO $$
                DECLARE r record;
                BEGIN
                    FOR r IN SELECT c.conrelid::regclass AS t, c.conname FROM pg_constraint c
                              WHERE c.contype = 'c' AND c.connamespace = 'public'::regnamespace
                                AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.conrelid AND a.attname = 'source_key' AND NOT a.attisdropped)
                    LOOP
                        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.t, r.conname);
                    END LOOP;
                END $$
                """)
        }
        if off.contains(.indexes) {
            // Unique constraints other than the idempotency key are guards too; one a foreign
            // key still refers to stays when the foreign keys are on.
            let dropConstraints = off.contains(.foreignKeys)
            try db.execute("""
                DO $$
                DECLARE r record;
                BEGIN
                    FOR r IN SELECT i.indexrelid::regclass AS ix, c.conname, i.indrelid::regclass AS t
                               FROM pg_index i
                               JOIN pg_class k ON k.oid = i.indrelid
                               LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid
                              WHERE k.relnamespace = 'public'::regnamespace AND NOT i.indisprimary
                                AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = k.oid AND a.attname = 'source_key' AND NOT a.attisdropped)
                                AND NOT (i.indisunique AND i.indnatts = 1 AND i.indkey[0] =
                                         (SELECT a.attnum FROM pg_attribute a WHERE a.attrelid = k.oid AND a.attname = 'source_key'))
                    LOOP
                        IF r.conname IS NULL THEN
                            EXECUTE format('DROP INDEX %s', r.ix);
                        ELSIF \(dropConstraints) THEN
                            EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.t, r.conname);
                        END IF;
                    END LOOP;
                END $$
                """)
        }
    }
}
