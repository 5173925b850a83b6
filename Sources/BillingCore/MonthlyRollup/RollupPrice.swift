/// A plan's prices in one currency, minor units.
public struct RollupPrice: Sendable, Hashable {
    public let recurringFee: Int64
    public let setupFee: Int64
    public let hourlyRate: Int64

    public init(recurringFee: Int64, setupFee: Int64, hourlyRate: Int64) {
        self.recurringFee = recurringFee
        self.setupFee = setupFee
        self.hourlyRate = hourlyRate
    }
}
