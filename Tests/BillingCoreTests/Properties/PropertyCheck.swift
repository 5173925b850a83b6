import Foundation
import TestSupport
import Testing

/// The tests' one seeded generator (TestSupport), under the name the property tests use.
typealias SeededGenerator = SeededNumbers

/// Runs a property over many seeded random cases and reports the first counterexample with the
/// seed that replays it:
///
///     SUPPORTBILL_PROPERTY_SEED=<seed> swift test --filter <test>
///
/// Each run starts from a fresh random seed (so CI keeps exploring new inputs) unless
/// `SUPPORTBILL_PROPERTY_SEED` fixes it; `SUPPORTBILL_PROPERTY_CASES` changes the number of cases.
enum PropertyCheck {
    static var baseSeed: UInt64 {
        if let text = ProcessInfo.processInfo.environment["SUPPORTBILL_PROPERTY_SEED"], let seed = UInt64(text) { return seed }
        return UInt64.random(in: 1...UInt64(Int64.max))
    }

    static var cases: Int {
        ProcessInfo.processInfo.environment["SUPPORTBILL_PROPERTY_CASES"].flatMap(Int.init) ?? 400
    }

    /// Calls `property` with a generator per case; it returns nil when the property holds, else
    /// a description of the counterexample. Stops at the first failure.
    static func forAll(_ name: String, cases: Int = PropertyCheck.cases, sourceLocation: SourceLocation = #_sourceLocation,
                       _ property: (inout SeededGenerator) throws -> String?) {
        let base = baseSeed
        for index in 0..<max(1, cases) {
            // Consecutive seeds give unrelated streams in SplitMix64.
            let seed = base &+ UInt64(index)
            var generator = SeededGenerator(seed: seed)
            do {
                if let counterexample = try property(&generator) {
                    Issue.record("\(name) fails for seed \(seed) (replay: SUPPORTBILL_PROPERTY_SEED=\(seed)): \(counterexample)",
                                 sourceLocation: sourceLocation)
                    return
                }
            } catch {
                Issue.record("\(name) threw for seed \(seed) (replay: SUPPORTBILL_PROPERTY_SEED=\(seed)): \(error)", sourceLocation: sourceLocation)
                return
            }
        }
    }
}
