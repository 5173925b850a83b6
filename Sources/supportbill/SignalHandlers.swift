import BillingJobs
import Dispatch
import Foundation
import Logging

/// SIGTERM and SIGINT ask the run to stop after the batch in hand (a second signal also cancels
/// the statement running now). The signals are handled on a dispatch queue, not in signal context.
final class SignalHandlers {
    private var sources: [DispatchSourceSignal] = []

    init(interruption: Interruption, logger: Logger) {
        for (number, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler {
                logger.warning("stop requested: finishing the current batch", metadata: ["signal": "\(name)"])
                interruption.request(name)
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
