import BillingCore
import Foundation

extension Instant {
    /// The wall clock. Only the command line reads it, to default `--as-of`; the jobs never do.
    static var now: Instant {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Instant(microsecondsSinceEpoch: Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1000)
    }
}
