import BillingCore
import Postgres

/// Writes incident-grants plans with a fixed number of set-based statements per batch. Every
/// write is idempotent: inserts are `ON CONFLICT (customer_id, source_key) DO NOTHING`, revocations and
/// returns only touch rows not revoked or returned yet, and audit events carry a source key.
/// What comes back is only what this call changed, for the report.
public enum IncidentGrantsWriter {
    public struct GrantRow: Sendable, Equatable {
        public let id: Int64
        public let customerID: Int64
        public let serviceID: Int64?
        public let quantity: Int
        public let lifetime: Bool
        public let validFrom: LocalDate
        public let validUntil: LocalDate?
        public let source: String
        public let sourceKey: String
        public let paymentID: Int64?
        public let fundsAmount: Int64?
        public let fundsCurrency: CurrencyCode?
    }

    public struct UseRow: Sendable, Equatable {
        public let id: Int64
        public let customerID: Int64
        public let grantID: Int64
        public let ticketID: Int64
        public let usedAt: Instant
        public let sourceKey: String
    }

    public struct EventRow: Sendable, Equatable {
        public let id: Int64
        public let customerID: Int64
        public let at: Instant
        public let entity: String
        public let entityID: Int64
        public let event: String
        public let detail: JSONValue
        public let sourceKey: String
    }

    public struct Written: Sendable {
        public var grants: [GrantRow] = []
        public var uses: [UseRow] = []
        public var events: [EventRow] = []
    }

