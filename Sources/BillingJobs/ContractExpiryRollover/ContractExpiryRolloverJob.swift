import BillingCore
import BillingStore

/// contract-expiry-rollover (DESIGN.md §4; docs/jobs/contract-expiry-rollover.md): activates and
/// expires support contracts, charges billable time that no service bills to the first contract
/// found, rolls over (or ignores) time after a contract expired during a request, and bills
/// requests with no contract at all once per incident.
///
/// - `prepare`: status transitions of every pending or active contract, set-based,
///   once per run (contracts of items and org units belong to no single customer's batch).
/// - `customers`: those with billable time not charged yet, one statement.
/// - `process`: per batch, the entries, tickets, org-unit chains and contracts (locked) in a few
///   statements; the pure planner splits and charges; bulk idempotent inserts; contracts the
///   batch used up expire.
public struct ContractExpiryRolloverJob: BillingJob {
    public static let name = JobName.contractExpiryRollover
    public let parameters: ContractExpiryRolloverParameters

    public init(parameters: ContractExpiryRolloverParameters) {
        self.parameters = parameters
    }

    var planner: ContractExpiryRolloverPlanner {
        ContractExpiryRolloverPlanner(
            expiredTime: parameters.expiredTime == .ignore ? .ignore : .rollover,
            perIncidentPrices: parameters.perIncidentPrice
        )
    }

    public func prepare(_ context: JobContext) throws -> JobOutput {
        var output = JobOutput()
        var transitions: [ContractLifecycle.Transition] = []
        for candidate in try ContractLifecycleStore.candidates(context.db, asOf: context.asOf, customerFilter: context.customerFilterBind) {
            if let defect = candidate.contract.defect {
                output.notices.append("\(defect): it is neither activated nor expired, and no time is charged to it, until it is fixed")
                continue
            }
            if !candidate.onlyUnknownTimeZones.isEmpty {
                // Its customers' local dates are unknown, and the runner skips them: the contract
                // waits with them (a UTC date would move it, and write its event, for a customer
                // the run reports as skipped).
                let customers = candidate.onlyUnknownTimeZones.map { "customer \($0)" }.joined(separator: ", ")
                output.notices.append("contract #\(candidate.contract.id) serves only \(customers), with an unknown time zone: it is neither activated nor expired until customers.timezone is corrected")
                continue
            }
            if let transition = ContractLifecycle.transition(of: candidate.contract, earliest: candidate.earliest, latest: candidate.latest) {
                transitions.append(transition)
            }
        }
        let events = try ContractLifecycleStore.apply(context.db, transitions, runID: context.runID, at: context.asOf)
        report(events, into: &output)
        return output
    }

    public func customers(_ context: JobContext) throws -> [Int64] {
        try ContractBatchLoader.customersWithWork(context.db, asOf: context.asOf, customerFilter: context.customerFilterBind)
    }

    public func process(_ batch: [CustomerRecord], _ context: JobContext) throws -> JobOutput {
        let input = try ContractBatchLoader.load(context.db, customers: batch, asOf: context.asOf)
        let plan = planner.plan(input.customers, contracts: input.contracts)
        var output = JobOutput()
        for skip in plan.skipped { output.skip(skip.customerID, skip.reason) }

        let charges = try ContractChargeWriter.insertCharges(context.db, plan.charges, runID: context.runID)
        for charge in charges {
            output.count("charges")
            output.count("minutes_\(charge.outcome)", Int(charge.minutes))
            output.append(.charges, ReportRecord(customerID: charge.customerID, sortKey: charge.sourceKey, fields: [
                ("id", .int(charge.id)), ("customer_id", .int(charge.customerID)), ("time_entry_id", .int(charge.timeEntryID)),
                ("contract_id", charge.contractID.map { .int($0) } ?? .null), ("minutes", .int(charge.minutes)),
                ("outcome", .string(charge.outcome)), ("source_key", .string(charge.sourceKey)),
            ]))
        }

        let items = try ContractChargeWriter.insertIncidents(context.db, plan.incidents, runID: context.runID)
        for item in items {
            output.count("items")
            output.total("per_incident", item.amount, item.currency)
            output.append(.items, ReportRecord(customerID: item.customerID, sortKey: item.sourceKey, fields: [
                ("id", .int(item.id)), ("customer_id", .int(item.customerID)), ("service_id", .null), ("invoice_id", .null),
                ("kind", "per_incident"), ("description", .string(item.description)), ("minutes", .null), ("quantity", .int(1)),
                ("unit_price", .int(item.unitPrice)), ("amount", .int(item.amount)), ("currency", .string(item.currency.rawValue)),
                ("period_start", .string(item.periodStart.description)), ("period_end", .string(item.periodEnd.description)),
                ("source_key", .string(item.sourceKey)),
            ]))
        }

        let expiries = plan.usedUp.compactMap { ContractLifecycle.usedUp($0.contract, minutesUsed: $0.minutesUsed) }
        report(try ContractLifecycleStore.apply(context.db, expiries, runID: context.runID, at: context.asOf), into: &output)

        for waiting in plan.waiting {
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
            output.count(event.event == "contract_activated" ? "activated" : "expired")
            output.append(.events, ReportRecord(customerID: event.customerID, sortKey: event.sourceKey, fields: [
                ("id", .int(event.id)), ("at", .string(event.at.description)),
                ("customer_id", event.customerID.map { .int($0) } ?? .null), ("entity", "contract"),
                ("entity_id", .int(event.contractID)), ("event", .string(event.event)), ("detail", event.detail),
                ("source_key", .string(event.sourceKey)),
            ]))
        }
    }
}
