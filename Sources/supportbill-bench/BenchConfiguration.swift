import Foundation

/// The job parameters the bench runs with, written to a jobs directory of its own so that no
/// `/etc/supportbill/jobs` of the machine changes what is measured:
/// - contract-expiry-rollover has a per-incident price in each synthetic currency (the default
///   has USD only, which would skip every EUR and JPY customer with time on no contract);
/// - suspension-sweep has no blast-radius limit (`max_suspensions = 0`): the synthetic history
///   makes thousands of services overdue on purpose;
/// - the others are the defaults.
struct BenchConfiguration {
    let perIncidentPrices: [(currency: String, price: Int64)] = [("EUR", 4000), ("JPY", 6000), ("USD", 4500)]
    let rollupDueDays = 14
    let topupDueDays = 7
    let expiredTime = "rollover"

    func write(to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let prices = perIncidentPrices.map { "\($0.currency) = \($0.price)" }.joined(separator: "\n")
        let files = [
            "contract-expiry-rollover.toml": "expired_time = \"\(expiredTime)\"\n[per_incident_price]\n\(prices)\n",
            "suspension-sweep.toml": "max_suspensions = 0\n",
            "monthly-rollup.toml": "due_days = \(rollupDueDays)\n",
            "threshold-topup.toml": "due_days = \(topupDueDays)\n",
        ]
        for (name, text) in files {
            try text.write(toFile: (directory as NSString).appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
    }
}
