import BillingCore
import BillingStore
import Postgres
import TestSupport
import Testing

@Suite("Migrations and the public schema (docs/design.md §4)")
struct MigrationTests {
    /// Every table and column docs/design.md §4 names.
    static let contract: [String: [String]] = [
        "currencies": ["code", "minor_units"],
        "org_units": ["id", "name", "parent_id"],
        "customers": ["id", "name", "org_unit_id", "currency", "timezone", "registered_at"],
        "customer_groups": ["id", "name"],
        "customer_group_members": ["customer_id", "group_id", "managed", "since"],
        "items": ["id", "customer_id", "org_unit_id", "name"],
        "plans": ["id", "code", "name", "billing", "period_months", "bill_in_advance", "included_minutes", "increment_minutes", "incidents_per_period", "group_id", "grace_days"],
        "plan_prices": ["plan_id", "currency", "recurring_fee", "setup_fee", "hourly_rate", "topup_amount", "threshold"],
        "services": ["id", "customer_id", "plan_id", "currency", "status", "starts_on", "ends_on", "suspended_at", "suspend_reason"],
        "tickets": ["id", "customer_id", "service_id", "item_id", "subject", "requires_incident", "opened_at", "closed_at"],
        "time_entries": ["id", "customer_id", "ticket_id", "service_id", "worked_at", "minutes", "billable", "staff", "note"],
        "payments": ["id", "customer_id", "invoice_id", "amount", "currency", "received_at", "status"],
        "contracts": ["id", "item_id", "customer_id", "org_unit_id", "kind", "starts_on", "ends_on", "minutes_total", "status"],
        "job_runs": ["id", "job", "as_of", "period_start", "period_end", "dry_run", "status", "started_at", "finished_at", "invoked_by", "host", "pid", "stats", "error"],
        "invoices": ["id", "customer_id", "currency", "kind", "period_start", "period_end", "status", "issued_at", "due_on", "total", "source_key", "run_id"],
        "billable_items": ["id", "customer_id", "service_id", "invoice_id", "kind", "description", "minutes", "quantity", "unit_price", "amount", "currency", "period_start", "period_end", "source_key", "run_id"],
        "credit_ledger": ["id", "customer_id", "service_id", "amount", "currency", "reason", "time_entry_id", "invoice_id", "source_key", "run_id", "created_at"],
        "incident_grants": ["id", "customer_id", "service_id", "quantity", "lifetime", "valid_from", "valid_until", "source", "source_key", "revoked_at", "run_id"],
        "incident_uses": ["id", "customer_id", "grant_id", "ticket_id", "quantity", "used_at", "returned_at", "run_id"],
        "contract_charges": ["id", "customer_id", "time_entry_id", "contract_id", "minutes", "outcome", "run_id"],
        "audit_events": ["id", "run_id", "at", "customer_id", "entity", "entity_id", "event", "detail"],
    ]

    @Test("every table and column of the contract exists")
    func schemaContract() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        for (table, columns) in Self.contract {
            let present = Set(try db.query(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1",
                [table]).map { try $0.decode(0, as: String.self) })
            #expect(!present.isEmpty, "table \(table) is missing")
            for column in columns { #expect(present.contains(column), "\(table).\(column) is missing") }
        }
        db.close()
    }

