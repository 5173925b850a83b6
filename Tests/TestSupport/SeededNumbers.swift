import Foundation

/// A seeded sequence of numbers (SplitMix64) for the database tests that draw random inputs
/// (kill instants, generated data): the same seed gives the same sequence on every machine, so a
/// failure can be replayed from the seed its message prints.
public struct SeededNumbers: Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// A seed from `variable` in the environment, or a fresh random one.
    public static func seed(from variable: String) -> UInt64 {
        ProcessInfo.processInfo.environment[variable].flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64(Int32.max))
    }

    public mutating func next(in range: ClosedRange<Int>) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return range.lowerBound + Int(z % UInt64(range.count))
    }

    /// True with probability `percent` / 100.
    public mutating func chance(_ percent: Int) -> Bool { next(in: 0...99) < percent }

    public mutating func pick<T>(_ values: [T]) -> T { values[next(in: 0...(values.count - 1))] }
}
