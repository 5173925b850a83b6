import BillingCore

/// jobs/incident-grants.toml
public struct IncidentGrantsParameters: JobParameters {
    public var schedule = "*-*-* 00:30:00 UTC"
    /// Lifetime incidents granted when a customer registers.
    public var onRegistration = 0
    /// Lifetime incidents granted on the first completed payment (revoked if it is reversed).
    public var onFirstPayment = 0
    /// Funds added to the account (payments without an invoice) per step, per currency, in minor units.
    public var fundsStep: [CurrencyCode: Int64] = [try! CurrencyCode("USD"): 5000]
    /// Lifetime incidents granted per whole step of funds.
    public var fundsIncidents = 0

    public init() {}

    public init(reading reader: inout TOMLReader) throws {
        let defaults = Self()
        schedule = try reader.schedule(default: defaults.schedule)
        onRegistration = try reader.int("on_registration", default: defaults.onRegistration, range: 0...1_000_000)
        onFirstPayment = try reader.int("on_first_payment", default: defaults.onFirstPayment, range: 0...1_000_000)
        if var funds = try reader.table("funds") {
            fundsStep = try funds.amounts("step", default: defaults.fundsStep, minimum: 1)
            fundsIncidents = try funds.int("incidents", default: defaults.fundsIncidents, range: 0...1_000_000)
            try funds.finish()
        }
    }
}
