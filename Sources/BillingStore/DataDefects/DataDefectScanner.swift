import BillingCore
import Postgres

/// Finds the defects of docs/data-defects.md in the provider's data, one set-based statement
/// per kind whatever the number of customers: for `supportbill check` (everything, read-only),
/// and for the runner, which skips a run's customers whose defects no job detects by itself
/// (`blocking`).
///
/// Each statement reads the rows as the jobs read them and names the row to correct. Values only
/// ever travel as parameters; `format()` builds the human-readable detail from column values.
public enum DataDefectScanner {
    /// Prices above this many minor units (10^15: ten trillion dollars) are taken for a data
    /// error: a month of hours at such a rate overflows 64-bit arithmetic.
    public static let priceLimit: Int64 = 1_000_000_000_000_000

    /// monthly-rollup's default `lookback_months` (jobs/monthly-rollup.toml): `check` reads no
    /// job parameters, so a late entry is one older than the default window.
    public static let rollupLookbackMonths = 3

    /// An entry dated later than this after as-of is a typo, not work waiting for its month
    /// (replays and `simulate` legitimately see entries days or weeks after their as-of).
    public static let futureLimit = "1 year"

    /// Every defect of `kinds` among `customers` (nil: all customers), ordered by customer, kind
    /// and row. `asOf` places "the future" and "a term that has not ended".
    public static func scan(_ db: PostgresConnection, asOf: Instant, customers: [Int64]? = nil, kinds: [DataDefectKind] = DataDefectKind.allCases) throws -> [DataDefect] {
        var defects: [DataDefect] = []
        for kind in Set(kinds).sorted() {
            if kind == .unknownTimeZone {
                defects += try unknownTimeZones(db, customers: customers)
                continue
            }
            guard let (entity, sql, second) = statement(kind) else { continue }
            var binds: [any PostgresEncodable] = [customers]
            switch second {
            case .none: break
            case .asOf: binds.append(asOf)
            case .priceLimit: binds.append(priceLimit)
            }
            for row in try db.query(sql, binds) {
                let jobs = try row.decode(3, as: [String].self)
                defects.append(DataDefect(
                    customerID: try row.decode(0, as: Int64?.self), kind: kind, entity: entity, entityID: try row.decode(1),
                    detail: try row.decode(2), jobs: JobOrder.sorted(jobs)))
            }
        }
        return defects.sorted { ($0.customerID ?? .max, $0.kind, $0.entityID) < ($1.customerID ?? .max, $1.kind, $1.entityID) }
    }

    /// The customers of `customers` that `job` must skip for a defect of `skipped`, the kinds
    /// the job would otherwise bill around silently (`RegisteredJob.defectsSkippedByRunner`),
    /// with the reason.
    public static func blocking(_ db: PostgresConnection, job: String, skipped: Set<DataDefectKind>, customers: [Int64], asOf: Instant) throws -> [Int64: String] {
        let kinds = DataDefectKind.allCases.filter { skipped.contains($0) }
        guard !customers.isEmpty, !kinds.isEmpty else { return [:] }
        var found: [Int64: [DataDefect]] = [:]
        for defect in try scan(db, asOf: asOf, customers: customers, kinds: kinds) where defect.jobs.contains(job) {
            guard let customer = defect.customerID else { continue }
            found[customer, default: []].append(defect)
        }
        return found.mapValues { list in
            let more = list.count > 1 ? " (and \(list.count - 1) more defect\(list.count == 2 ? "" : "s"): supportbill check lists them)" : ""
            return list[0].detail + more + ", then re-run"
        }
    }

