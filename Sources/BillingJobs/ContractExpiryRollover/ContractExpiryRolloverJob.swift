import BillingCore
import BillingStore

/// contract-expiry-rollover (docs/design.md §8, §9; docs/jobs/contract-expiry-rollover.md):
/// activates and expires support contracts, charges billable time that no service bills to the
/// first contract found, rolls over (or ignores) time after a contract expired during a request,
/// and bills requests with no contract at all once per incident. It converges: every run
/// recomputes the batch's charges from today's entries and contracts and appends the
/// difference (minutes given back, new charges, per-incident items and their offsets), then
/// re-judges the status of the contracts whose usage changed (`contract_reactivated`).
///
/// - `prepare`: status transitions of every pending or active contract, and of those this job
///   expired, set-based, once per run (contracts of items and org units belong to no single
///   customer's batch).
/// - `customers`: those with the job's time, charges holding minutes or per-incident items.
/// - `process`: per batch, the entries, tickets, org-unit chains, contracts (locked) and stored
///   charges in a few statements; the pure planner computes the target and
///   `ContractCorrections` the difference; bulk idempotent inserts; then the status of the
///   batch's contracts.
public struct ContractExpiryRolloverJob: BillingJob {
    public static let name = JobName.contractExpiryRollover
    public let parameters: ContractExpiryRolloverParameters
    /// Which corrections are written: all of them, except in the property tests that show a
    /// missing one is caught.
    public let corrections: ContractCorrections.Enabled

    public init(parameters: ContractExpiryRolloverParameters, corrections: ContractCorrections.Enabled = .all) {
        self.parameters = parameters
        self.corrections = corrections
    }

    var planner: ContractExpiryRolloverPlanner {
        ContractExpiryRolloverPlanner(
            expiredTime: parameters.expiredTime == .ignore ? .ignore : .rollover,
            perIncidentPrices: parameters.perIncidentPrice
        )
    }

    public func prepare(_ context: JobContext) throws -> JobOutput {
        var output = JobOutput()
        let candidates = try ContractLifecycleStore.candidates(context.db, asOf: context.asOf, customerFilter: context.customerFilterBind)
        let transitions = lifecycle(candidates, notices: &output.notices)
        let events = try ContractLifecycleStore.apply(context.db, transitions, runID: context.runID, at: context.asOf)
        report(events, into: &output)
        return output
    }

    /// The transitions the candidates are due for; defects and unknown time zones are noticed.
    func lifecycle(_ candidates: [ContractLifecycleStore.Candidate], notices: inout [String]) -> [ContractLifecycle.Transition] {
        var transitions: [ContractLifecycle.Transition] = []
        for candidate in candidates {
            if let defect = candidate.contract.defect {
                notices.append("\(defect): it is neither activated nor expired, and no time is charged to it, until it is fixed")
                continue
            }
            if !candidate.onlyUnknownTimeZones.isEmpty {
                // Its customers' local dates are unknown, and the runner skips them: the contract
                // waits with them (a UTC date would move it, and write its event, for a customer
                // the run reports as skipped).
                let customers = candidate.onlyUnknownTimeZones.map { "customer \($0)" }.joined(separator: ", ")
                notices.append("contract #\(candidate.contract.id) serves only \(customers), with an unknown time zone: it is neither activated nor expired until customers.timezone is corrected")
                continue
            }
            if let transition = ContractLifecycle.transition(of: candidate.contract, earliest: candidate.earliest, latest: candidate.latest,
                                                             generation: candidate.generation) {
                transitions.append(transition)
            }
        }
        return transitions
    }

    public func customers(_ context: JobContext) throws -> [Int64] {
        try ContractBatchLoader.customersWithWork(context.db, asOf: context.asOf, customerFilter: context.customerFilterBind)
    }