    @Test("no floating-point column anywhere; money columns are bigint")
    func noFloats() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        let floats = try db.query("""
            SELECT table_name || '.' || column_name FROM information_schema.columns
             WHERE table_schema = 'public' AND data_type IN ('real', 'double precision', 'money')
            """).map { try $0.decode(0, as: String.self) }
        #expect(floats.isEmpty)
        let money = ["plan_prices.recurring_fee", "plan_prices.setup_fee", "plan_prices.hourly_rate", "plan_prices.topup_amount",
                     "plan_prices.threshold", "payments.amount", "invoices.total", "billable_items.unit_price",
                     "billable_items.amount", "credit_ledger.amount"]
        for column in money {
            let parts = column.split(separator: ".").map(String.init)
            let type = try db.query("SELECT data_type FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 AND column_name = $2", [parts[0], parts[1]]).scalar(String.self)
            #expect(type == "bigint", "\(column) is \(type ?? "missing")")
        }
        db.close()
    }

    @Test("every output table has a source_key UNIQUE per customer (contract_events: UNIQUE)")
    func sourceKeys() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        // The unique indexes of each table, as their column lists ("customer_id,source_key").
        func uniqueColumns(_ table: String) throws -> [String] {
            try db.query("""
                SELECT string_agg(a.attname, ',' ORDER BY k.ord) FROM pg_index i
                 CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k (attnum, ord)
                  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                 WHERE i.indrelid = $1::regclass AND i.indisunique
                 GROUP BY i.indexrelid ORDER BY 1
                """, [table]).map { try $0.decode(0, as: String.self) }
        }
        for table in ["invoices", "billable_items", "credit_ledger", "incident_grants", "incident_uses", "contract_charges",
                      "audit_events", "credit_applications"] {
            let unique = try uniqueColumns(table)
            #expect(unique.contains("customer_id,source_key"), "\(table): \(unique)")
            #expect(!unique.contains("source_key"), "\(table).source_key is unique across customers: \(unique)")
        }
        #expect(try uniqueColumns("contract_events") == ["id", "source_key"])
        db.close()
    }

    /// Citus refuses a PRIMARY KEY or UNIQUE constraint of a distributed table that leaves out
    /// the distribution column (docs/scale-out.md): every table that carries customer_id but the
    /// reference tables (items, contracts, contract_events) keeps it in every unique index.
    @Test("every unique key of a customer-owned table includes customer_id (sql/210), but the global invoice numbers")
    func customerKeys() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        let offending = try db.query("""
            SELECT i.indrelid::regclass::text || ':' || string_agg(a.attname, ',' ORDER BY k.ord)
              FROM pg_index i
              JOIN pg_class c ON c.oid = i.indrelid AND c.relkind = 'r'
              JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
             CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k (attnum, ord)
              JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
             WHERE i.indisunique
               AND c.relname NOT IN ('items', 'contracts', 'contract_events')
               AND EXISTS (SELECT 1 FROM pg_attribute x WHERE x.attrelid = c.oid AND x.attname = 'customer_id' AND NOT x.attisdropped)
             GROUP BY i.indexrelid, i.indrelid
            HAVING NOT bool_or(a.attname IN ('customer_id'))
             ORDER BY 1
            """).map { try $0.decode(0, as: String.self) }
        #expect(offending == ["invoices:number", "invoices:number_series,number_credit_note,number_year,number_value"])
        #expect(try db.query("SELECT is_nullable FROM information_schema.columns WHERE table_name = 'audit_events' AND column_name = 'customer_id'")
            .scalar(String.self) == "NO")
        db.close()
    }

    @Test("migrating twice: the second run applies nothing and changes nothing")
    func idempotent() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        let before = try db.query("SELECT version, checksum, applied_at FROM schema_migrations ORDER BY version").map { try $0.decode(1, as: String.self) }
        let outcome = try Migrator().migrate(db)
        #expect(outcome.applied.isEmpty)
        #expect(outcome.currentVersion == Migration.latestVersion)
        let after = try db.query("SELECT version, checksum, applied_at FROM schema_migrations ORDER BY version").map { try $0.decode(1, as: String.self) }
        #expect(before == after)
        #expect(before.count == Migration.all.count)
        try Migrator().verify(db)
        db.close()
    }

    @Test("a fresh database migrates from nothing; a changed applied migration is refused")
    func fromScratchAndChanged() throws {
        let empty = try TestCluster.makeEmptyDatabase("scratch")
        defer { empty.drop() }
        let db = try empty.connect()
        #expect(throws: MigrationError.self) { try Migrator().verify(db) }
        let first = try Migrator().migrate(db)
        #expect(first.applied == Migration.all.map(\.name))
        var changed = Migration.all
        let original = changed[0]
        changed[0] = Migration(version: original.version, name: original.name, sql: original.sql + "\n-- edited after release\n")
        do {
            _ = try Migrator(migrations: changed).migrate(db)
            Issue.record("a changed migration was accepted")
        } catch let error as MigrationError {
            #expect(error.description.contains(original.name))
        }
        db.close()
    }

    @Test("the database refuses bad input: minutes <= 0, unknown enumerations, a contract with two scopes")
    func constraints() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        let fixtures = Fixtures(db)
        let customer = try fixtures.customer()
        let ticket = try fixtures.ticket(customer: customer, openedAt: "2026-10-01T10:00:00Z")
        for minutes in [0, -15] {
            do {
                try fixtures.entry(customer: customer, ticket: ticket, workedAt: "2026-10-01T10:00:00Z", minutes: minutes)
                Issue.record("minutes \(minutes) accepted")
            } catch let error as PostgresError {
                #expect(error.sqlState == "23514")
            }
        }
        #expect(throws: PostgresError.self) { try fixtures.plan("x", billing: "monthly") }
        #expect(throws: PostgresError.self) { try fixtures.plan("y", billing: "metered", incrementMinutes: 0) }
        let item = try fixtures.item("server", customer: customer)
        #expect(throws: PostgresError.self) { try fixtures.contract(kind: "subscription", item: item, customer: customer, startsOn: "2026-10-01") }
        #expect(throws: PostgresError.self) { try fixtures.contract(kind: "subscription", startsOn: "2026-10-01") }
        #expect(throws: PostgresError.self) { try db.execute("INSERT INTO currencies VALUES ('usd', 2)") }
        db.close()
    }
}

import Foundation
