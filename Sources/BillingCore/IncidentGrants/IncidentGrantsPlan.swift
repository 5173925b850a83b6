/// What the incident-grants planner decided for one customer: grants to make, grants to revoke,
/// uses to return, uses to make, and the tickets left without an incident.
public struct IncidentGrantsPlan: Sendable, Equatable {
    /// A grant a use draws on: one already recorded, or one this plan makes (known by its key
    /// until it is inserted).
    public enum GrantRef: Hashable, Sendable, CustomStringConvertible {
        case existing(Int64)
        case planned(String)

        public var description: String {
            switch self {
            case .existing(let id): return "grant \(id)"
            case .planned(let key): return key
            }
        }
    }

    public struct NewGrant: Sendable, Equatable {
        public let sourceKey: String
        public let source: IncidentGrantSource
        public let serviceID: Int64?
        public let quantity: Int
        public let lifetime: Bool
        public let validFrom: LocalDate
        /// Exclusive; nil for lifetime grants.
        public let validUntil: LocalDate?
        public let paymentID: Int64?
        public let fundsAmount: Int64?
        public let fundsCurrency: CurrencyCode?

        public init(sourceKey: String, source: IncidentGrantSource, serviceID: Int64? = nil, quantity: Int, lifetime: Bool, validFrom: LocalDate,
                    validUntil: LocalDate? = nil, paymentID: Int64? = nil, fundsAmount: Int64? = nil, fundsCurrency: CurrencyCode? = nil) {
            self.sourceKey = sourceKey
            self.source = source
            self.serviceID = serviceID
            self.quantity = quantity
            self.lifetime = lifetime
            self.validFrom = validFrom
            self.validUntil = validUntil
            self.paymentID = paymentID
            self.fundsAmount = fundsAmount
            self.fundsCurrency = fundsCurrency
        }
    }

    public struct Revocation: Sendable, Equatable {
        public let grantID: Int64
        public let sourceKey: String
        public let source: IncidentGrantSource
        public let quantity: Int
        /// Uses of the grant not returned when it was revoked (they are returned and their tickets
        /// served again from other grants).
        public let used: Int
        public let paymentID: Int64?
        public let reason: String

        public init(grantID: Int64, sourceKey: String, source: IncidentGrantSource, quantity: Int, used: Int, paymentID: Int64?, reason: String) {
            self.grantID = grantID
            self.sourceKey = sourceKey
            self.source = source
            self.quantity = quantity
            self.used = used
            self.paymentID = paymentID
            self.reason = reason
        }
    }

    public enum ReturnReason: String, Sendable, Equatable {
        /// The ticket's `requires_incident` was cleared.
        case noLongerRequired = "ticket no longer requires an incident"
        /// The ticket no longer exists.
        case ticketGone = "ticket no longer exists"
        /// The grant was revoked; the ticket is served again from another grant if one is left.
        case grantRevoked = "grant revoked"
        /// Today's grants and tickets serve the ticket from another grant (or from none: an
        /// older ticket needs the incident, or the ticket's opening date moved out of the grant).
        case reassigned = "served from another grant, or none is left for it"
        /// The ticket's `opened_at` changed since the use was made: the use is made again with
        /// the new moment (from the grant today's order gives it).
        case reDated = "the ticket's opened_at changed"
    }

    public struct Return: Sendable, Equatable {
        public let useID: Int64
        public let grantID: Int64
        public let ticketID: Int64
        public let reason: ReturnReason
        /// The use's source key (see `IncidentGrantsInput.ActiveUse.sourceKey`).
        public let useSourceKey: String?

        public init(useID: Int64, grantID: Int64, ticketID: Int64, reason: ReturnReason, useSourceKey: String? = nil) {
            self.useID = useID
            self.useSourceKey = useSourceKey
            self.grantID = grantID
            self.ticketID = ticketID
            self.reason = reason
        }
    }

    public struct Use: Sendable, Equatable {
        public let sourceKey: String
        public let grant: GrantRef
        public let ticketID: Int64
        /// When the ticket was opened: the moment the incident was consumed.
        public let usedAt: Instant

        public init(sourceKey: String, grant: GrantRef, ticketID: Int64, usedAt: Instant) {
            self.sourceKey = sourceKey
            self.grant = grant
            self.ticketID = ticketID
            self.usedAt = usedAt
        }
    }

    /// A ticket that requires an incident and found none valid on its opening date.
    public struct Unserved: Sendable, Equatable {
        public let ticketID: Int64
        public let openedOn: LocalDate

        public init(ticketID: Int64, openedOn: LocalDate) {
            self.ticketID = ticketID
            self.openedOn = openedOn
        }
    }

    public var grants: [NewGrant] = []
    public var revocations: [Revocation] = []
    public var returns: [Return] = []
    public var uses: [Use] = []
    public var unserved: [Unserved] = []
    /// Things an operator should read (funds that earn nothing, ...).
    public var notices: [String] = []

    public init() {}

    public var isEmpty: Bool {
        grants.isEmpty && revocations.isEmpty && returns.isEmpty && uses.isEmpty && unserved.isEmpty && notices.isEmpty
    }
}