    public static func persist(_ db: PostgresConnection, _ plans: [(customerID: Int64, plan: IncidentGrantsPlan)], runID: Int64, asOf: Instant) throws -> Written {
        var written = Written()
        var events: [(customerID: Int64, entity: String, entityID: Int64, event: String, detail: JSONValue, key: String)] = []

        // 1. Revocations. The audit event says why, and how many uses the grant had.
        let revocations = plans.flatMap { entry in entry.plan.revocations.map { (entry.customerID, $0) } }
        if !revocations.isEmpty {
            let revokedIDs = Set(try db.query("""
                UPDATE incident_grants SET revoked_at = $2
                WHERE id = ANY($1::bigint[]) AND revoked_at IS NULL
                RETURNING id
                """, [revocations.map(\.1.grantID), asOf]).map { try $0.decode(0, as: Int64.self) })
            for (customerID, revocation) in revocations where revokedIDs.contains(revocation.grantID) {
                var detail: [(String, JSONValue)] = [
                    ("source", .string(revocation.source.rawValue)), ("source_key", .string(revocation.sourceKey)),
                    ("quantity", .int(Int64(revocation.quantity))), ("used", .int(Int64(revocation.used))),
                ]
                if let payment = revocation.paymentID { detail.append(("payment_id", .int(payment))) }
                detail.append(("reason", .string(revocation.reason)))
                events.append((customerID, "incident_grant", revocation.grantID, "grant_revoked", .object(detail),
                               IncidentGrantsPlanner.Key.revoked(grantSourceKey: revocation.sourceKey)))
            }
        }

        // 2. New grants.
        let grants = plans.flatMap { entry in entry.plan.grants.map { (entry.customerID, $0) } }
        var writtenGrantIDs: [String: Int64] = [:]
        if !grants.isEmpty {
            for row in try db.query("""
                INSERT INTO incident_grants (customer_id, service_id, quantity, lifetime, valid_from, valid_until, source, source_key,
                                             payment_id, funds_amount, funds_currency, run_id)
                SELECT g.customer_id, g.service_id, g.quantity, g.lifetime, g.valid_from, g.valid_until, g.source, g.source_key,
                       g.payment_id, g.funds_amount, g.funds_currency, $12
                FROM unnest($1::bigint[], $2::bigint[], $3::integer[], $4::boolean[], $5::date[], $6::date[], $7::text[], $8::text[],
                            $9::bigint[], $10::bigint[], $11::text[])
                     AS g(customer_id, service_id, quantity, lifetime, valid_from, valid_until, source, source_key,
                          payment_id, funds_amount, funds_currency)
                ON CONFLICT (customer_id, source_key) DO NOTHING
                RETURNING id, source_key
                """, [
                    grants.map(\.0), grants.map(\.1.serviceID), grants.map(\.1.quantity), grants.map(\.1.lifetime),
                    grants.map(\.1.validFrom), grants.map(\.1.validUntil), grants.map(\.1.source.rawValue), grants.map(\.1.sourceKey),
                    grants.map(\.1.paymentID), grants.map(\.1.fundsAmount), grants.map(\.1.fundsCurrency), runID,
                ]) {
                // Only the id comes back: the rest is what was planned (a rerun's conflicts return nothing).
                writtenGrantIDs[try row.decode(1, as: String.self)] = try row.decode(0, as: Int64.self)
            }
            for (customerID, grant) in grants {
                guard let id = writtenGrantIDs[grant.sourceKey] else { continue }
                written.grants.append(GrantRow(
                    id: id, customerID: customerID, serviceID: grant.serviceID, quantity: grant.quantity, lifetime: grant.lifetime,
                    validFrom: grant.validFrom, validUntil: grant.validUntil, source: grant.source.rawValue, sourceKey: grant.sourceKey,
                    paymentID: grant.paymentID, fundsAmount: grant.fundsAmount, fundsCurrency: grant.fundsCurrency))
            }
        }

        // 3. Returns, before new uses: a ticket holds one active use at a time.
        let returns = plans.flatMap { entry in entry.plan.returns.map { (entry.customerID, $0) } }
        if !returns.isEmpty {
            let returnedIDs = Set(try db.query("""
                UPDATE incident_uses SET returned_at = $2
                WHERE id = ANY($1::bigint[]) AND returned_at IS NULL
                RETURNING id
                """, [returns.map(\.1.useID), asOf]).map { try $0.decode(0, as: Int64.self) })
            for (customerID, planned) in returns where returnedIDs.contains(planned.useID) {
                events.append((customerID, "incident_use", planned.useID, "incident_returned", .object([
                    ("ticket_id", .int(planned.ticketID)), ("grant_id", .int(planned.grantID)), ("reason", .string(planned.reason.rawValue)),
                ]), planned.useSourceKey.map { IncidentGrantsPlanner.Key.returned(useSourceKey: $0) }
                    ?? IncidentGrantsPlanner.Key.returned(use: planned.useID)))
            }
        }

        // 4. New uses. A use of a grant made in this run finds its grant by source key.
        let uses = plans.flatMap { entry in entry.plan.uses.map { (entry.customerID, $0) } }
        if !uses.isEmpty {
            var plannedKeys: [String] = []
            for (_, use) in uses { if case .planned(let key) = use.grant { plannedKeys.append(key) } }
            var grantIDs: [String: (customerID: Int64, id: Int64)] = [:]
            for (customerID, grant) in grants {
                if let id = writtenGrantIDs[grant.sourceKey] { grantIDs[grant.sourceKey] = (customerID, id) }
            }
            // A planned grant the insert did not return exists already (written since the batch
            // read the customer's grants): found by its key.
            let missing = plannedKeys.filter { grantIDs[$0] == nil }
            if !missing.isEmpty {
                for row in try db.query("SELECT source_key, customer_id, id FROM incident_grants WHERE source_key = ANY($1::text[])", [missing]) {
                    grantIDs[try row.decode(0)] = (try row.decode(1), try row.decode(2))
                }
            }
            var grantColumn: [Int64] = []
            for (customerID, use) in uses {
                switch use.grant {
                case .existing(let id):
                    grantColumn.append(id)
                case .planned(let key):
                    guard let found = grantIDs[key], found.customerID == customerID else {
                        throw PostgresError.usage("incident grant \(key) planned for customer \(customerID) was not written")
                    }
                    grantColumn.append(found.id)
                }
            }
            for row in try db.query("""
                INSERT INTO incident_uses (customer_id, grant_id, ticket_id, quantity, used_at, source_key, run_id)
                SELECT u.customer_id, u.grant_id, u.ticket_id, 1, u.used_at, u.source_key, $6
                FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::timestamptz[], $5::text[])
                     AS u(customer_id, grant_id, ticket_id, used_at, source_key)
                ON CONFLICT (customer_id, source_key) DO NOTHING
                RETURNING id, customer_id, grant_id, ticket_id, used_at, source_key
                """, [uses.map(\.0), grantColumn, uses.map(\.1.ticketID), uses.map(\.1.usedAt), uses.map(\.1.sourceKey), runID]) {
                written.uses.append(UseRow(
                    id: try row.decode(0), customerID: try row.decode(1), grantID: try row.decode(2), ticketID: try row.decode(3),
                    usedAt: try row.decode(4), sourceKey: try row.decode(5)))
            }
        }

        // 5. The audit trail of what changed.
        if !events.isEmpty {
            for row in try db.query("""
                INSERT INTO audit_events (run_id, at, customer_id, entity, entity_id, event, detail, source_key)
                SELECT $1, $2, e.customer_id, e.entity, e.entity_id, e.event, e.detail, e.source_key
                FROM unnest($3::bigint[], $4::text[], $5::bigint[], $6::text[], $7::jsonb[], $8::text[])
                     AS e(customer_id, entity, entity_id, event, detail, source_key)
                ON CONFLICT (customer_id, source_key) DO NOTHING
                RETURNING id, customer_id, at, entity, entity_id, event, detail, source_key
                """, [runID, asOf, events.map(\.customerID), events.map(\.entity), events.map(\.entityID), events.map(\.event),
                      events.map(\.detail), events.map(\.key)]) {
                written.events.append(EventRow(
                    id: try row.decode(0), customerID: try row.decode(1), at: try row.decode(2), entity: try row.decode(3),
                    entityID: try row.decode(4), event: try row.decode(5), detail: try row.decode(6), sourceKey: try row.decode(7)))
            }
        }
        return written
    }
}
