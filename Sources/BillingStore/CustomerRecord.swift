import BillingCore

/// A customer as every job sees it: identity, currency, time zone and the local date of the
/// run's as-of instant in that zone.
public struct CustomerRecord: Sendable, Hashable {
    public let id: Int64
    public let name: String
    public let currency: Currency
    public let timeZone: CustomerTimeZone
    public let orgUnitID: Int64?
    /// `(as_of AT TIME ZONE customers.timezone)::date`: the date every rule compares against.
    public let localAsOf: LocalDate

    public init(id: Int64, name: String, currency: Currency, timeZone: CustomerTimeZone, orgUnitID: Int64?, localAsOf: LocalDate) {
        self.id = id
        self.name = name
        self.currency = currency
        self.timeZone = timeZone
        self.orgUnitID = orgUnitID
        self.localAsOf = localAsOf
    }
}
