/// `incident_grants.source`: where a grant came from.
public enum IncidentGrantSource: String, Sendable, Equatable, CaseIterable {
    case planPeriod = "plan_period"
    case planLifetime = "plan_lifetime"
    case registration
    case firstPayment = "first_payment"
    case funds
    case manual
}