    /// Time zones PostgreSQL does not list, or that BillingCore refuses (POSIX strings such as
    /// `GMT+3`): the runner skips such customers for every job. The distinct zones are few.
    private static func unknownTimeZones(_ db: PostgresConnection, customers: [Int64]?) throws -> [DataDefect] {
        let bad = try unknownTimeZoneNames(db, customers: customers)
        guard !bad.isEmpty else { return [] }
        return try db.query("""
            SELECT id, timezone FROM customers
             WHERE timezone = ANY($2::text[]) AND ($1::bigint[] IS NULL OR id = ANY($1))
            """, [customers, bad]).map { row in
            let zone = try row.decode(1, as: String.self)
            return DataDefect(
                customerID: try row.decode(0, as: Int64.self), kind: .unknownTimeZone, entity: "customers", entityID: try row.decode(0),
                detail: "customer \(try row.decode(0, as: Int64.self)) has the unknown time zone \(zone.debugDescription) (expected an IANA name such as Europe/Berlin): correct customers.timezone",
                jobs: JobOrder.all)
        }
    }

    /// The distinct `customers.timezone` values of `customers` (nil: all) that the runner refuses
    /// (CustomerDirectory): not listed by PostgreSQL, or refused by BillingCore. For statements
    /// that compute customers' local dates in SQL and must leave those customers out.
    static func unknownTimeZoneNames(_ db: PostgresConnection, customers: [Int64]?) throws -> [String] {
        let rows = try db.query("""
            SELECT z.timezone, EXISTS (SELECT 1 FROM pg_timezone_names n WHERE n.name = z.timezone)
              FROM (SELECT DISTINCT timezone FROM customers WHERE $1::bigint[] IS NULL OR id = ANY($1)) z
            """, [customers])
        var bad: [String] = []
        for row in rows {
            let zone = try row.decode(0, as: String.self)
            if !(try row.decode(1, as: Bool.self)) || (try? CustomerTimeZone(zone)) == nil { bad.append(zone) }
        }
        return bad.sorted()
    }

    /// What a statement binds as `$2`, if anything.
    private enum SecondBind {
        case none, asOf, priceLimit
    }

