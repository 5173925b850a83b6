import Foundation

/// The one seeded random generator of the tests (SplitMix64): the same seed gives the same
/// sequence on every machine, so a failure can be replayed from the seed its message prints.
/// The pure property tests (BillingCoreTests' `PropertyCheck`, which calls it `SeededGenerator`)
/// and the database tests that draw random inputs (kill instants, corrections, generated data)
/// both draw from it; ranges are drawn by the standard library's unbiased `random(in:using:)`.
public struct SeededNumbers: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// A seed from `variable` in the environment, or a fresh random one.
    public static func seed(from variable: String) -> UInt64 {
        ProcessInfo.processInfo.environment[variable].flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64(Int32.max))
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniformly chosen integer of `range`.
    public mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }

    public mutating func int64(_ range: ClosedRange<Int64>) -> Int64 { Int64.random(in: range, using: &self) }

    /// The same as `int(_:)`, under the name the database tests use.
    public mutating func next(in range: ClosedRange<Int>) -> Int { int(range) }

    /// True with probability `percent` / 100.
    public mutating func chance(_ percent: Int) -> Bool { int(0...99) < percent }

    public mutating func pick<T>(_ values: [T]) -> T { values[int(0...(values.count - 1))] }
}
