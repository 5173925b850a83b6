import BillingCore
import Foundation
import Postgres

/// A hosting provider's September and October 2026, generated with set-based SQL for the fault
/// tests: deterministic (no random()), so two databases generated alike hold the same rows, and
/// big enough that every job has thousands of rows of work and many batches.
///
/// Per customer g (1...C), in twelve time zones, one in twenty in EUR, one in ten in an org unit:
/// - service g on a rollup plan (metered bundle, post-paid hourly, flat in advance, quarterly
///   retainer), started between 2025-10-01 and 2026-09-26, a few suspended or cancelled;
/// - service C+g: pre-paid credit when g % 3 = 0, incidents when g % 3 = 1;
/// - three tickets per service with `entriesPerTicket` entries each over September and October
///   (incident plans' even tickets require an incident); customers with g % 4 = 2 also have
///   three tickets on no service (contract-expiry-rollover's work), with customer contracts
///   (hours, time-limited), item contracts and org-unit subscriptions;
/// - funds payments for one customer in seven (one in forty reversed);
/// - taxes one customer in nine at 19 % and reverse-charges one in nine (0 %, a note).
///
/// `history` then bills September the way the timers would have (rollup, top-ups, grants,
/// contracts) and records payments for most of it, so that the November runs the tests fault
/// have re-rating, overdue invoices, paid top-ups and consumed grants to deal with.
public struct FaultMonth: Sendable {
    public let scale: FaultScale

    public init(scale: FaultScale = .current) {
        self.scale = scale
    }

    static let zones = [
        "Pacific/Honolulu", "America/Los_Angeles", "America/Denver", "America/Chicago", "America/New_York",
        "America/Sao_Paulo", "UTC", "Europe/Berlin", "Europe/Moscow", "Asia/Kolkata", "Asia/Tokyo", "Pacific/Kiritimati",
    ]

    /// The instants the tests run the jobs at (the timers' schedule on 2026-11-01).
    public enum AsOf {
        public static let contracts = "2026-11-01T00:15:00Z"
        public static let grants = "2026-11-01T00:30:00Z"
        public static let sweep = "2026-11-01T06:00:00Z"
        public static let topup = "2026-11-01T12:05:00Z"
        public static let rollup = "2026-11-01T14:00:00Z"
    }

    /// The command line of each job's November run (without `--database`).
    public static func arguments(_ job: String, jobsDir: String) -> [String] {
        var arguments = ["run", job, "--jobs-dir", jobsDir, "--log-level", "notice"]
        switch job {
        case "monthly-rollup": arguments += ["--period", "2026-10", "--as-of", AsOf.rollup]
        case "threshold-topup": arguments += ["--as-of", AsOf.topup]
        case "suspension-sweep": arguments += ["--as-of", AsOf.sweep]
        case "incident-grants": arguments += ["--as-of", AsOf.grants]
        case "contract-expiry-rollover": arguments += ["--as-of", AsOf.contracts]
        default: break
        }
        return arguments
    }

    public static let jobs = ["contract-expiry-rollover", "incident-grants", "suspension-sweep", "threshold-topup", "monthly-rollup"]

    private static let writtenLock = NSLock()
    nonisolated(unsafe) private static var written: [String] = []

    /// jobs/*.toml for the tests: per-incident prices, account grants, no suspension limit.
    /// Removed when the test process exits (the scenario that uses it lives as long).
    public static func writeJobsDirectory() throws -> String {
        let directory = NSTemporaryDirectory() + "/supportbill-fault-jobs-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        writtenLock.lock()
        if written.isEmpty {
            atexit {
                FaultMonth.writtenLock.lock()
                for directory in FaultMonth.written { try? FileManager.default.removeItem(atPath: directory) }
                FaultMonth.writtenLock.unlock()
            }
        }
        written.append(directory)
        writtenLock.unlock()
        let files = [
            "contract-expiry-rollover.toml": "schedule = \"*-*-* 00:15:00 UTC\"\nexpired_time = \"rollover\"\n[per_incident_price]\nUSD = 4500\nEUR = 4000\n",
            "incident-grants.toml": "schedule = \"*-*-* 00:30:00 UTC\"\non_registration = 1\non_first_payment = 1\n[funds]\nstep = { USD = 5000, EUR = 5000 }\nincidents = 1\n",
            "suspension-sweep.toml": "schedule = \"*-*-* 06:00:00 UTC\"\nmax_suspensions = 0\n",
        ]
        for (name, text) in files {
            try text.write(toFile: directory + "/" + name, atomically: true, encoding: .utf8)
        }
        return directory
    }

