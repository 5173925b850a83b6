import BillingCore
import BillingStore
import Postgres

/// incident-grants (docs/design.md §8, §9; docs/jobs/incident-grants.md): grants incidents for
/// incident plans and account events, consumes one incident per ticket that requires one, and
/// converges when the past changes: grants no longer due (a corrected service term, a reversed
/// payment) are revoked, and uses that no longer fit are returned and made again from the
/// grants left.
public struct IncidentGrantsJob: BillingJob {
    public static let name = JobName.incidentGrants
    let parameters: IncidentGrantsParameters
    /// Which corrections are planned: all of them, except in the property test that shows a
    /// missing one is caught.
    let corrections: IncidentGrantsPlanner.Enabled

    public init(parameters: IncidentGrantsParameters, corrections: IncidentGrantsPlanner.Enabled = .all) {
        self.parameters = parameters
        self.corrections = corrections
    }

    var rules: IncidentGrantRules {
        IncidentGrantRules(onRegistration: parameters.onRegistration, onFirstPayment: parameters.onFirstPayment,
                           fundsStep: parameters.fundsStep, fundsIncidents: parameters.fundsIncidents)
    }

    public func customers(_ context: JobContext) throws -> [Int64] {
        return try IncidentGrantsStore.customers(context.db, filter: context.customerFilterBind, asOf: context.asOf,
                                          switches: IncidentGrantsStore.Switches(rules))
    }

    public func process(_ batch: [CustomerRecord], _ context: JobContext) throws -> JobOutput {
        var output = JobOutput()
        let rules = self.rules
        let inputs = try IncidentGrantsStore.load(context.db, customers: batch, asOf: context.asOf, loadFunds: rules.fundsIncidents > 0)
        var plans: [(customerID: Int64, plan: IncidentGrantsPlan)] = []
        for customer in batch {
            guard let input = inputs[customer.id] else { continue }
            do {
                let plan = try IncidentGrantsPlanner.plan(input, rules: rules, enabled: corrections)
                plans.append((customer.id, plan))
                output.notices += plan.notices
                if !plan.unserved.isEmpty {
                    let tickets = plan.unserved.map { "ticket \($0.ticketID) (opened \($0.openedOn))" }.joined(separator: ", ")
                    output.notices.append("customer \(customer.id) (\(customer.name)): no incident available for \(tickets)")
                    output.count("unserved_tickets", plan.unserved.count)
                }
            } catch let error as BillingError {
                output.skip(customer.id, error.message)
            }
        }

        let written = try IncidentGrantsWriter.persist(context.db, plans, runID: context.runID, asOf: context.asOf)
        for grant in written.grants {
            output.count("grants")
            output.count("incidents_granted", grant.quantity)
            output.append(.grants, ReportRecord(customerID: grant.customerID, sortKey: grant.sourceKey, fields: [
                ("id", .int(grant.id)), ("customer_id", .int(grant.customerID)), ("service_id", grant.serviceID.map { .int($0) } ?? .null),
                ("source", .string(grant.source)), ("quantity", .int(Int64(grant.quantity))), ("lifetime", .bool(grant.lifetime)),
                ("valid_from", .string(grant.validFrom.description)),
                ("valid_until", grant.validUntil.map { .string($0.description) } ?? .null),
                ("payment_id", grant.paymentID.map { .int($0) } ?? .null),
                ("funds_amount", grant.fundsAmount.map { .int($0) } ?? .null),
                ("funds_currency", grant.fundsCurrency.map { .string($0.rawValue) } ?? .null),
                ("source_key", .string(grant.sourceKey)),
            ]))
        }
        for use in written.uses {
            output.count("uses")
            output.append(.uses, ReportRecord(customerID: use.customerID, sortKey: use.sourceKey, fields: [
                ("id", .int(use.id)), ("customer_id", .int(use.customerID)), ("grant_id", .int(use.grantID)),
                ("ticket_id", .int(use.ticketID)), ("quantity", 1), ("used_at", .string(use.usedAt.description)),
                ("source_key", .string(use.sourceKey)),
            ]))
        }
        for event in written.events {
            output.count(event.event == "grant_revoked" ? "revoked" : "returned")
            output.append(.events, ReportRecord(customerID: event.customerID, sortKey: event.sourceKey, fields: [
                ("id", .int(event.id)), ("customer_id", .int(event.customerID)), ("at", .string(event.at.description)),
                ("entity", .string(event.entity)), ("entity_id", .int(event.entityID)), ("event", .string(event.event)),
                ("detail", event.detail), ("source_key", .string(event.sourceKey)),
            ]))
        }
        return output
    }
}
