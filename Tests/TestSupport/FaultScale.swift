import Foundation

/// How big the fault tests' month is. CI (CI=true) and a plain `swift test` use the reduced
/// scale so the suite stays within CI's time; the full scale is one environment variable away:
///
///     SUPPORTBILL_FAULT_SCALE=full swift test --filter Fault
///
/// `SUPPORTBILL_FAULT_SCALE` also takes a number of customers.
public struct FaultScale: Sendable, CustomStringConvertible {
    public let customers: Int
    /// Time entries per ticket (three tickets per service).
    public let entriesPerTicket: Int
    /// Customers committed per transaction in the faulted runs: small enough that a run has
    /// many batches to be interrupted between.
    public let batchSize: Int

    public static let reduced = FaultScale(customers: 1500, entriesPerTicket: 8, batchSize: 50)
    public static let full = FaultScale(customers: 8000, entriesPerTicket: 12, batchSize: 200)

    public init(customers: Int, entriesPerTicket: Int, batchSize: Int) {
        self.customers = customers
        self.entriesPerTicket = entriesPerTicket
        self.batchSize = batchSize
    }

    public static var current: FaultScale {
        let setting = ProcessInfo.processInfo.environment["SUPPORTBILL_FAULT_SCALE"]?.lowercased() ?? ""
        switch setting {
        case "full": return .full
        case "", "reduced", "ci": return .reduced
        default:
            guard let customers = Int(setting), customers >= 100 else { return .reduced }
            return FaultScale(customers: customers, entriesPerTicket: 10, batchSize: max(10, customers / 40))
        }
    }

    public var description: String { "\(customers) customers, \(entriesPerTicket) entries per ticket, batches of \(batchSize)" }
}
