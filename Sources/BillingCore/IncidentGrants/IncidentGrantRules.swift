/// The account grants of jobs/incident-grants.toml, as the planner sees them (docs/design.md §10).
public struct IncidentGrantRules: Sendable, Equatable {
    /// Lifetime incidents granted once per customer, from its registration date (0: none).
    public var onRegistration: Int
    /// Lifetime incidents granted on the first completed payment (0: none).
    public var onFirstPayment: Int
    /// Funds added to the account per step, per currency, in minor units.
    public var fundsStep: [CurrencyCode: Int64]
    /// Lifetime incidents granted per whole step of funds (0: none).
    public var fundsIncidents: Int

    public init(onRegistration: Int = 0, onFirstPayment: Int = 0, fundsStep: [CurrencyCode: Int64] = [:], fundsIncidents: Int = 0) {
        self.onRegistration = onRegistration
        self.onFirstPayment = onFirstPayment
        self.fundsStep = fundsStep
        self.fundsIncidents = fundsIncidents
    }
}
