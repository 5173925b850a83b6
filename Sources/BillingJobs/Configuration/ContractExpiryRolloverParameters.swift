import BillingCore

/// jobs/contract-expiry-rollover.toml
public struct ContractExpiryRolloverParameters: JobParameters {
    /// What happens to time worked after a contract expired during a request.
    public enum ExpiredTime: String, Sendable, CaseIterable {
        /// Charged to the next contract found (`rolled_over`).
        case rollover
        /// Recorded `ignored` on the expired contract and deducted nowhere.
        case ignore
    }

    public var schedule = "*-*-* 00:15:00 UTC"
    public var expiredTime = ExpiredTime.rollover
    /// Price of one incident for a ticket with no contract at all, per currency, in minor units.
    public var perIncidentPrice: [CurrencyCode: Int64] = [try! CurrencyCode("USD"): 0]

    public init() {}

    public init(reading reader: inout TOMLReader) throws {
        let defaults = Self()
        schedule = try reader.schedule(default: defaults.schedule)
        let expired = try reader.choice("expired_time", default: defaults.expiredTime.rawValue, choices: ExpiredTime.allCases.map(\.rawValue))
        expiredTime = ExpiredTime(rawValue: expired) ?? defaults.expiredTime
        perIncidentPrice = try reader.amounts("per_incident_price", default: defaults.perIncidentPrice)
    }
}
