import BillingCore
import Postgres

/// Reads one customer's `UsageReport`: a handful of queries for the one customer and month.
public enum UsageReportReader {
    public struct NotFound: Error, CustomStringConvertible, Sendable {
        public let customerID: Int64
        public var description: String { "no such customer: \(customerID)" }
    }

    public static func read(_ db: PostgresConnection, customerID: Int64, month: YearMonth) throws -> UsageReport {
        let start = month.firstDay, end = month.next.firstDay
        // The end of the month is the as-of instant that decides the customer's time zone checks.
        let lookup = try CustomerDirectory.load(db, ids: [customerID], asOf: Instant(utc: end))
        if let defect = lookup.defects.first { throw BillingError.invalidInput("customer \(customerID): \(defect.reason)") }
        guard let customer = lookup.customers.first else { throw NotFound(customerID: customerID) }

        // Entries of the local month, with the increment of their service's plan and their
        // contract charges.
        var entries: [UsageReport.Entry] = []
        var roundedByService: [Int64: Int64] = [:]
        for row in try db.query("""
            SELECT e.id, e.ticket_id, t.subject, coalesce(e.service_id, t.service_id) AS service_id, e.worked_at,
                   (e.worked_at AT TIME ZONE c.timezone)::date, e.minutes, coalesce(p.increment_minutes, 1), e.billable,
                   e.staff, e.note,
                   coalesce((SELECT json_agg(json_build_object('contract_id', cc.contract_id, 'minutes', cc.minutes, 'outcome', cc.outcome) ORDER BY cc.id)
                               FROM contract_charges cc WHERE cc.customer_id = e.customer_id AND cc.time_entry_id = e.id), '[]')
              FROM time_entries e
              JOIN customers c ON c.id = e.customer_id
              LEFT JOIN tickets t ON t.id = e.ticket_id
              LEFT JOIN services s ON s.id = coalesce(e.service_id, t.service_id) AND s.customer_id = e.customer_id
              LEFT JOIN plans p ON p.id = s.plan_id
             WHERE e.customer_id = $1
               AND e.worked_at >= ($2::date::timestamp AT TIME ZONE c.timezone)
               AND e.worked_at < ($3::date::timestamp AT TIME ZONE c.timezone)
             ORDER BY e.worked_at, e.id
            """, [customerID, start, end]) {
            let minutes = try row.decode(6, as: Int.self)
            let increment = try row.decode(7, as: Int.self)
            let rounded = Int(try MoneyMath.roundUp(minutes: Int64(minutes), toIncrement: Int64(increment)))
            let serviceID = try row.decode(3, as: Int64?.self)
            let billable = try row.decode(8, as: Bool.self)
            if billable, let serviceID { roundedByService[serviceID, default: 0] += Int64(rounded) }
            let charges = try row.decode(11, as: JSONValue.self).arrayValue ?? []
            entries.append(UsageReport.Entry(
                id: try row.decode(0), ticketID: try row.decode(1), ticketSubject: try row.decode(2, as: String?.self) ?? "",
                serviceID: serviceID, workedAt: try row.decode(4), localDate: try row.decode(5), minutes: minutes,
                roundedMinutes: rounded, billable: billable, staff: try row.decode(9, as: String?.self),
                note: try row.decode(10, as: String?.self),
                charges: charges.map { UsageReport.Charge(contractID: $0["contract_id"]?.intValue, minutes: Int($0["minutes"]?.intValue ?? 0), outcome: $0["outcome"]?.stringValue ?? "") }
            ))
        }

        let services = try db.query("""
            SELECT s.id, p.code, p.name, p.billing, s.status, p.included_minutes, p.increment_minutes, pp.hourly_rate,
                   CASE WHEN p.billing = 'prepaid' THEN (SELECT coalesce(sum(l.amount), 0)::bigint FROM credit_ledger l
                                                          WHERE l.customer_id = s.customer_id AND l.service_id = s.id) END,
                   CASE WHEN p.billing = 'prepaid' THEN (SELECT coalesce(sum(l.amount), 0)::bigint FROM credit_ledger l
                                                           JOIN time_entries e ON e.id = l.time_entry_id
                                                          WHERE l.customer_id = s.customer_id AND l.service_id = s.id
                                                            AND e.worked_at >= ($2::date::timestamp AT TIME ZONE c.timezone)
                                                            AND e.worked_at < ($3::date::timestamp AT TIME ZONE c.timezone)) END
              FROM services s
              JOIN customers c ON c.id = s.customer_id
              JOIN plans p ON p.id = s.plan_id
              LEFT JOIN plan_prices pp ON pp.plan_id = p.id AND pp.currency = s.currency
             WHERE s.customer_id = $1
             ORDER BY s.id
            """, [customerID, start, end]).map { row in
            let id = try row.decode(0, as: Int64.self)
            return UsageReport.Service(
                id: id, planCode: try row.decode(1), planName: try row.decode(2), billing: try row.decode(3),
                status: try row.decode(4), includedMinutes: try row.decode(5), incrementMinutes: try row.decode(6),
                hourlyRate: try row.decode(7, as: Int64?.self), roundedMinutes: roundedByService[id] ?? 0,
                creditBalance: try row.decode(8, as: Int64?.self), creditDebitedThisMonth: try row.decode(9, as: Int64?.self)
            )
        }

        let incidents = try require2(try db.query("""
            SELECT b.time_limited, b.lifetime,
                   (SELECT count(*) FROM incident_uses u JOIN tickets t ON t.id = u.ticket_id
                     WHERE u.customer_id = $1 AND u.returned_at IS NULL
                       AND t.opened_at >= ($3::date::timestamp AT TIME ZONE $4)
                       AND t.opened_at < ($5::date::timestamp AT TIME ZONE $4))::int
              FROM incident_balance($1, $2::date) b
            """, [customerID, end.adding(days: -1), start, customer.timeZone.identifier, end]).first)

        let contracts = try db.query("""
            SELECT u.contract_id, u.kind, u.status, cc.scope, u.minutes_limit, u.minutes_used, u.minutes_left
              FROM (SELECT DISTINCT ON (contract_id) contract_id, scope FROM customer_contracts WHERE customer_id = $1
                     ORDER BY contract_id, scope) cc
              JOIN contract_usage u ON u.contract_id = cc.contract_id
             ORDER BY u.contract_id
            """, [customerID]).map { row in
            UsageReport.Contract(id: try row.decode(0), kind: try row.decode(1), status: try row.decode(2), scope: try row.decode(3),
                                 minutesLimit: try row.decode(4, as: Int64?.self), minutesUsed: try row.decode(5),
                                 minutesLeft: try row.decode(6, as: Int64?.self))
        }

        // Items of the month: those dated in it, and top-ups invoiced in it.
        let items = try db.query("""
            SELECT b.id, b.kind, b.description, b.service_id, b.quantity, b.unit_price, b.amount, b.invoice_id, i.status,
                   i.number, b.tax_rate, b.tax_percent
              FROM billable_items b
              LEFT JOIN invoices i ON i.id = b.invoice_id AND i.customer_id = b.customer_id
             WHERE b.customer_id = $1
               AND ((b.period_start >= $2 AND b.period_start < $3 AND b.kind <> 'recurring_fee')
                    OR (b.kind = 'recurring_fee' AND i.period_start >= $2 AND i.period_start < $3)
                    OR (b.period_start IS NULL AND i.issued_at >= ($2::date::timestamp AT TIME ZONE $4)
                                              AND i.issued_at < ($3::date::timestamp AT TIME ZONE $4)))
             ORDER BY b.invoice_id NULLS LAST, b.id
            """, [customerID, start, end, customer.timeZone.identifier]).map { row in
            var item = UsageReport.Item(id: try row.decode(0), kind: try row.decode(1), description: try row.decode(2),
                             serviceID: try row.decode(3, as: Int64?.self), quantity: try row.decode(4), unitPrice: try row.decode(5),
                             amount: try row.decode(6), invoiceID: try row.decode(7, as: Int64?.self), invoiceStatus: try row.decode(8, as: String?.self))
            item.invoiceNumber = try row.decode(9, as: String?.self)
            item.taxRate = try row.decode(10, as: String?.self)
            item.taxPercent = try row.decode(11, as: ExactDecimal?.self)?.normalized
            return item
        }

        // The invoices of those items as documents: net, tax per rate, gross, note.
        let invoiceIDs = Array(Set(items.compactMap(\.invoiceID))).sorted()
        var taxes: [Int64: [InvoiceView.Tax]] = [:]
        for row in try db.query("""
            SELECT invoice_id, tax_rate, tax_percent, base, tax FROM invoice_taxes
             WHERE customer_id = $1 AND invoice_id = ANY($2::bigint[]) ORDER BY invoice_id, tax_rate, tax_percent
            """, [customerID, invoiceIDs]) {
            taxes[try row.decode(0, as: Int64.self), default: []].append(InvoiceView.Tax(
                rate: try row.decode(1), percent: try row.decode(2, as: ExactDecimal.self).normalized, base: try row.decode(3), tax: try row.decode(4)))
        }
        let invoices = try db.query("""
            SELECT id, number, status, subtotal, tax_total, total, tax_note FROM invoices
             WHERE customer_id = $1 AND id = ANY($2::bigint[]) ORDER BY id
            """, [customerID, invoiceIDs]).map { row in
            let id = try row.decode(0, as: Int64.self)
            return UsageReport.Invoice(id: id, number: try row.decode(1, as: String?.self), status: try row.decode(2),
                                       subtotal: try row.decode(3), taxTotal: try row.decode(4), total: try row.decode(5),
                                       taxNote: try row.decode(6, as: String?.self), taxes: taxes[id] ?? [])
        }

        var report = UsageReport(
            customerID: customer.id, customerName: customer.name, currency: customer.currency,
            timeZone: customer.timeZone.identifier, month: month, services: services, entries: entries,
            incidentsTimeLimited: try incidents.decode(0), incidentsLifetime: try incidents.decode(1),
            incidentsUsedThisMonth: try incidents.decode(2), contracts: contracts, items: items
        )
        report.invoices = invoices
        return report
    }

    private static func require2<T>(_ value: T?) throws -> T {
        guard let value else { throw PostgresError.usage("the incident balance returned no row") }
        return value
    }
}
