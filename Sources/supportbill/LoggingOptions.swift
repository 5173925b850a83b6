import ArgumentParser
import Foundation
import Logging

/// `--log-level`: logs go to stderr, reports to stdout.
struct LoggingOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Log level on stderr: trace, debug, info, notice, warning, error or critical. Default: SUPPORTBILL_LOG_LEVEL, else info.", valueName: "level"))
    var logLevel: String?

    func validate() throws {
        if let logLevel, Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("unknown log level '\(logLevel)': use trace, debug, info, notice, warning, error or critical")
        }
    }

    /// Bootstraps swift-log once for the process and returns the command's logger.
    func makeLogger(default level: Logger.Level = .info) -> Logger {
        let environment = ProcessInfo.processInfo.environment["SUPPORTBILL_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
        let chosen = logLevel.flatMap(Logger.Level.init(rawValue:)) ?? environment ?? level
        LogBootstrap.once
        var logger = Logger(label: "supportbill")
        logger.logLevel = chosen
        return logger
    }
}

enum LogBootstrap {
    static let once: Void = {
        // Log lines end the progress bar's line first (ProgressDisplay).
        LoggingSystem.bootstrap { label in
            LineEndingLogHandler(base: StreamLogHandler.standardError(label: label), line: .standardError)
        }
    }()
}
