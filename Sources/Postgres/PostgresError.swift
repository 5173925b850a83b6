import Foundation

/// An error from libpq or from the PostgreSQL server.
///
/// The fields (`sqlState`, `message`, `detail`, `hint`) are kept apart, as the server sent them.
/// `description`, which is what logs, reports and `job_runs.error` show, never contains the
/// values bound to the statement, the connection password, or the server's `detail` (where
/// PostgreSQL quotes row data, e.g. `Key (source_key)=(...)`). Read `detail` deliberately when
/// you need it.
public struct PostgresError: Error, CustomStringConvertible, Sendable {
    private enum Code: Sendable {
        case connectionFailed
        case connectionLost
        case server
        case decoding
        case usage
    }

    private let code: Code
    /// The five-character SQLSTATE, when the server sent one.
    public let sqlState: String?
    /// The primary message, with bound values and secrets redacted.
    public let message: String
    /// The server's DETAIL field, verbatim. It can contain row data: never log it unreviewed.
    public let detail: String?
    /// The server's HINT field.
    public let hint: String?
    /// The constraint the error is about, when the server named one.
    public let constraintName: String?

    private init(code: Code, sqlState: String?, message: String, detail: String?, hint: String?, constraintName: String?) {
        self.code = code
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.hint = hint
        self.constraintName = constraintName
    }

    static func connectionFailed(_ message: String) -> PostgresError {
        PostgresError(code: .connectionFailed, sqlState: nil, message: message, detail: nil, hint: nil, constraintName: nil)
    }

    static func connectionLost(_ message: String, sqlState: String? = nil) -> PostgresError {
        PostgresError(code: .connectionLost, sqlState: sqlState, message: message, detail: nil, hint: nil, constraintName: nil)
    }

    static func server(sqlState: String?, message: String, detail: String?, hint: String?, constraintName: String?) -> PostgresError {
        PostgresError(code: .server, sqlState: sqlState, message: message, detail: detail, hint: hint, constraintName: constraintName)
    }

    /// A value could not be decoded into the requested Swift type.
    public static func decoding(_ message: String) -> PostgresError {
        PostgresError(code: .decoding, sqlState: nil, message: message, detail: nil, hint: nil, constraintName: nil)
    }

    /// The API was used in a way it does not support (nested transactions, a missing column, ...).
    public static func usage(_ message: String) -> PostgresError {
        PostgresError(code: .usage, sqlState: nil, message: message, detail: nil, hint: nil, constraintName: nil)
    }

    /// True when the server could not be reached or the connection broke: the database is
    /// unavailable (exit 69), as opposed to a statement that failed.
    public var isUnavailable: Bool {
        switch code {
        case .connectionFailed, .connectionLost: return true
        case .server:
            guard let state = sqlState else { return false }
            // 08: connection exception; 57P01..57P03: admin/crash shutdown, cannot connect now;
            // 53300: too many connections.
            return state.hasPrefix("08") || ["57P01", "57P02", "57P03", "53300"].contains(state)
        case .decoding, .usage: return false
        }
    }

    /// Serialization failure or deadlock: the transaction may succeed when retried.
    public var isRetryable: Bool { sqlState == "40001" || sqlState == "40P01" }

    /// The statement was cancelled (by us, or by `statement_timeout`) or ran into `lock_timeout`.
    public var isCancellation: Bool { sqlState == "57014" || sqlState == "55P03" }

    /// The data was refused: a data exception (class 22) or an integrity violation (class 23),
    /// or the values could not be decoded. Retrying does not help; the data must change.
    public var isDataError: Bool {
        if code == .decoding { return true }
        guard code == .server, let state = sqlState else { return false }
        return state.hasPrefix("22") || state.hasPrefix("23")
    }

    public var description: String {
        switch code {
        case .connectionFailed:
            return "could not connect to PostgreSQL: \(message)"
        case .connectionLost:
            return "lost the connection to PostgreSQL: \(message)"
        case .server:
            var text = "PostgreSQL error"
            if let sqlState { text += " \(sqlState)" }
            text += ": \(message)"
            if let hint { text += " (hint: \(hint))" }
            return text
        case .decoding:
            return "cannot decode a PostgreSQL value: \(message)"
        case .usage:
            return "PostgreSQL client misuse: \(message)"
        }
    }
}

/// Removes secrets and bound values from server and libpq messages before they can reach a log.
struct Redactor: Sendable {
    var secrets: [String]

    /// Replaces every occurrence of a secret, and every double-quoted segment that contains one of
    /// `values` (PostgreSQL quotes the offending input: `invalid input syntax for type bigint: "x"`).
    func redact(_ text: String, values: [String] = []) -> String {
        var result = text
        for secret in secrets where !secret.isEmpty {
            result = result.replacingOccurrences(of: secret, with: "[redacted]")
        }
        let candidates = values.filter { !$0.isEmpty }
        guard !candidates.isEmpty else { return result }
        // Quoted segments: redact any that contains a bound value.
        var output = ""
        var rest = Substring(result)
        while let open = rest.firstIndex(of: "\"") {
            output += rest[..<open]
            let afterOpen = rest.index(after: open)
            guard let close = rest[afterOpen...].firstIndex(of: "\"") else {
                output += rest[open...]
                rest = ""
                break
            }
            let inside = rest[afterOpen..<close]
            if candidates.contains(where: { inside.contains($0) || (inside.count >= 3 && $0.contains(inside)) }) {
                output += "\"[value]\""
            } else {
                output += rest[open...close]
            }
            rest = rest[rest.index(after: close)...]
        }
        output += rest
        // Longer values that appear unquoted (rare, but cheap to catch).
        for value in candidates where value.count >= 4 {
            output = output.replacingOccurrences(of: value, with: "[value]")
        }
        return output
    }
}
