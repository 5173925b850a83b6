import BillingCore
import BillingStore
import EmbeddedPostgres
import Foundation
import Postgres
import TestSupport
import Testing

/// The least privilege of `supportbill_runner` (sql/188_runner_role.sql), checked by connecting
/// as a login member of it, as the timers do.
@Suite("supportbill_runner: the jobs' least privilege")
struct RunnerRoleTests {
    /// A database with one customer, an issued invoice, a draft, and a row in every ledger,
    /// written by the owner; and a session as the runner.
    struct World {
        let database: TestDatabase
        let owner: PostgresConnection
        let runner: PostgresConnection
        let customer: Int64
        let service: Int64
        let issued: Int64
        let draft: Int64

        init() throws {
            database = try TestCluster.makeDatabase()
            owner = try database.connect()
            let f = Fixtures(owner)
            customer = try f.customer("Northwind")
            let plan = try f.plan("flat", billing: "recurring")
            try f.price(plan: plan, recurringFee: 4900)
            service = try f.service(customer: customer, plan: plan, startsOn: "2026-10-01")
            let run = try f.sweep.run()
            issued = try f.sweep.invoice(customer: customer, lines: [.init(service: service, amount: 4900)], dueOn: "2026-11-15", run: run)
            draft = try #require(try owner.query("""
                INSERT INTO invoices (customer_id, currency, kind, status, total, source_key, run_id)
                VALUES ($1, 'USD', 'period', 'draft', 0, 'test:draft', $2) RETURNING id
                """, [customer, run]).scalar(Int64.self))
            try f.payment(customer: customer, invoice: issued, amount: 4900, receivedAt: "2026-11-02T10:00:00Z")
            try f.contract(kind: "subscription", customer: customer, startsOn: "2026-10-01")
            let ticket = try f.ticket(customer: customer, openedAt: "2026-10-05T10:00:00Z")
            let entry = try f.entry(customer: customer, ticket: ticket, workedAt: "2026-10-05T10:00:00Z", minutes: 30)
            try owner.execute("""
                INSERT INTO credit_ledger (customer_id, service_id, amount, currency, reason, source_key, run_id)
                VALUES ($1, $2, -50, 'USD', 'usage', 'test:ledger', $3)
                """, [customer, service, run])
            try owner.execute("""
                INSERT INTO audit_events (run_id, at, customer_id, entity, entity_id, event)
                VALUES ($1, now(), $2, 'service', $3, 'suspended')
                """, [run, customer, service])
            try owner.execute("""
                INSERT INTO contract_charges (customer_id, time_entry_id, minutes, outcome, source_key, run_id)
                VALUES ($1, $2, 30, 'per_incident', 'test:charge', $3)
                """, [customer, entry, run])
            let grant = try f.manualGrant(customer: customer, quantity: 1, validFrom: "2026-10-01", key: "test:grant")
            try owner.execute("""
                INSERT INTO incident_uses (customer_id, grant_id, ticket_id, used_at, source_key, run_id)
                VALUES ($1, $2, $3, now(), 'test:use', $4)
                """, [customer, grant, ticket, run])
            runner = try database.connectAsRunner()
        }

        func close() {
            runner.close()
            owner.close()
            database.drop()
        }
    }

    /// Runs `sql` as the runner (in a transaction of its own) and returns the SQLSTATE it fails
    /// with (nil: it succeeded).
    static func refusal(_ db: PostgresConnection, _ sql: String, _ binds: [any PostgresEncodable] = []) -> String? {
        do {
            _ = try db.execute(sql, binds)
            return nil
        } catch let error as PostgresError {
            return error.sqlState ?? "no sqlstate: \(error)"
        } catch {
            return "\(error)"
        }
    }

    @Test("the group role cannot log in and holds no special attribute; the test login is only its member")
    func roleAttributes() throws {
        let world = try World()
        defer { world.close() }
        let row = try #require(try world.owner.query("""
            SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, rolreplication, rolinherit
              FROM pg_roles WHERE rolname = $1
            """, [RunnerRole.group]).first)
        #expect(try row.decode(0, as: Bool.self) == false)
        for column in 1...5 { #expect(try row.decode(column, as: Bool.self) == false) }
        #expect(try world.runner.query("SELECT current_user").scalar(String.self) == RunnerRole.login)
        #expect(try world.runner.query("SELECT pg_has_role(current_user, $1, 'USAGE')", [RunnerRole.group]).scalar(Bool.self) == true)
        #expect(try world.runner.query("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").scalar(Bool.self) == false)
    }

    @Test("no DDL: the runner cannot create, alter, drop or truncate anything", arguments: [
        "CREATE TABLE stolen (id int)",
        "CREATE TABLE public.stolen (id int)",
        "CREATE INDEX ON invoices (total)",
        "ALTER TABLE invoices ADD COLUMN note text",
        "ALTER TABLE invoices DISABLE TRIGGER invoices_immutable_when_issued",
        "DROP TRIGGER invoices_immutable_when_issued ON invoices",
        "DROP TABLE audit_events",
        "TRUNCATE credit_ledger",
        "TRUNCATE invoices CASCADE",
        "CREATE FUNCTION public.evil() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "CREATE OR REPLACE FUNCTION supportbill_guard_invoice() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$",
        "CREATE VIEW public.v AS SELECT 1",
        "CREATE ROLE intruder",
    ])
    func noDDL(statement: String) throws {
        let world = try World()
        defer { world.close() }
        #expect(Self.refusal(world.runner, statement) == "42501", "\(statement)")
    }

    @Test("no DELETE on the ledgers and the inputs, whatever the row", arguments: [
        "credit_ledger", "audit_events", "job_runs", "contract_charges", "incident_grants", "incident_uses",
        "customers", "services", "tickets", "time_entries", "payments", "plans", "plan_prices", "contracts", "currencies",
    ])
    func noDelete(table: String) throws {
        let world = try World()
        defer { world.close() }
        #expect(try world.owner.query("SELECT count(*) FROM \(table)").scalar(Int.self) ?? 0 > 0, "the table has a row to delete")
        #expect(Self.refusal(world.runner, "DELETE FROM \(table)") == "42501", "DELETE FROM \(table)")
        #expect(try world.owner.query("SELECT count(*) FROM \(table)").scalar(Int.self) ?? 0 > 0)
    }

    @Test("issued invoices and their items cannot be deleted or changed by the runner; a draft can be removed")
    func issuedInvoices() throws {
        let world = try World()
        defer { world.close() }
        let db = world.runner
        // Refused by the guards of sql/185 (the runner may delete drafts, so the privilege alone does not refuse it).
        #expect(Self.refusal(db, "DELETE FROM invoices WHERE id = $1", [world.issued]) == "23000")
        #expect(Self.refusal(db, "UPDATE invoices SET total = 1 WHERE id = $1", [world.issued]) == "23000")
        #expect(Self.refusal(db, "UPDATE invoices SET due_on = due_on + 30 WHERE id = $1", [world.issued]) == "23000")
        #expect(Self.refusal(db, "UPDATE invoices SET status = 'draft' WHERE id = $1", [world.issued]) == "23000")
        #expect(Self.refusal(db, "DELETE FROM billable_items WHERE invoice_id = $1", [world.issued]) == "23000")
        #expect(Self.refusal(db, "UPDATE billable_items SET amount = 1 WHERE invoice_id = $1", [world.issued]) == "23000")
        #expect(Self.refusal(db, "UPDATE billable_items SET invoice_id = NULL WHERE invoice_id = $1", [world.issued]) == "23000")
        // Refused by the column grants: no job moves an invoice to another customer or renames its key.
        #expect(Self.refusal(db, "UPDATE invoices SET customer_id = customer_id WHERE id = $1", [world.issued]) == "42501")
        #expect(Self.refusal(db, "UPDATE invoices SET source_key = 'x' WHERE id = $1", [world.draft]) == "42501")
        #expect(Self.refusal(db, "UPDATE billable_items SET source_key = 'x' WHERE invoice_id = $1", [world.issued]) == "42501")
        #expect(try world.owner.query("SELECT total FROM invoices WHERE id = $1", [world.issued]).scalar(Int64.self) == 4900)
        #expect(try world.owner.query("SELECT count(*) FROM billable_items WHERE invoice_id = $1", [world.issued]).scalar(Int.self) == 1)
        // What the jobs do is allowed: mark it paid, remove a draft.
        #expect(Self.refusal(db, "UPDATE invoices SET status = 'paid' WHERE id = $1", [world.issued]) == nil)
        #expect(Self.refusal(db, "DELETE FROM invoices WHERE id = $1", [world.draft]) == nil)
    }

    // The DELETE and UPDATE the runner holds on items and memberships exist for what the jobs
    // do; the guards of sql/185 keep them to it: another job's item waiting for an invoice is
    // only ever attached, and staff's memberships (managed = false) are never touched.
    @Test("the runner's DELETE reaches only drafts' items and managed memberships; an item on no invoice can only be attached")
    func narrowDeletes() throws {
        let world = try World()
        defer { world.close() }
        let db = world.runner
        let run = try #require(try world.owner.query("SELECT max(id) FROM job_runs").scalar(Int64.self))
        let waiting = try #require(try world.owner.query("""
            INSERT INTO billable_items (customer_id, kind, description, quantity, unit_price, amount, currency, period_start, period_end, source_key, run_id)
            VALUES ($1, 'per_incident', 'Ticket #1', 1, 4500, 4500, 'USD', '2026-10-01', '2026-11-01', 'test:incident', $2) RETURNING id
            """, [world.customer, run]).scalar(Int64.self))
        #expect(Self.refusal(db, "DELETE FROM billable_items WHERE id = $1", [waiting]) == "42501")
        #expect(Self.refusal(db, "UPDATE billable_items SET amount = 1 WHERE id = $1", [waiting]) == "42501")
        #expect(Self.refusal(db, "UPDATE billable_items SET invoice_id = $2, amount = 1 WHERE id = $1", [waiting, world.draft]) == "42501")
        #expect(try world.owner.query("SELECT amount FROM billable_items WHERE id = $1", [waiting]).scalar(Int64.self) == 4500)
        // Attaching it to a draft is what monthly-rollup does; off the draft again, it cannot be deleted either.
        #expect(Self.refusal(db, "UPDATE billable_items SET invoice_id = $2 WHERE id = $1", [waiting, world.draft]) == nil)
        #expect(Self.refusal(db, "UPDATE billable_items SET invoice_id = NULL WHERE id = $1", [waiting]) == nil)
        #expect(Self.refusal(db, "DELETE FROM billable_items WHERE id = $1", [waiting]) == "42501")
        // The owner (staff) keeps its rights.
        #expect(Self.refusal(world.owner, "UPDATE billable_items SET description = 'Ticket #1 (waived)' WHERE id = $1", [waiting]) == nil)

        let f = Fixtures(world.owner)
        let staffGroup = try f.group("Priority (by staff)")
        let managedGroup = try f.group("Priority (plan)")
        try world.owner.execute("INSERT INTO customer_group_members (customer_id, group_id, managed) VALUES ($1, $2, false), ($1, $3, true)",
                                [world.customer, staffGroup, managedGroup])
        #expect(Self.refusal(db, "DELETE FROM customer_group_members WHERE group_id = $1", [staffGroup]) == "42501")
        #expect(Self.refusal(db, "DELETE FROM customer_group_members WHERE group_id = $1", [managedGroup]) == nil)
        #expect(Self.refusal(db, "INSERT INTO customer_group_members (customer_id, group_id, managed) VALUES ($1, $2, false)",
                             [world.customer, managedGroup]) == "42501")
        #expect(Self.refusal(db, "INSERT INTO customer_group_members (customer_id, group_id, managed) VALUES ($1, $2, true)",
                             [world.customer, managedGroup]) == nil)
        #expect(try world.owner.query("SELECT count(*) FROM customer_group_members WHERE group_id = $1 AND NOT managed", [staffGroup]).scalar(Int.self) == 1)
        // monthly-rollup's temporary tables (sql/188 grants TEMPORARY, should PUBLIC lack it).
        #expect(Self.refusal(db, "CREATE TEMP TABLE monthly_rollup_probe (id int)") == nil)
    }

    @Test("the runner changes no input but the columns the jobs move, and cannot read pg_authid", arguments: [
        ("SELECT rolpassword FROM pg_authid", "42501"),
        ("SELECT passwd FROM pg_shadow", "42501"),
        ("INSERT INTO customers (name, currency) VALUES ('x', 'USD')", "42501"),
        ("UPDATE customers SET name = 'x'", "42501"),
        ("UPDATE time_entries SET minutes = 1", "42501"),
        ("UPDATE plan_prices SET recurring_fee = 1", "42501"),
        ("UPDATE payments SET status = 'completed'", "42501"),
        ("INSERT INTO payments (customer_id, amount, currency, received_at) SELECT id, 1, 'USD', now() FROM customers", "42501"),
        ("UPDATE services SET plan_id = plan_id", "42501"),
        ("UPDATE services SET ends_on = NULL", "42501"),
        ("UPDATE contracts SET minutes_total = 1", "42501"),
        ("UPDATE job_runs SET job = 'monthly-rollup'", "42501"),
        ("UPDATE credit_ledger SET amount = 0", "42501"),
        ("UPDATE audit_events SET event = 'suspended'", "42501"),
        ("UPDATE incident_grants SET quantity = 99", "42501"),
        ("INSERT INTO topup_entry_queue (customer_id, time_entry_id) VALUES (1, 1)", "42501"),
        // The cut-over is the operator's (supportbill cutover --set, as the owner): the jobs only read it.
        ("INSERT INTO billing_cutover (cutover) VALUES ('2026-01-01')", "42501"),
        ("UPDATE billing_cutover SET cutover = '2026-01-01'", "42501"),
        ("SELECT cutover FROM billing_cutover", nil),
        ("UPDATE services SET status = 'suspended', suspend_reason = 'overdue', suspended_at = now()", nil),
        ("UPDATE incident_grants SET revoked_at = now()", nil),
    ] as [(String, String?)])
    func inputs(statement: String, expected: String?) throws {
        let world = try World()
        defer { world.close() }
        #expect(Self.refusal(world.runner, statement) == expected, "\(statement)")
    }

    /// job_runs (sql/185, docs/design.md §11): as the runner, a run is inserted `running` only, is
    /// finished once and by its own session; another session may only mark it failed, and only
    /// while it holds the job's advisory lock (the stale-run marking of the next run); a
    /// finished run never changes, for the owner either.
    @Test("job_runs: inserted running, finished once by its own session, stale-marked only under the job's lock")
    func jobRunsGuard() throws {
        let world = try World()
        defer { world.close() }
        let runner = world.runner
        let start = JobRunStore.Start(job: "suspension-sweep", asOf: try Instant(rfc3339: "2026-11-02T06:00:00Z"), period: nil,
                                      dryRun: false, invokedBy: "test", host: "test", pid: 1)
        // A forged run: refused, whatever its status.
        for status in ["succeeded", "partial", "failed"] {
            #expect(Self.refusal(runner, """
                INSERT INTO job_runs (job, as_of, dry_run, status, started_at, finished_at, invoked_by, host, pid)
                VALUES ('suspension-sweep', now(), false, $1, now(), now(), 'forged', 'x', 1)
                """, [status]) == "42501", "\(status)")
        }
        // Its own run: recorded with its session, finished once.
        let own = try JobRunStore.insert(runner, start)
        #expect(try world.owner.query("SELECT backend_pid FROM job_runs WHERE id = $1", [own]).scalar(Int32.self) == runner.backendPID)
        #expect(Self.refusal(runner, "UPDATE job_runs SET status = 'running', stats = '{\"x\": 1}' WHERE id = $1", [own]) == "23000")
        try JobRunStore.finish(runner, id: own, status: "partial", stats: .object([]), error: nil)
        #expect(Self.refusal(runner, "UPDATE job_runs SET status = 'succeeded' WHERE id = $1", [own]) == "23000")
        #expect(Self.refusal(runner, "UPDATE job_runs SET stats = '{}', error = 'x' WHERE id = $1", [own]) == "23000")
        #expect(Self.refusal(world.owner, "UPDATE job_runs SET status = 'succeeded' WHERE id = $1", [own]) == "23000")
        #expect(Self.refusal(runner, "INSERT INTO job_run_rows (run_id, section, position, record) VALUES ($1, 'events', 0, '\\x00')", [own]) == "42501")
        #expect(try world.owner.query("SELECT status FROM job_runs WHERE id = $1", [own]).scalar(String.self) == "partial")

        // Another session's run: neither finished nor given rows by a second runner session.
        let other = try world.database.connectAsRunner()
        defer { other.close() }
        let theirs = try JobRunStore.insert(other, start)
        #expect(Self.refusal(runner, "UPDATE job_runs SET status = 'succeeded', finished_at = now() WHERE id = $1", [theirs]) == "42501")
        #expect(Self.refusal(runner, "UPDATE job_runs SET status = 'failed', finished_at = now() WHERE id = $1", [theirs]) == "42501")
        #expect(Self.refusal(runner, "INSERT INTO job_run_rows (run_id, section, position, record) VALUES ($1, 'events', 0, '\\x00')", [theirs]) == "42501")
        try other.execute("INSERT INTO job_run_rows (run_id, section, position, record) VALUES ($1, 'events', 0, '\\x00')", [theirs])
        // Its process dies; the next run takes the job's lock (JobRunner.lockKey: 'SBLL', 3 =
        // suspension-sweep) and marks it failed, as JobRunner does.
        other.close()
        #expect(Self.refusal(runner, "SELECT pg_advisory_lock(1396853836, 4)") == nil) // incident-grants' lock: not this job's
        #expect(throws: PostgresError.self) { try JobRunStore.failStaleRuns(runner, job: "suspension-sweep", foundBy: "test") }
        #expect(Self.refusal(runner, "SELECT pg_advisory_lock(1396853836, 3)") == nil)
        #expect(Self.refusal(runner, "UPDATE job_runs SET status = 'succeeded', finished_at = now() WHERE id = $1", [theirs]) == "42501")
        #expect(try JobRunStore.failStaleRuns(runner, job: "suspension-sweep", foundBy: "test") == [theirs])
        #expect(try world.owner.query("SELECT status FROM job_runs WHERE id = $1", [theirs]).scalar(String.self) == "failed")
        #expect(Self.refusal(runner, "UPDATE job_runs SET status = 'succeeded' WHERE id = $1", [theirs]) == "23000")
    }

    /// The runner's table and column privileges, as granted: a wider grant (an UPDATE of a whole
    /// table, a DELETE on a ledger) fails here before it reaches a release.
    @Test("the grants are exactly the ones the migrations declare (sql/188, and the later files that add tables)")
    func grants() throws {
        let world = try World()
        defer { world.close() }
        let tables = try world.owner.query("""
            SELECT table_name || ':' || string_agg(privilege_type, ',' ORDER BY privilege_type)
              FROM information_schema.role_table_grants
             WHERE grantee = $1 AND table_schema = current_schema()
             GROUP BY table_name ORDER BY table_name
            """, [RunnerRole.group]).map { try $0.decode(0, as: String.self) }
        #expect(tables == [
            "audit_event_names:SELECT",
            "audit_events:INSERT,SELECT",
            "billable_items:DELETE,INSERT,SELECT",
            "billing_cutover:SELECT",
            "contract_charge_drift:SELECT",
            "contract_charges:INSERT,SELECT",
            "contract_events:INSERT,SELECT",
            "contract_usage:SELECT",
            "contract_usage_entries:SELECT",
            "contracts:SELECT",
            "credit_applications:INSERT,SELECT",
            "credit_ledger:INSERT,SELECT",
            "currencies:SELECT",
            "customer_contracts:SELECT",
            "customer_group_members:DELETE,INSERT,SELECT",
            "customer_groups:SELECT",
            "customers:SELECT",
            "incident_grants:INSERT,SELECT",
            "incident_uses:INSERT,SELECT",
            "invoice_counters:INSERT,SELECT",
            "invoice_series:SELECT",
            "invoice_taxes:DELETE,INSERT,SELECT",
            "invoices:DELETE,INSERT,SELECT",
            "items:SELECT",
            "job_run_rows:INSERT,SELECT",
            "job_runs:INSERT,SELECT",
            "org_units:SELECT",
            "payments:SELECT",
            "plan_prices:SELECT",
            "plans:SELECT",
            "rollup_entry_changes:DELETE,SELECT",
            "rollup_netted_items:INSERT,SELECT",
            "schema_migrations:SELECT",
            "services:SELECT",
            "tax_rates:SELECT",
            "tickets:SELECT",
            "time_entries:SELECT",
            "topup_balances:INSERT,SELECT",
            "topup_entry_queue:DELETE,SELECT",
            "topup_invoice_queue:DELETE,SELECT",
            "topup_service_queue:DELETE,INSERT,SELECT",
        ])
        // Column-level UPDATE grants (table-level SELECT/INSERT also show per column: filter them).
        let columns = try world.owner.query("""
            SELECT table_name || ':' || string_agg(column_name, ',' ORDER BY column_name)
              FROM information_schema.column_privileges
             WHERE grantee = $1 AND table_schema = current_schema() AND privilege_type = 'UPDATE'
             GROUP BY table_name ORDER BY table_name
            """, [RunnerRole.group]).map { try $0.decode(0, as: String.self) }
        #expect(columns == [
            "billable_items:amount,currency,description,included_minutes,increment_minutes,invoice_id,kind,minutes,period_end,period_start,quantity,run_id,service_id,tax_percent,tax_rate,unit_price",
            "contracts:status",
            "credit_applications:superseded_at,superseded_run_id",
            "incident_grants:revoked_at",
            "incident_uses:returned_at",
            "invoice_counters:last_issued_at,last_value",
            "invoices:corrects_invoice_id,due_on,issued_at,run_id,status,tax_note,tax_total,total",
            "job_runs:error,finished_at,stats,status",
            "services:status,suspend_reason,suspended_at",
            "topup_balances:balance",
        ])
    }

    /// A migration that adds a table must grant the runner what its job needs; this names any
    /// table or view of the schema the runner cannot even read.
    @Test("every table and view of the schema is readable by the runner")
    func everyTableReadable() throws {
        let world = try World()
        defer { world.close() }
        let unreadable = try world.owner.query("""
            SELECT c.relname FROM pg_class c
             WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')
               AND NOT has_table_privilege($1, c.oid, 'SELECT')
             ORDER BY 1
            """, [RunnerRole.login]).map { try $0.decode(0, as: String.self) }
        #expect(unreadable == [])
        #expect(try world.runner.query("SELECT total FROM incident_balance($1, DATE '2026-10-10')", [world.customer]).scalar(Int64.self) == 0)
    }

    /// Roles belong to the cluster: migrating several databases of a fresh cluster at once must
    /// create `supportbill_runner` once and fail none of them.
    @Test("concurrent migrations of several databases of one cluster create the role once")
    func concurrentMigrations() throws {
        let cluster = try EmbeddedPostgres.start()
        defer { try? cluster.stop() }
        let admin = try cluster.connect()
        defer { admin.close() }
        #expect(try admin.query("SELECT count(*) FROM pg_roles WHERE rolname = $1", [RunnerRole.group]).scalar(Int.self) == 0)
        let names = (1...4).map { "concurrent_\($0)" }
        for name in names { try admin.execute("CREATE DATABASE \(name)") }
        let failures = Failures()
        DispatchQueue.concurrentPerform(iterations: names.count) { index in
            do {
                let db = try cluster.connect(database: names[index])
                defer { db.close() }
                _ = try Migrator().migrate(db)
            } catch {
                failures.append("\(names[index]): \(error)")
            }
        }
        #expect(failures.all == [])
        #expect(try admin.query("SELECT count(*) FROM pg_roles WHERE rolname = $1", [RunnerRole.group]).scalar(Int.self) == 1)
        // A second migration of a migrated database changes nothing and fails nothing.
        let again = try cluster.connect(database: names[0])
        defer { again.close() }
        #expect(try Migrator().migrate(again).applied == [])
        for name in names {
            let db = try cluster.connect(database: name)
            defer { db.close() }
            #expect(try db.query("SELECT has_table_privilege($1, 'invoices', 'INSERT')", [RunnerRole.group]).scalar(Bool.self) == true)
        }
    }

    final class Failures: @unchecked Sendable {
        private let lock = NSLock()
        private var list: [String] = []
        func append(_ failure: String) { lock.lock(); list.append(failure); lock.unlock() }
        var all: [String] { lock.lock(); defer { lock.unlock() }; return list }
    }
}
