/// The terms a line was first issued with (its earliest item on a non-draft invoice).
struct RollupLock {
    let unitPrice: Int64
    let includedMinutes: Int64?
}