    public func process(_ batch: [CustomerRecord], _ context: JobContext) throws -> JobOutput {
        let input = try ContractBatchLoader.load(context.db, customers: batch, asOf: context.asOf)
        let plan = planner.plan(input.customers, contracts: input.contracts)
        var output = JobOutput()
        for skip in plan.skipped { output.skip(skip.customerID, skip.reason) }
        let diff = ContractCorrections.diff(customers: Set(batch.map(\.id)), target: plan, stored: input.stored, incidents: input.incidents,
                                            entryRows: input.entryRows, enabled: corrections)

        let charges = try ContractChargeWriter.insertRows(context.db, diff.rows, runID: context.runID)
        for charge in charges {
            if charge.minutes < 0 {
                output.count("returns")
                output.count("minutes_returned", Int(-charge.minutes))
            } else {
                output.count("charges")
                output.count("minutes_\(charge.outcome)", Int(charge.minutes))
            }
            output.append(.charges, ReportRecord(customerID: charge.customerID, sortKey: charge.sourceKey, fields: [
                ("id", .int(charge.id)), ("customer_id", .int(charge.customerID)), ("time_entry_id", .int(charge.timeEntryID)),
                ("contract_id", charge.contractID.map { .int($0) } ?? .null), ("minutes", .int(charge.minutes)),
                // A correction is told by its negative minutes (and its ce:return: key); the report
                // keeps the columns it always had.
                ("outcome", .string(charge.outcome)), ("source_key", .string(charge.sourceKey)),
            ]))
        }

        let items = try ContractChargeWriter.insertItems(context.db, diff.items + diff.offsets, runID: context.runID)
        for item in items {
            let offset = item.amount < 0
            output.count(offset ? "offsets" : "items")
            output.total(offset ? "per_incident_withdrawn" : "per_incident", offset ? -item.amount : item.amount, item.currency)
            output.append(.items, ReportRecord(customerID: item.customerID, sortKey: item.sourceKey, fields: [
                ("id", .int(item.id)), ("customer_id", .int(item.customerID)), ("service_id", .null), ("invoice_id", .null),
                ("kind", "per_incident"), ("description", .string(item.description)), ("minutes", .null), ("quantity", .int(offset ? -1 : 1)),
                ("unit_price", .int(item.unitPrice)), ("amount", .int(item.amount)), ("currency", .string(item.currency.rawValue)),
                ("period_start", .string(item.periodStart.description)), ("period_end", .string(item.periodEnd.description)),
                ("source_key", .string(item.sourceKey)),
            ]))
        }

        // Why minutes went back and charges were withdrawn: one event each, keyed by what it explains.
        let written = Set(charges.map(\.sourceKey)).union(items.map(\.sourceKey))
        var events: [(customerID: Int64, entity: String, entityID: Int64, event: String, detail: JSONValue, sourceKey: String)] = []
        for returned in diff.returned {
            guard let first = diff.rows.first(where: { $0.entryID == returned.entryID && $0.customerID == returned.customerID && $0.correction }),
                  written.contains(first.sourceKey) else { continue }
            events.append((returned.customerID, "time_entry", returned.entryID, "contract_minutes_returned", .object([
                ("reason", .string(returned.reason)),
                ("returned", .array(returned.slots.map { slot in
                    .object([("contract_id", slot.slot.contractID.map { .int($0) } ?? .null), ("outcome", .string(slot.slot.outcome.rawValue)),
                             ("minutes", .int(slot.minutes))])
                })),
            ]), "ce:returned:\(first.sourceKey)"))
        }
        for offset in diff.offsets where written.contains(offset.sourceKey) {
            events.append((offset.customerID, "billable_item", items.first { $0.sourceKey == offset.sourceKey }?.id ?? 0, "per_incident_withdrawn", .object([
                ("ticket_id", .int(offset.ticketID)), ("offsets", .string(offset.offsets ?? "")), ("amount", .int(offset.amount)),
                ("currency", .string(offset.currency.rawValue)),
                ("reason", .string("the ticket has no billable time left that no contract covers")),
            ]), "ce:withdrawn:\(offset.sourceKey)"))
        }
        report(try ContractChargeWriter.insertEvents(context.db, events, runID: context.runID, at: context.asOf), into: &output)

        // The batch changed what its contracts hold: expire those used up, reactivate those
        // that have minutes again (and their end ahead).
        let touched = Set(charges.compactMap(\.contractID))
        if !touched.isEmpty {
            var ignored: [String] = []
            let candidates = try ContractLifecycleStore.candidates(context.db, asOf: context.asOf, customerFilter: nil, contracts: touched.sorted())
            report(try ContractLifecycleStore.apply(context.db, lifecycle(candidates, notices: &ignored), runID: context.runID, at: context.asOf),
                   into: &output)
        }

        for waiting in plan.waiting where !output.skipped.contains(where: { $0.customerID == waiting.customerID }) {
            output.count("minutes_waiting", Int(waiting.minutes))
            output.notices.append(
                "customer \(waiting.customerID), ticket #\(waiting.ticketID): \(waiting.minutes) min in \(waiting.entries) "
                    + "\(waiting.entries == 1 ? "entry waits" : "entries wait") for a contract to roll over to (contract "
                    + "#\(waiting.expiredContractID) expired during the request and expired_time is \"rollover\"); "
                    + "add a contract, or set expired_time = \"ignore\""
            )
        }
        return output
    }

    private func report(_ events: [ContractAuditEvent], into output: inout JobOutput) {
        for event in events {
            switch event.event {
            case "contract_activated": output.count("activated")
            case "contract_reactivated": output.count("reactivated")
            case "contract_expired": output.count("expired")
            default: break
            }
            output.append(.events, ReportRecord(customerID: event.customerID, sortKey: event.sourceKey, fields: [
                ("id", .int(event.id)), ("at", .string(event.at.description)),
                ("customer_id", event.customerID.map { .int($0) } ?? .null), ("entity", .string(event.entity)),
                ("entity_id", .int(event.contractID)), ("event", .string(event.event)), ("detail", event.detail),
                ("source_key", .string(event.sourceKey)),
            ]))
        }
    }
}
