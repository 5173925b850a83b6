import Testing

/// The fault tests (issue 10): kill -9, PostgreSQL crashes, signals, concurrent runs, retries
/// and hangs, end to end against the `supportbill` binary and a real PostgreSQL, over a
/// `FaultMonth` (reduced scale by default, `SUPPORTBILL_FAULT_SCALE=full` for the full one).
/// Serialized: each test runs jobs over thousands of customers and the machine is shared.
@Suite("faults", .serialized)
struct FaultTests {}