    /// Inserts the inputs (customers ... payments) into an empty migrated database.
    public func generate(_ db: PostgresConnection) throws {
        let customers = scale.customers
        let units = max(1, customers / 50)
        try db.executeScript("""
            INSERT INTO customer_groups (id, name) VALUES (1, 'Priority Support');
            INSERT INTO plans (id, code, name, billing, period_months, bill_in_advance, included_minutes, increment_minutes,
                               incidents_per_period, group_id, grace_days) VALUES
                (1, 'bundle-2h', 'Support Bundle 2 h', 'metered', 1, false, 120, 15, 0, NULL, 7),
                (2, 'hourly', 'Post-paid hourly', 'metered', 1, false, 0, 15, 0, NULL, 7),
                (3, 'prepaid', 'Pre-paid credit', 'prepaid', 1, false, 0, 15, 0, NULL, 7),
                (4, 'incidents-10', 'Incidents 10 a month', 'incidents', 1, false, 0, 15, 3, NULL, 7),
                (5, 'priority-flat', 'Priority support', 'recurring', 1, true, 0, 15, 0, 1, 5),
                (6, 'retainer-q', 'Quarterly retainer', 'recurring', 3, false, 0, 6, 0, NULL, 10);
            INSERT INTO plan_prices (plan_id, currency, recurring_fee, setup_fee, hourly_rate, topup_amount, threshold)
            SELECT p.id, c.code,
                   (ARRAY[20000, 0, 0, 0, 4900, 45000])[p.id] * c.factor / 10,
                   (ARRAY[0, 3000, 0, 0, 0, 0])[p.id] * c.factor / 10,
                   (ARRAY[6000, 9000, 6000, 0, 0, 0])[p.id] * c.factor / 10,
                   (ARRAY[0, 0, 30000, 0, 0, 0])[p.id] * c.factor / 10,
                   (ARRAY[0, 0, 5000, 0, 0, 0])[p.id] * c.factor / 10
              FROM plans p CROSS JOIN (VALUES ('USD', 10), ('EUR', 9)) AS c(code, factor);
            """)
        try db.execute("INSERT INTO org_units (id, name) SELECT u, 'Org unit ' || u FROM generate_series(1, $1::int) u", [units])
        try db.execute("""
            INSERT INTO customers (id, name, org_unit_id, currency, timezone, registered_at)
            SELECT g, 'Fault customer ' || g,
                   CASE WHEN g % 10 = 0 THEN 1 + (g / 10) % $2::int END,
                   CASE WHEN g % 20 = 7 THEN 'EUR' ELSE 'USD' END,
                   ($3::text[])[1 + g % 12],
                   timestamptz '2025-01-01 00:00:00Z' + (g % 300) * interval '1 day'
              FROM generate_series(1, $1::int) g
            """, [customers, units, FaultMonth.zones])
        // Taxed customers (docs/invoices.md, "Taxes"): one in nine at 19 %, one in nine reverse
        // charged (0 % with a note); the rest untaxed.
        try db.executeScript("""
            INSERT INTO tax_rates (code, name, rate) VALUES ('VAT-19', 'VAT', 19.0000), ('RC-0', 'Reverse charge', 0.0000);
            UPDATE customers SET tax_rate = 'VAT-19' WHERE id % 9 = 4;
            UPDATE customers SET tax_rate = 'RC-0', tax_note = 'Reverse charge' WHERE id % 9 = 5;
            """)
        try db.execute("""
            INSERT INTO services (id, customer_id, plan_id, currency, status, starts_on, ends_on, suspended_at, suspend_reason)
            SELECT g, g, (ARRAY[1, 2, 5, 6])[1 + g % 4], c.currency,
                   CASE WHEN g % 60 = 11 THEN 'suspended' WHEN g % 60 = 23 THEN 'cancelled' ELSE 'active' END,
                   date '2025-10-01' + (g * 13) % 360,
                   CASE WHEN g % 60 = 23 THEN date '2026-10-20' END,
                   CASE WHEN g % 60 = 11 THEN timestamptz '2026-09-20 06:00:00Z' END,
                   CASE WHEN g % 60 = 11 THEN 'overdue' END
              FROM generate_series(1, $1::int) g JOIN customers c ON c.id = g
            UNION ALL
            SELECT $1::int + g, g, CASE WHEN g % 3 = 0 THEN 3 ELSE 4 END, c.currency, 'active',
                   date '2026-08-01' + g % 30, NULL::date, NULL::timestamptz, NULL::text
              FROM generate_series(1, $1::int) g JOIN customers c ON c.id = g
             WHERE g % 3 <> 2
            """, [customers])
        try db.execute("""
            INSERT INTO items (id, customer_id, name)
            SELECT g, g, 'Server of customer ' || g FROM generate_series(1, $1::int) g WHERE g % 20 = 2
            """, [customers])
        try db.execute("""
            INSERT INTO contracts (customer_id, item_id, org_unit_id, kind, starts_on, ends_on, minutes_total, status)
            SELECT g, NULL::bigint, NULL::bigint, 'support_hours', date '2026-08-01', NULL::date, 600, 'active'
              FROM generate_series(1, $1::int) g WHERE g % 8 = 2
            UNION ALL
            SELECT g, NULL, NULL, 'time_limited', date '2026-09-01', date '2026-10-20', 900, 'pending'
              FROM generate_series(1, $1::int) g WHERE g % 8 = 6
            UNION ALL
            SELECT NULL, g, NULL, 'support_hours', date '2026-09-10', NULL, 300, 'pending'
              FROM generate_series(1, $1::int) g WHERE g % 20 = 2
            UNION ALL
            SELECT NULL, NULL, u, 'subscription', date '2026-09-15', date '2026-12-31', NULL, 'pending'
              FROM generate_series(1, $2::int) u WHERE u % 2 = 1
            """, [customers, units])
        // Three tickets per service, and three on no service for contract customers (g % 4 = 2).
        try db.execute("""
            INSERT INTO tickets (customer_id, service_id, item_id, subject, requires_incident, opened_at)
            SELECT s.customer_id, s.id, NULL::bigint, 'Request ' || k || ' on service ' || s.id, s.plan_id = 4 AND k % 2 = 0,
                   timestamptz '2026-09-01 08:00:00Z' + ((s.id * 7919 + k * 104729) % (55 * 24)) * interval '1 hour'
              FROM services s CROSS JOIN generate_series(1, 3) k
            UNION ALL
            SELECT g, NULL::bigint, CASE WHEN g % 20 = 2 AND k = 1 THEN g END, 'Request ' || k || ' without a service', false,
                   timestamptz '2026-09-01 08:00:00Z' + ((g * 7919 + k * 104729) % (55 * 24)) * interval '1 hour'
              FROM generate_series(1, $1::int) g CROSS JOIN generate_series(1, 3) k
             WHERE g % 4 = 2
            ORDER BY 1, 2, 4
            """, [customers])
        // Entries from the ticket's opening to the end of October, 1 to 180 minutes, 1 in 25 not billable.
        try db.execute("""
            INSERT INTO time_entries (customer_id, ticket_id, service_id, worked_at, minutes, billable, staff)
            SELECT t.customer_id, t.id, NULL,
                   t.opened_at + ((t.id * 31 + e * 7907) % greatest(1, extract(epoch FROM timestamptz '2026-10-31 20:00:00Z' - t.opened_at)::bigint / 60))
                                 * interval '1 minute',
                   1 + (t.id * 13 + e * 37) % 180, (t.id + e) % 25 <> 0, 'staff' || ((t.id + e) % 30)
              FROM tickets t CROSS JOIN generate_series(1, $1::int) e
             ORDER BY t.id, e
            """, [scale.entriesPerTicket])
        try db.execute("""
            INSERT INTO payments (customer_id, invoice_id, amount, currency, received_at, status)
            SELECT g, NULL, 5000 * (1 + g % 3), c.currency, timestamptz '2026-09-05 10:00:00Z' + (g % 50) * interval '1 day',
                   CASE WHEN g % 40 = 0 THEN 'reversed' ELSE 'completed' END
              FROM generate_series(1, $1::int) g JOIN customers c ON c.id = g
             WHERE g % 7 = 0
            """, [customers])
        for table in ["org_units", "customers", "services", "items", "contracts", "tickets", "time_entries", "payments", "plans", "customer_groups"] {
            // Table names are this file's literals, never input.
            try db.execute("SELECT setval(pg_get_serial_sequence('\(table)', 'id'), (SELECT coalesce(max(id), 0) + 1 FROM \(table)), false)")
        }
    }

