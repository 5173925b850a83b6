import BillingCore
import Postgres

/// Writes a batch's monthly-rollup plans with a fixed number of bulk statements (unnest
/// arrays), whatever the number of customers: invoices are created as drafts, filled, taxed
/// (tax rows per rate), checked (subtotal = sum of items) and only then issued, as the
/// immutability triggers require.
///
/// New rows are inserted with `ON CONFLICT (customer_id, source_key) DO NOTHING RETURNING`: a planned key that
/// already exists means the data changed under the plan, and the customer's batch is refused
/// rather than billed twice.
public enum MonthlyRollupWriter {
    /// Ids of what was written, by source key.
    public struct Written: Sendable {
        public var invoiceIDs: [String: Int64] = [:]
        public var itemIDs: [String: Int64] = [:]
        /// What issuing gave each invoice, by source key: its number and the instant it was
        /// issued at (never before its counter's last issue: docs/invoices.md, "Numbers").
        public var issued: [String: (number: String, at: Instant)] = [:]
        /// The issued period invoice each new adjustment invoice corrects, by source key.
        public var corrects: [String: Int64] = [:]
    }

    public static func write(_ db: PostgresConnection, plans: [MonthlyRollupPlan], runID: Int64, asOf: Instant) throws -> Written {
        var written = Written()
        var creates: [(customer: Int64, plan: RollupInvoicePlan)] = []
        var corrects: [(customer: Int64, plan: RollupInvoicePlan)] = []
        var removes: [(customer: Int64, plan: RollupInvoicePlan)] = []
        for customerPlan in plans {
            for invoice in customerPlan.invoices {
                switch invoice.action {
                case .create: creates.append((customerPlan.customerID, invoice))
                case .correct: corrects.append((customerPlan.customerID, invoice))
                case .remove: removes.append((customerPlan.customerID, invoice))
                }
            }
        }
        let netted = plans.flatMap { plan in plan.netted.flatMap { netting in netting.itemIDs.map { (plan.customerID, $0, netting.month) } } }
        if !netted.isEmpty {
            // Other jobs' items that net to 0 in their month: settled without an invoice. They
            // must still be uninvoiced (they are locked since loading).
            try expect(db.execute("""
                INSERT INTO rollup_netted_items (customer_id, item_id, month, run_id)
                SELECT x.customer_id, x.item_id, x.month, $4
                  FROM unnest($1::bigint[], $2::bigint[], $3::date[]) AS x(customer_id, item_id, month)
                  JOIN billable_items b ON b.customer_id = x.customer_id AND b.id = x.item_id AND b.invoice_id IS NULL
                ON CONFLICT DO NOTHING
                """, [netted.map(\.0), netted.map(\.1), netted.map { $0.2.firstDay }, runID]), netted.count, "settling netted items")
        }
        guard !(creates.isEmpty && corrects.isEmpty && removes.isEmpty) else { return written }

        // 1. New invoices, as drafts.
        if !creates.isEmpty {
            for row in try db.query("""
                INSERT INTO invoices (customer_id, currency, kind, period_start, period_end, status, total, source_key, run_id,
                                      tax_total, tax_note, corrects_invoice_id)
                SELECT x.customer_id, x.currency, x.kind, x.period_start, x.period_end, 'draft', x.total, x.source_key, $8,
                       x.tax_total, x.tax_note,
                       -- An adjustment names the issued period invoice of the month it corrects
                       -- (docs/invoices.md, "Credit notes"); none when that month had no invoice.
                       CASE WHEN x.kind = 'adjustment' THEN
                           (SELECT p.id FROM invoices p
                             WHERE p.customer_id = x.customer_id AND p.kind = 'period' AND p.period_start = x.period_start
                               AND p.currency = x.currency AND p.status <> 'draft'
                             ORDER BY p.id LIMIT 1)
                       END
                  FROM unnest($1::bigint[], $2::text[], $3::text[], $4::date[], $5::date[], $6::bigint[], $7::text[],
                              $9::bigint[], $10::text[])
                       AS x(customer_id, currency, kind, period_start, period_end, total, source_key, tax_total, tax_note)
                ON CONFLICT (customer_id, source_key) DO NOTHING
                RETURNING id, source_key, corrects_invoice_id
                """, [
                    creates.map(\.customer), creates.map(\.plan.currency), creates.map(\.plan.kind.rawValue),
                    creates.map { $0.plan.month.firstDay }, creates.map { $0.plan.month.next.firstDay },
                    creates.map(\.plan.total), creates.map(\.plan.sourceKey), runID,
                    creates.map(\.plan.taxes.taxTotal), creates.map(\.plan.taxNote),
                ]) {
                let key = try row.decode(1, as: String.self)
                written.invoiceIDs[key] = try row.decode(0, as: Int64.self)
                if let corrected = try row.decode(2, as: Int64?.self) { written.corrects[key] = corrected }
            }
            if let missing = creates.first(where: { written.invoiceIDs[$0.plan.sourceKey] == nil }) {
                throw BillingError.invalidInput("invoice \(missing.plan.sourceKey) already exists although it was not found for customer \(missing.customer): the data changed during the run; re-run")
            }
        }
        for (_, plan) in corrects + removes {
            if let id = plan.existingID { written.invoiceIDs[plan.sourceKey] = id }
        }

        // 2. Items leaving drafts: the rollup's own are deleted, other jobs' become uninvoiced again.
        let deleted = (corrects + removes).flatMap(\.plan.deletedItemIDs)
        if !deleted.isEmpty {
            try expect(db.execute("DELETE FROM billable_items WHERE id = ANY($1::bigint[]) AND rollup_line IS NOT NULL", [deleted]), deleted.count, "deleting items from drafts")
        }
        let detached = removes.flatMap(\.plan.detachedItemIDs)
        if !detached.isEmpty {
            try expect(db.execute("UPDATE billable_items SET invoice_id = NULL WHERE id = ANY($1::bigint[])", [detached]), detached.count, "detaching items from removed drafts")
        }

        // 3. Corrected items of drafts.
        let updates = corrects.flatMap { $0.plan.items.filter { $0.change == .update } }
        if !updates.isEmpty {
            try expect(db.execute("""
                UPDATE billable_items b
                   SET service_id = x.service_id, kind = x.kind, description = x.description, minutes = x.minutes,
                       quantity = x.quantity, unit_price = x.unit_price, amount = x.amount, currency = x.currency,
                       period_start = x.period_start, period_end = x.period_end, included_minutes = x.included_minutes,
                       increment_minutes = x.increment_minutes, tax_rate = x.tax_rate, tax_percent = x.tax_percent, run_id = $13
                  FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::integer[], $6::numeric[], $7::bigint[],
                              $8::bigint[], $9::text[], $10::date[], $11::date[], $12::integer[], $14::integer[], $15::text[],
                              $16::numeric[])
                       AS x(id, service_id, kind, description, minutes, quantity, unit_price, amount, currency, period_start,
                            period_end, included_minutes, increment_minutes, tax_rate, tax_percent)
                 WHERE b.id = x.id
                """, [
                    updates.map { $0.id ?? 0 }, updates.map(\.serviceID), updates.map(\.kind), updates.map(\.description),
                    updates.map(\.minutes), updates.map(\.quantity), updates.map(\.unitPrice), updates.map(\.amount),
                    updates.map(\.currency), updates.map(\.periodStart), updates.map(\.periodEnd), updates.map(\.includedMinutes), runID,
                    updates.map(\.incrementMinutes), updates.map(\.taxRate?.code), updates.map(\.taxRate?.percent),
                ]), updates.count, "correcting items of drafts")
        }

        // 4. New items.
        var inserts: [(customer: Int64, invoiceID: Int64, item: RollupItemPlan)] = []
        for (customer, plan) in creates + corrects {
            guard let invoiceID = written.invoiceIDs[plan.sourceKey] else { continue }
            for item in plan.items where item.change == .insert { inserts.append((customer, invoiceID, item)) }
        }
        if !inserts.isEmpty {
            for row in try db.query("""
                INSERT INTO billable_items (customer_id, service_id, invoice_id, kind, description, minutes, quantity, unit_price,
                                            amount, currency, period_start, period_end, source_key, rollup_line,
                                            included_minutes, increment_minutes, run_id, tax_rate, tax_percent)
                SELECT x.customer_id, x.service_id, x.invoice_id, x.kind, x.description, x.minutes, x.quantity, x.unit_price,
                       x.amount, x.currency, x.period_start, x.period_end, x.source_key, x.rollup_line, x.included_minutes,
                       x.increment_minutes, $16, x.tax_rate, x.tax_percent
                  FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::integer[], $7::numeric[],
                              $8::bigint[], $9::bigint[], $10::text[], $11::date[], $12::date[], $13::text[], $14::text[],
                              $15::integer[], $17::integer[], $18::text[], $19::numeric[])
                       AS x(customer_id, service_id, invoice_id, kind, description, minutes, quantity, unit_price, amount,
                            currency, period_start, period_end, source_key, rollup_line, included_minutes, increment_minutes,
                            tax_rate, tax_percent)
                ON CONFLICT (customer_id, source_key) DO NOTHING
                RETURNING id, source_key
                """, [
                    inserts.map(\.customer), inserts.map(\.item.serviceID), inserts.map(\.invoiceID), inserts.map(\.item.kind),
                    inserts.map(\.item.description), inserts.map(\.item.minutes), inserts.map(\.item.quantity),
                    inserts.map(\.item.unitPrice), inserts.map(\.item.amount), inserts.map(\.item.currency),
                    inserts.map(\.item.periodStart), inserts.map(\.item.periodEnd), inserts.map(\.item.sourceKey),
                    inserts.map { $0.item.line?.key }, inserts.map(\.item.includedMinutes), runID,
                    inserts.map(\.item.incrementMinutes), inserts.map(\.item.taxRate?.code), inserts.map(\.item.taxRate?.percent),
                ]) {
                written.itemIDs[try row.decode(1, as: String.self)] = try row.decode(0, as: Int64.self)
            }
            if let missing = inserts.first(where: { written.itemIDs[$0.item.sourceKey] == nil }) {
                throw BillingError.invalidInput("billable item \(missing.item.sourceKey) already exists on an invoice this run did not find for customer \(missing.customer): check the customer's earlier rollup invoices, then re-run")
            }
        }

        // 5. Other jobs' items attached; they must still be uninvoiced (they are locked since loading).
        // They take the rate they are invoiced at (the customer's, docs/invoices.md "Taxes").
        var attaches: [(id: Int64, invoiceID: Int64, rate: TaxRate?)] = []
        for (_, plan) in creates + corrects {
            guard let invoiceID = written.invoiceIDs[plan.sourceKey] else { continue }
            for item in plan.items where item.change == .attach { if let id = item.id { attaches.append((id, invoiceID, item.taxRate)) } }
        }
        if !attaches.isEmpty {
            try expect(db.execute("""
                UPDATE billable_items b SET invoice_id = x.invoice_id, tax_rate = x.tax_rate, tax_percent = x.tax_percent
                  FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::numeric[]) AS x(id, invoice_id, tax_rate, tax_percent)
                 WHERE b.id = x.id AND b.invoice_id IS NULL
                """, [attaches.map(\.id), attaches.map(\.invoiceID), attaches.map(\.rate?.code), attaches.map(\.rate?.percent)]),
                attaches.count, "attaching other jobs' items")
        }

        // 6. Corrected drafts' totals; removed drafts deleted.
        if !corrects.isEmpty {
            try expect(db.execute("""
                UPDATE invoices i SET total = x.total, tax_total = x.tax_total, tax_note = x.tax_note, run_id = $3
                  FROM unnest($1::bigint[], $2::bigint[], $4::bigint[], $5::text[]) AS x(id, total, tax_total, tax_note)
                 WHERE i.id = x.id AND i.status = 'draft'
                """, [corrects.map { $0.plan.existingID ?? 0 }, corrects.map(\.plan.total), runID,
                      corrects.map(\.plan.taxes.taxTotal), corrects.map(\.plan.taxNote)]), corrects.count, "correcting drafts")
        }
        // Each draft's tax rows, one per rate (issuing checks they match its items).
        try CustomerTaxes.replace(db, (creates + corrects).compactMap { customer, plan in
            written.invoiceIDs[plan.sourceKey].map { (customer, $0, plan.taxes) }
        })
        if !removes.isEmpty {
            try expect(db.execute("DELETE FROM invoices WHERE id = ANY($1::bigint[]) AND status = 'draft'",
                                  [removes.map { $0.plan.existingID ?? 0 }]), removes.count, "removing drafts")
        }

        // 7. Every invoice written adds up, then it is issued.
        let touched = (creates + corrects).compactMap { written.invoiceIDs[$0.plan.sourceKey] }
        let unbalanced = try db.query("""
            SELECT i.id, i.subtotal, COALESCE(sum(b.amount), 0)::bigint
              FROM invoices i LEFT JOIN billable_items b ON b.customer_id = i.customer_id AND b.invoice_id = i.id
             WHERE i.id = ANY($1::bigint[])
             GROUP BY i.id, i.subtotal
            HAVING i.subtotal <> COALESCE(sum(b.amount), 0)
            """, [touched])
        if let row = unbalanced.first {
            throw PostgresError.usage("invoice \(try row.decode(0, as: Int64.self)) would have a subtotal of \(try row.decode(1, as: Int64.self)) but its items sum to \(try row.decode(2, as: Int64.self)); nothing was written")
        }
        let issuing = (creates + corrects).filter { $0.plan.status == "issued" }
        if !issuing.isEmpty {
            let rows = try db.query("""
                UPDATE invoices i SET status = 'issued', issued_at = $3, due_on = x.due_on
                  FROM unnest($1::bigint[], $2::date[]) AS x(id, due_on)
                 WHERE i.id = x.id AND i.status = 'draft'
                RETURNING i.source_key, i.number, i.issued_at
                """, [issuing.map { written.invoiceIDs[$0.plan.sourceKey] ?? 0 }, issuing.map(\.plan.dueOn), asOf])
            for row in rows {
                written.issued[try row.decode(0, as: String.self)] = (try row.decode(1, as: String.self), try row.decode(2, as: Instant.self))
            }
            try expect(rows.count, issuing.count, "issuing invoices")
        }
        return written
    }

    /// A statement that must affect exactly the planned rows; anything else means the data
    /// changed under the plan (a draft issued by hand meanwhile, ...): the batch is rolled back.
    private static func expect(_ affected: Int, _ planned: Int, _ what: String) throws {
        guard affected == planned else {
            throw PostgresError.usage("\(what): \(affected) rows changed where \(planned) were planned; the data changed during the run, nothing was written; re-run")
        }
    }
}
