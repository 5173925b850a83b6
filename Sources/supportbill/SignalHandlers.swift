import BillingJobs
import Dispatch
import Foundation
import Logging

/// SIGTERM and SIGINT ask the run to stop after the batch in hand (a second signal also cancels
/// the statement running now). The signals are handled on a dispatch queue, not in signal context.
///
/// A batch normally ends within seconds, but one waiting for a lock can wait up to lock_timeout
/// (60 s by default), longer than systemd's stop timeout allows: if the run has not stopped
/// `grace` after the first signal, the signal is repeated, which cancels the statement running
/// then (the batch rolls back whole). So a run stops within about `grace` of SIGTERM.
final class SignalHandlers {
    private var sources: [DispatchSourceSignal] = []
    static let grace: DispatchTimeInterval = .seconds(10)

    init(interruption: Interruption, logger: Logger) {
        for (number, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                logger.warning("stop requested: finishing the current batch", metadata: ["signal": "\(name)"])
                let first = interruption.requested == nil
                interruption.request(name)
                if first {
                    DispatchQueue.global().asyncAfter(deadline: .now() + SignalHandlers.grace) {
                        logger.warning("the batch in hand has not ended: cancelling its statement", metadata: ["signal": "\(name)"])
                        interruption.request(name)
                    }
                }
            }
            source.resume()
            sources.append(source)
        }
    }

    func cancel() {
        sources.forEach { $0.cancel() }
        sources.removeAll()
    }
}