    /// `$1` is the customer filter (NULL: all), `$2` the as-of instant or the price limit.
    /// Columns: customer_id, entity id, detail, jobs.
    private static func statement(_ kind: DataDefectKind) -> (entity: String, sql: String, second: SecondBind)? {
        // The jobs an entry's time goes to, by the plan of its effective service (the entry's,
        // else its own customer's ticket's). Entries with no service go to contracts.
        let entryJobs = """
            (CASE WHEN x.sid IS NULL THEN ARRAY['contract-expiry-rollover'] ELSE '{}'::text[] END
             || CASE p.billing WHEN 'metered' THEN ARRAY['monthly-rollup'] WHEN 'prepaid' THEN ARRAY['threshold-topup'] ELSE '{}'::text[] END)
            """
        let serviceJobs = """
            CASE p.billing WHEN 'prepaid' THEN ARRAY['threshold-topup'] WHEN 'incidents' THEN ARRAY['incident-grants']
                           ELSE ARRAY['monthly-rollup'] END
            """
        let asOfDate = "($2::timestamptz AT TIME ZONE 'UTC')::date"
        switch kind {
        case .unknownTimeZone:
            return nil
        case .missingPrice:
            // A price is needed while the service is billed: not yet ended, or ended within the
            // rollup's default look-back (3 months). A pending service gets its first pack.
            return ("services", """
                SELECT s.customer_id, s.id,
                       format('service %s (plan %s) has no price in %s: add a plan_prices row for plan %s in %s',
                              s.id, p.code, s.currency, p.id, s.currency),
                       CASE WHEN p.billing = 'prepaid' THEN ARRAY['threshold-topup'] ELSE ARRAY['monthly-rollup'] END
                  FROM services s JOIN plans p ON p.id = s.plan_id
                 WHERE p.billing IN ('recurring', 'metered', 'prepaid')
                   AND (p.billing = 'prepaid' OR s.status <> 'pending')
                   AND (s.ends_on IS NULL OR s.ends_on > \(asOfDate) - 92)
                   AND NOT EXISTS (SELECT 1 FROM plan_prices pp WHERE pp.plan_id = s.plan_id AND pp.currency = s.currency)
                   AND ($1::bigint[] IS NULL OR s.customer_id = ANY($1))
                """, .asOf)
        case .zeroTopupAmount:
            return ("services", """
                SELECT s.customer_id, s.id,
                       format('service %s (plan %s) has topup_amount 0 in %s: a pre-paid plan needs a pack price above 0 (plan_prices of plan %s)',
                              s.id, p.code, s.currency, p.id),
                       ARRAY['threshold-topup']
                  FROM services s
                  JOIN plans p ON p.id = s.plan_id AND p.billing = 'prepaid'
                  JOIN plan_prices pp ON pp.plan_id = s.plan_id AND pp.currency = s.currency
                 WHERE pp.topup_amount = 0 AND s.status IN ('pending', 'active')
                   AND (s.ends_on IS NULL OR s.ends_on > \(asOfDate))
                   AND ($1::bigint[] IS NULL OR s.customer_id = ANY($1))
                """, .asOf)
        case .amountOutOfRange:
            return ("services", """
                SELECT s.customer_id, s.id,
                       format('service %s (plan %s) is priced beyond %s minor units in %s (recurring_fee %s, setup_fee %s, hourly_rate %s, topup_amount %s, threshold %s): such amounts overflow 64-bit money arithmetic; correct plan_prices of plan %s',
                              s.id, p.code, $2::bigint, s.currency, pp.recurring_fee, pp.setup_fee, pp.hourly_rate, pp.topup_amount,
                              pp.threshold, p.id),
                       \(serviceJobs)
                  FROM services s
                  JOIN plans p ON p.id = s.plan_id
                  JOIN plan_prices pp ON pp.plan_id = s.plan_id AND pp.currency = s.currency
                 WHERE (greatest(pp.recurring_fee, pp.setup_fee, pp.hourly_rate, pp.topup_amount) > $2::bigint
                        OR pp.threshold > $2::bigint OR pp.threshold < -$2::bigint)
                   AND ($1::bigint[] IS NULL OR s.customer_id = ANY($1))
                """, .priceLimit)
        case .cancelledWithoutEnd:
            return ("services", """
                SELECT s.customer_id, s.id,
                       format('service %s (plan %s) is cancelled but has no ends_on: set the date its term ended', s.id, p.code),
                       ARRAY['monthly-rollup']
                  FROM services s JOIN plans p ON p.id = s.plan_id
                  LEFT JOIN plan_prices pp ON pp.plan_id = s.plan_id AND pp.currency = s.currency
                 WHERE s.status = 'cancelled' AND s.ends_on IS NULL
                   AND (p.billing IN ('recurring', 'metered') OR pp.recurring_fee > 0 OR pp.setup_fee > 0)
                   AND ($1::bigint[] IS NULL OR s.customer_id = ANY($1))
                """, .none)
        case .serviceEndsBeforeStart:
            return ("services", """
                SELECT s.customer_id, s.id,
                       format('service %s ends on %s before it starts on %s: fix its term (ends_on is exclusive)', s.id, s.ends_on, s.starts_on),
                       \(serviceJobs)
                  FROM services s JOIN plans p ON p.id = s.plan_id
                 WHERE s.ends_on < s.starts_on
                   AND ($1::bigint[] IS NULL OR s.customer_id = ANY($1))
                """, .none)
        case .serviceCurrencyChanged:
            return ("services", """
                SELECT DISTINCT ON (s.id) s.customer_id, s.id,
                       format('service %s is now billed in %s but %s was billed in %s: a service cannot change currency once billed (end it and create a new service)',
                              s.id, s.currency, b.rollup_line, b.currency),
                       ARRAY['monthly-rollup']
                  FROM billable_items b JOIN services s ON s.id = b.service_id AND s.customer_id = b.customer_id
                 WHERE b.rollup_line IS NOT NULL AND b.currency <> s.currency
                   AND ($1::bigint[] IS NULL OR s.customer_id = ANY($1))
                 ORDER BY s.id, b.id
                """, .none)
        case .serviceBillingChanged:
            // Time is billed by the job of the service's plan: pre-paid credit (threshold-topup)
            // or monthly invoices (monthly-rollup). The schema keeps no plan history, so a
            // service moved between the two after one of them billed it would be billed again
            // by the other for the same months (or its fees re-billed). Either direction is
            // refused until the service is put back, ended, and a new service takes the new plan.
            return ("services", """
                SELECT s.customer_id, s.id,
                       format('service %s is on %s plan %s but its time was debited from pre-paid credit (credit_ledger): a service cannot move between pre-paid and monthly billing once billed; put it back on its pre-paid plan, end it (ends_on), and create a new service on plan %s',
                              s.id, p.billing, p.code, p.code),
                       ARRAY['monthly-rollup']
                  FROM services s JOIN plans p ON p.id = s.plan_id
                 WHERE p.billing IN ('recurring', 'metered')
                   AND EXISTS (SELECT 1 FROM credit_ledger l WHERE l.customer_id = s.customer_id AND l.service_id = s.id)
                   AND ($1::bigint[] IS NULL OR s.customer_id = ANY($1))
                UNION ALL
                SELECT s.customer_id, s.id,
                       format('service %s is on pre-paid plan %s but monthly-rollup billed it on invoices (billable_items with a rollup_line): a service cannot move between monthly and pre-paid billing once billed; put it back on its monthly plan, end it (ends_on), and create a new service on plan %s',
                              s.id, p.code, p.code),
                       ARRAY['threshold-topup']
                  FROM services s JOIN plans p ON p.id = s.plan_id
                 WHERE p.billing = 'prepaid'
                   -- Usage lines only: the rollup bills the fees of every plan kind (docs/design.md §8),
                   -- so a fee billed for a pre-paid service is no sign of a move.
                   AND EXISTS (SELECT 1 FROM billable_items b
                                WHERE b.customer_id = s.customer_id AND b.service_id = s.id AND b.rollup_line LIKE 'usage:%')
                   AND ($1::bigint[] IS NULL OR s.customer_id = ANY($1))
                """, .none)
        case .entryTicketMissing, .entryTicketOtherCustomer:
            // An entry that falls back to a ticket's service is the rollup's to check when the
            // ticket is missing or another customer's (it might be metered time).
            let condition = kind == .entryTicketMissing ? "t.id IS NULL" : "t.customer_id <> e.customer_id"
            return ("time_entries", """
                SELECT e.customer_id, e.id,
                       CASE WHEN t.id IS NULL
                            THEN format('time entry %s is on ticket %s, which does not exist: correct the entry''s ticket', e.id, e.ticket_id)
                            ELSE format('time entry %s belongs to customer %s but its ticket %s belongs to customer %s: correct the entry or the ticket',
                                        e.id, e.customer_id, t.id, t.customer_id) END,
                       CASE WHEN e.service_id IS NULL THEN ARRAY['monthly-rollup', 'contract-expiry-rollover'] ELSE '{}'::text[] END
                       || CASE p.billing WHEN 'metered' THEN ARRAY['monthly-rollup'] WHEN 'prepaid' THEN ARRAY['threshold-topup'] ELSE '{}'::text[] END
                  FROM time_entries e
                  LEFT JOIN tickets t ON t.id = e.ticket_id
                  LEFT JOIN services s ON s.id = COALESCE(e.service_id, t.service_id)
                  LEFT JOIN plans p ON p.id = s.plan_id
                 WHERE e.billable AND \(condition)
                   AND ($1::bigint[] IS NULL OR e.customer_id = ANY($1))
                """, .none)
        case .entryServiceOtherCustomer:
            return ("time_entries", """
                SELECT e.customer_id, e.id,
                       format('time entry %s is charged to service %s, which %s: correct the entry or its ticket', e.id, x.sid,
                              CASE WHEN s.id IS NULL THEN 'does not exist' ELSE 'belongs to customer ' || s.customer_id END),
                       ARRAY['monthly-rollup'] || CASE WHEN p.billing = 'prepaid' THEN ARRAY['threshold-topup'] ELSE '{}'::text[] END
                  FROM time_entries e
                  LEFT JOIN tickets t ON t.id = e.ticket_id AND t.customer_id = e.customer_id
                  CROSS JOIN LATERAL (SELECT COALESCE(e.service_id, t.service_id) AS sid) x
                  LEFT JOIN services s ON s.id = x.sid
                  LEFT JOIN plans p ON p.id = s.plan_id
                 WHERE e.billable AND x.sid IS NOT NULL AND (s.id IS NULL OR s.customer_id <> e.customer_id)
                   AND ($1::bigint[] IS NULL OR e.customer_id = ANY($1))
                """, .none)
        case .entryFarFuture:
            return ("time_entries", """
                SELECT e.customer_id, e.id,
                       format('time entry %s is dated %s, more than %s after the as-of instant %s: correct its worked_at', e.id,
                              to_char(e.worked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'), '\(futureLimit)',
                              to_char($2::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')),
                       \(entryJobs)
                  FROM time_entries e
                  LEFT JOIN tickets t ON t.id = e.ticket_id AND t.customer_id = e.customer_id
                  CROSS JOIN LATERAL (SELECT COALESCE(e.service_id, t.service_id) AS sid) x
                  LEFT JOIN services s ON s.id = x.sid AND s.customer_id = e.customer_id
                  LEFT JOIN plans p ON p.id = s.plan_id
                 WHERE e.billable AND e.worked_at > $2::timestamptz + interval '\(futureLimit)'
                   AND ($1::bigint[] IS NULL OR e.customer_id = ANY($1))
                """, .asOf)
        case .ticketServiceOtherCustomer:
            return ("tickets", """
                SELECT t.customer_id, t.id,
                       format('ticket %s names service %s, which %s: fix the ticket''s service', t.id, t.service_id,
                              CASE WHEN s.id IS NULL THEN 'does not exist' ELSE 'belongs to customer ' || s.customer_id END),
                       CASE WHEN s.id IS NOT NULL AND t.requires_incident THEN ARRAY['incident-grants'] ELSE '{}'::text[] END
                  FROM tickets t LEFT JOIN services s ON s.id = t.service_id
                 WHERE t.service_id IS NOT NULL AND (s.id IS NULL OR s.customer_id <> t.customer_id)
                   AND ($1::bigint[] IS NULL OR t.customer_id = ANY($1))
                """, .none)
        case .ticketItemOtherCustomer:
            // Only tickets no service bills: their time is charged to contracts, and a contract
            // of this item is another customer's.
            return ("tickets", """
                SELECT t.customer_id, t.id,
                       format('ticket %s names item %s (%s), which belongs to customer %s: correct the ticket''s item',
                              t.id, i.id, i.name, i.customer_id),
                       ARRAY['contract-expiry-rollover']
                  FROM tickets t JOIN items i ON i.id = t.item_id
                 WHERE i.customer_id IS NOT NULL AND i.customer_id <> t.customer_id AND t.service_id IS NULL
                   AND ($1::bigint[] IS NULL OR t.customer_id = ANY($1))
                """, .none)
        case .paymentCurrencyMismatch:
            return ("payments", """
                SELECT p.customer_id, p.id,
                       format('payment %s is in %s but the %s invoice it pays, %s, is in %s: correct the payment (a payment pays an invoice in its currency)',
                              p.id, p.currency, i.kind, i.id, i.currency),
                       CASE WHEN i.kind = 'topup' THEN ARRAY['suspension-sweep', 'threshold-topup'] ELSE ARRAY['suspension-sweep'] END
                  FROM payments p JOIN invoices i ON i.id = p.invoice_id AND i.customer_id = p.customer_id
                 WHERE p.status = 'completed' AND p.currency <> i.currency
                   AND ($1::bigint[] IS NULL OR p.customer_id = ANY($1))
                """, .none)
        case .paymentOtherCustomerInvoice:
            return ("payments", """
                SELECT p.customer_id, p.id,
                       format('payment %s names invoice %s, which %s: it pays no invoice until its invoice_id is corrected', p.id, p.invoice_id,
                              CASE WHEN i.id IS NULL THEN 'does not exist' ELSE 'belongs to customer ' || i.customer_id END),
                       '{}'::text[]
                  FROM payments p LEFT JOIN invoices i ON i.id = p.invoice_id
                 WHERE p.status = 'completed' AND p.invoice_id IS NOT NULL AND (i.id IS NULL OR i.customer_id <> p.customer_id)
                   AND ($1::bigint[] IS NULL OR p.customer_id = ANY($1))
                """, .none)
        case .invoiceItemOtherCustomerService:
            return ("invoices", """
                SELECT DISTINCT ON (b.invoice_id, b.service_id) b.customer_id, b.invoice_id,
                       format('invoice %s has an item for service %s, which is not a service of customer %s: correct services.customer_id of service %s',
                              b.invoice_id, b.service_id, b.customer_id, b.service_id),
                       ARRAY['suspension-sweep']
                  FROM billable_items b
                  JOIN invoices i ON i.id = b.invoice_id AND i.customer_id = b.customer_id
                  LEFT JOIN services s ON s.id = b.service_id
                 WHERE i.status = 'issued' AND b.service_id IS NOT NULL AND (s.id IS NULL OR s.customer_id <> b.customer_id)
                   AND ($1::bigint[] IS NULL OR b.customer_id = ANY($1))
                 ORDER BY b.invoice_id, b.service_id
                """, .none)
        case .lateEntryBeforeWindow:
            // The notes of sql/150 left in months the rollup's timer runs no longer re-rate: a few
            // rows read through (customer_id, worked_at), never the history of time_entries. One
            // row per customer and local month, naming its first entry and the command.
            return ("time_entries", """
                SELECT q.customer_id, min(q.time_entry_id),
                       format('%s time entr%s of customer %s in %s (entry %s%s) changed after the month left monthly-rollup''s window of %s months: no timer run bills %s; run supportbill run monthly-rollup --period %s --customer %s',
                              count(DISTINCT q.time_entry_id), CASE WHEN count(DISTINCT q.time_entry_id) = 1 THEN 'y' ELSE 'ies' END,
                              q.customer_id, to_char(x.month, 'YYYY-MM'), min(q.time_entry_id),
                              CASE WHEN count(DISTINCT q.time_entry_id) > 1 THEN ', ...' ELSE '' END, \(rollupLookbackMonths),
                              CASE WHEN count(DISTINCT q.time_entry_id) = 1 THEN 'it' ELSE 'them' END,
                              to_char(x.month, 'YYYY-MM'), q.customer_id),
                       '{}'::text[]
                  FROM rollup_entry_changes q
                  -- Customers whose zone PostgreSQL knows (unknown_time_zone lists the others),
                  -- fenced so that no zone is converted before the filter.
                  JOIN (SELECT id, timezone FROM customers WHERE timezone IN (SELECT name FROM pg_timezone_names) OFFSET 0) c
                    ON c.id = q.customer_id
                 CROSS JOIN LATERAL (SELECT date_trunc('month', q.worked_at AT TIME ZONE c.timezone)::date AS month) x
                 WHERE q.worked_at < ((date_trunc('month', $2::timestamptz AT TIME ZONE c.timezone)
                                       - interval '\(rollupLookbackMonths) months')::timestamp AT TIME ZONE c.timezone)
                   AND ($1::bigint[] IS NULL OR q.customer_id = ANY($1))
                 GROUP BY q.customer_id, x.month
                """, .asOf)
        case .invoiceNumberGap:
            // Per counter: the values 1..last_value every issued invoice should hold, against
            // what the invoices hold (the UNIQUE index on the counter's columns serves both). One
            // row per counter, named by its first missing or repeated value. Customers have no
            // part in it: nothing when the check is filtered by customer.
            return ("invoice_counters", """
                WITH used AS (
                    SELECT number_series AS series, number_credit_note AS credit_note, number_year AS year, number_value AS value,
                           count(*) AS uses
                      FROM invoices WHERE number_value IS NOT NULL AND $1::bigint[] IS NULL
                     GROUP BY 1, 2, 3, 4
                ), counters AS (
                    SELECT series, credit_note, year, last_value FROM invoice_counters WHERE $1::bigint[] IS NULL
                    UNION
                    SELECT series, credit_note, year, 0 FROM used
                     WHERE (series, credit_note, year) NOT IN (SELECT series, credit_note, year FROM invoice_counters)
                ), problems AS (
                    SELECT c.series, c.credit_note, c.year, c.last_value,
                           (SELECT count(*) FROM generate_series(1, c.last_value) g(value)
                             WHERE NOT EXISTS (SELECT 1 FROM used u WHERE (u.series, u.credit_note, u.year, u.value) = (c.series, c.credit_note, c.year, g.value))) AS missing,
                           (SELECT min(g.value) FROM generate_series(1, c.last_value) g(value)
                             WHERE NOT EXISTS (SELECT 1 FROM used u WHERE (u.series, u.credit_note, u.year, u.value) = (c.series, c.credit_note, c.year, g.value))) AS first_missing,
                           (SELECT count(*) FROM used u WHERE (u.series, u.credit_note, u.year) = (c.series, c.credit_note, c.year) AND (u.uses > 1 OR u.value > c.last_value)) AS wrong,
                           (SELECT min(u.value) FROM used u WHERE (u.series, u.credit_note, u.year) = (c.series, c.credit_note, c.year) AND (u.uses > 1 OR u.value > c.last_value)) AS first_wrong
                      FROM counters c
                )
                SELECT NULL::bigint, COALESCE(least(first_missing, first_wrong), 0),
                       format('the %s counter of invoice series %s%s stands at %s but %s: numbers are given gap-free by supportbill, so invoices were edited, deleted or numbered outside it; find who changed them before sending more',
                              CASE WHEN credit_note THEN 'credit-note' ELSE 'invoice' END, series,
                              CASE WHEN year <> 0 THEN ' (' || year || ')' ELSE '' END, last_value,
                              concat_ws(' and ',
                                  CASE WHEN missing > 0 THEN missing || ' number' || CASE WHEN missing = 1 THEN ' is' ELSE 's are' END || ' missing (the first: ' || first_missing || ')' END,
                                  CASE WHEN wrong > 0 THEN wrong || ' number' || CASE WHEN wrong = 1 THEN ' is' ELSE 's are' END || ' repeated or beyond the counter (the first: ' || first_wrong || ')' END)),
                       '{}'::text[]
                  FROM problems WHERE missing > 0 OR wrong > 0
                """, .none)
        case .contractIncomplete:
            // The rules of BillingCore's SupportContract.defect. A contract of an org unit names
            // no customer; one of an item names the item's owner, if any.
            return ("contracts", """
                SELECT COALESCE(k.customer_id, i.customer_id), k.id,
                       CASE WHEN k.kind = 'support_hours' AND k.minutes_total IS NULL
                            THEN format('contract #%s is support_hours but has no minutes_total (a support_hours contract is a number of hours)', k.id)
                            WHEN k.kind = 'time_limited' AND (k.minutes_total IS NULL OR k.ends_on IS NULL)
                            THEN format('contract #%s is time_limited but lacks %s (a time_limited contract needs both an end date and minutes_total, whichever runs out first)',
                                        k.id, CASE WHEN k.ends_on IS NULL THEN 'ends_on' ELSE 'minutes_total' END)
                            ELSE format('contract #%s ends (ends_on %s) on or before it starts (starts_on %s)', k.id, k.ends_on, k.starts_on) END,
                       ARRAY['contract-expiry-rollover']
                  FROM contracts k LEFT JOIN items i ON i.id = k.item_id
                 WHERE k.status <> 'expired'
                   AND ((k.kind = 'support_hours' AND k.minutes_total IS NULL)
                        OR (k.kind = 'time_limited' AND (k.minutes_total IS NULL OR k.ends_on IS NULL))
                        OR k.ends_on <= k.starts_on)
                   AND ($1::bigint[] IS NULL OR COALESCE(k.customer_id, i.customer_id) = ANY($1))
                """, .none)
        }
    }

    /// Job names in `JobName`'s order (the README's), for stable output.
    enum JobOrder {
        static let all = JobName.allCases.map(\.rawValue)

        static func sorted(_ jobs: [String]) -> [String] {
            Array(Set(jobs)).sorted { (all.firstIndex(of: $0) ?? .max, $0) < (all.firstIndex(of: $1) ?? .max, $1) }
        }
    }
}
