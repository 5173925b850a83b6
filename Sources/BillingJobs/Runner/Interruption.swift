import Foundation
import Postgres

/// A request to stop a run, from a signal handler's queue. The runner finishes the batch in
/// hand and stops; a second request also cancels the statement running now.
public final class Interruption: @unchecked Sendable {
    private let lock = NSLock()
    private var signalName: String?
    private var requests = 0
    private var cancelHandle: PostgresCancelHandle?

    public init() {}

    /// Asks the run to stop (`signal` names the cause for the record, e.g. "SIGTERM").
    public func request(_ signal: String) {
        lock.lock()
        requests += 1
        if signalName == nil { signalName = signal }
        let cancel = requests > 1 ? cancelHandle : nil
        lock.unlock()
        cancel?.cancel()
    }

    /// The signal that asked the run to stop, if one did.
    public var requested: String? {
        lock.lock()
        defer { lock.unlock() }
        return signalName
    }

    func attach(_ handle: PostgresCancelHandle?) {
        lock.lock()
        cancelHandle = handle
        lock.unlock()
    }
}