    /// September billed as the timers would have, then paid in part: invoices of September are
    /// paid in full by six customers in ten and in half by one; top-ups mostly paid.
    /// The jobs connect with `conninfo` (the runner role), the payments are written with
    /// `inputs` (a role that may write inputs; nil: `conninfo`).
    public func history(conninfo: String, inputs: String? = nil, jobsDir: String) throws {
        let runs: [[String]] = [
            ["run", "contract-expiry-rollover", "--as-of", "2026-10-01T00:15:00Z"],
            ["run", "incident-grants", "--as-of", "2026-10-01T00:30:00Z"],
            ["run", "threshold-topup", "--as-of", "2026-10-01T12:05:00Z"],
            ["run", "monthly-rollup", "--period", "2026-09", "--as-of", "2026-10-01T14:00:00Z"],
        ]
        for arguments in runs {
            let result = try ChildProcess.supportbill(arguments + ["--database", conninfo, "--jobs-dir", jobsDir, "--batch-size", "500", "--log-level", "error"])
            guard result.status == 0 || result.status == 65 else {
                throw PostgresError.usage("history run \(arguments) exited \(result.status): \(result.stderr)")
            }
        }
        let db = try PostgresConnection(conninfo: inputs ?? conninfo)
        defer { db.close() }
        try db.execute("""
            INSERT INTO payments (customer_id, invoice_id, amount, currency, received_at, status)
            SELECT i.customer_id, i.id,
                   CASE WHEN i.kind = 'topup' OR i.customer_id % 10 < 6 THEN i.total ELSE i.total / 2 END,
                   i.currency, timestamptz '2026-10-10 09:00:00Z' + (i.customer_id % 15) * interval '1 day', 'completed'
              FROM invoices i
             WHERE i.status = 'issued' AND i.total > 0
               AND ((i.kind = 'topup' AND i.customer_id % 4 <> 1) OR (i.kind <> 'topup' AND i.customer_id % 10 < 7))
            """)
        try db.execute("ANALYZE")
    }
}
