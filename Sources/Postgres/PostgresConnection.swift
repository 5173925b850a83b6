import CLibPQ
import Foundation

/// One libpq connection. Not thread-safe: use it from one thread at a time (the jobs run on one).
///
/// Connection parameters come from libpq itself: a conninfo string or `postgresql://` URI if one
/// is given, else libpq's environment and defaults (`PGHOST`, `PGPORT`, `PGDATABASE`, `PGUSER`,
/// `PGPASSFILE`, `PGSERVICE`, ...). Every session runs with `TimeZone = 'UTC'` and ISO date
/// output so that values decode the same way whatever the server's configuration.
public final class PostgresConnection {
    private var handle: OpaquePointer?
    private let redactor: Redactor
    private var savepointCounter = 0

    /// Opens a connection.
    /// - Parameters:
    ///   - conninfo: a `key=value` conninfo string or a `postgresql://` URI; nil uses libpq's
    ///     environment and defaults alone.
    ///   - parameters: further libpq keywords (they override what `conninfo` sets).
    ///   - settings: run-time parameters set for the session (`statement_timeout`, ...), each
    ///     passed as a bound value to `set_config`.
    public init(
        conninfo: String? = nil,
        parameters: [(String, String)] = [],
        settings: [(String, String)] = [],
        applicationName: String = "supportbill"
    ) throws {
        // Bounds on a silent network, where the user set none (PostgresNetworkDefaults); first,
        // so that libpq lets a conninfo string override them in any case.
        let network = PostgresNetworkDefaults.unset(conninfo: conninfo, parameters: parameters)
        var keywords: [String] = network.map(\.0)
        var values: [String] = network.map(\.1)
        if let conninfo, !conninfo.isEmpty {
            keywords.append("dbname")
            values.append(conninfo)
        }
        keywords.append("fallback_application_name")
        values.append(applicationName)
        keywords.append("client_encoding")
        values.append("UTF8")
        for (key, value) in parameters {
            keywords.append(key)
            values.append(value)
        }

        var secrets = [ProcessInfo.processInfo.environment["PGPASSWORD"] ?? ""]
        if let conninfo { secrets += PostgresConnection.passwords(in: conninfo) }
        secrets += parameters.filter { $0.0 == "password" }.map(\.1)

        let connection = PostgresConnection.withCStrings(keywords) { keywordPointers in
            PostgresConnection.withCStrings(values) { valuePointers in
                PQconnectdbParams(keywordPointers, valuePointers, 1)
            }
        }
        guard let connection else {
            throw PostgresError.connectionFailed("libpq could not allocate a connection")
        }
        if let used = PQpass(connection) { secrets.append(String(cString: used)) }
        redactor = Redactor(secrets: secrets.filter { !$0.isEmpty })
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = redactor.redact(PostgresConnection.trimmed(String(cString: PQerrorMessage(connection))))
            PQfinish(connection)
            throw PostgresError.connectionFailed(message)
        }
        handle = connection
        // libpq prints NOTICEs to stderr by default; they are not ours to show.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)

        var sessionSettings: [(String, String)] = [
            ("TimeZone", "UTC"), ("DateStyle", "ISO, YMD"), ("IntervalStyle", "iso_8601"),
            ("client_min_messages", "warning"),
        ]
        if let host = PQhost(connection).map({ String(cString: $0) }), !host.hasPrefix("/"), !host.hasPrefix("@"), let used = PQconninfo(connection) {
            // Over TCP, the server's side of the session gets the same keepalives as ours.
            sessionSettings += PostgresNetworkDefaults.serverSettings(effective: Dictionary(PostgresNetworkDefaults.options(used), uniquingKeysWith: { $1 }))
            PQconninfoFree(used)
        }
        sessionSettings += settings
        for (name, value) in sessionSettings {
            try execute("SELECT set_config($1, $2, false)", [name, value])
        }
    }

    deinit { close() }

    /// Closes the connection. Any open transaction is rolled back by the server and session
    /// advisory locks are released.
    public func close() {
        if let handle { PQfinish(handle) }
        handle = nil
    }

    public var isOpen: Bool {
        guard let handle else { return false }
        return PQstatus(handle) == CONNECTION_OK
    }

    /// The backend process id, which `pg_stat_activity` and `pg_locks` show.
    public var backendPID: Int32 { handle.map { PQbackendPID($0) } ?? 0 }

    public var serverVersion: Int { handle.map { Int(PQserverVersion($0)) } ?? 0 }

    /// True while a transaction block is open (or failed and awaiting ROLLBACK).
    public var inTransaction: Bool {
        guard let handle else { return false }
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE
    }

    // MARK: - Statements

    /// Runs one statement with its values bound as `$1`, `$2`, ... and returns its rows.
    @discardableResult
    public func query(_ sql: String, _ binds: [any PostgresEncodable] = []) throws -> PostgresResult {
        let handle = try liveHandle()
        let texts = binds.map(\.postgresText)
        let result = PostgresConnection.withOptionalCStrings(texts) { pointers in
            PQexecParams(handle, sql, Int32(texts.count), nil, pointers, nil, nil, 0)
        }
        return try check(result, binds: texts)
    }

    /// Runs one statement and returns the number of rows it affected.
    @discardableResult
    public func execute(_ sql: String, _ binds: [any PostgresEncodable] = []) throws -> Int {
        try query(sql, binds).affectedRows
    }

    /// Runs a script of several statements with no parameters (migrations). Never pass values here.
    public func executeScript(_ sql: String) throws {
        let handle = try liveHandle()
        let result = PQexec(handle, sql)
        _ = try check(result, binds: [])
    }

    /// Streams the rows of one statement to `body` as they arrive (libpq's single-row mode), so
    /// memory stays flat however many rows come back. If `body` throws, the statement is
    /// cancelled and the connection stays usable.
    public func stream(_ sql: String, _ binds: [any PostgresEncodable] = [], _ body: (PostgresRow) throws -> Void) throws {
        let handle = try liveHandle()
        let texts = binds.map(\.postgresText)
        let sent = PostgresConnection.withOptionalCStrings(texts) { pointers in
            PQsendQueryParams(handle, sql, Int32(texts.count), nil, pointers, nil, nil, 0)
        }
        guard sent == 1 else { throw lastError(binds: texts) }
        guard PQsetSingleRowMode(handle) == 1 else {
            drain(handle)
            throw PostgresError.usage("could not enter single-row mode")
        }
        var failure: Error?
        while let raw = PQgetResult(handle) {
            if failure != nil { PQclear(raw); continue }
            let status = PQresultStatus(raw)
            if status == PGRES_SINGLE_TUPLE {
                let result = PostgresResult(handle: raw)
                do {
                    try body(result[0])
                } catch {
                    failure = error
                    cancelHandle()?.cancel()
                }
            } else if status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK {
                PQclear(raw)
            } else {
                failure = error(from: raw, binds: texts)
                PQclear(raw)
            }
        }
        if let failure {
            // A cancelled statement leaves a failed transaction block; the caller's transaction
            // (if any) decides what to do, as with any other error.
            throw failure
        }
    }

    // MARK: - Transactions

    /// Runs `body` in a transaction: COMMIT when it returns, ROLLBACK when it throws.
    /// Inside an open transaction, use `savepoint` instead.
    public func transaction<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        guard !inTransaction else { throw PostgresError.usage("transaction() inside an open transaction; use savepoint()") }
        try execute("BEGIN")
        do {
            let value = try body(self)
            try execute("COMMIT")
            return value
        } catch {
            rollbackQuietly()
            throw error
        }
    }

    /// Runs `body` under a savepoint of the open transaction: released when it returns, rolled
    /// back to (leaving the transaction usable) when it throws.
    public func savepoint<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        guard inTransaction else { throw PostgresError.usage("savepoint() outside a transaction") }
        savepointCounter += 1
        let name = "supportbill_sp_\(savepointCounter)"
        try execute("SAVEPOINT \(name)")
        do {
            let value = try body(self)
            try execute("RELEASE SAVEPOINT \(name)")
            return value
        } catch {
            if isOpen { _ = try? execute("ROLLBACK TO SAVEPOINT \(name)"); _ = try? execute("RELEASE SAVEPOINT \(name)") }
            throw error
        }
    }

    /// Rolls back the open transaction, if any, ignoring errors (the connection may be gone).
    public func rollbackQuietly() {
        guard let handle, PQstatus(handle) == CONNECTION_OK, PQtransactionStatus(handle) != PQTRANS_IDLE else { return }
        _ = try? execute("ROLLBACK")
    }

    // MARK: - Advisory locks

    /// Takes a session-level advisory lock if it is free; it is held until `advisoryUnlock` or the
    /// connection closes (also when the process dies).
    public func tryAdvisoryLock(_ key: PostgresAdvisoryLockKey) throws -> Bool {
        try query("SELECT pg_try_advisory_lock($1, $2)", [key.classID, key.objectID]).scalar(Bool.self) ?? false
    }

    /// Waits for a session-level advisory lock (bounded by the session's `lock_timeout`, if set).
    public func advisoryLock(_ key: PostgresAdvisoryLockKey) throws {
        try execute("SELECT pg_advisory_lock($1, $2)", [key.classID, key.objectID])
    }

    @discardableResult
    public func advisoryUnlock(_ key: PostgresAdvisoryLockKey) throws -> Bool {
        try query("SELECT pg_advisory_unlock($1, $2)", [key.classID, key.objectID]).scalar(Bool.self) ?? false
    }

    /// Takes a transaction-level advisory lock if free; released at COMMIT or ROLLBACK.
    public func tryAdvisoryTransactionLock(_ key: PostgresAdvisoryLockKey) throws -> Bool {
        try query("SELECT pg_try_advisory_xact_lock($1, $2)", [key.classID, key.objectID]).scalar(Bool.self) ?? false
    }

    /// Waits for a transaction-level advisory lock.
    public func advisoryTransactionLock(_ key: PostgresAdvisoryLockKey) throws {
        try execute("SELECT pg_advisory_xact_lock($1, $2)", [key.classID, key.objectID])
    }

    // MARK: - Cancellation

    /// A handle that cancels this connection's running statement from any thread (or a signal
    /// handler's queue). Nil when the connection is closed.
    public func cancelHandle() -> PostgresCancelHandle? {
        guard let handle, let cancel = PQgetCancel(handle) else { return nil }
        return PostgresCancelHandle(cancel: cancel)
    }

    // MARK: - Internals

    private func liveHandle() throws -> OpaquePointer {
        guard let handle else { throw PostgresError.connectionLost("the connection is closed") }
        return handle
    }

    private func check(_ result: OpaquePointer?, binds: [String?]) throws -> PostgresResult {
        guard let result else { throw lastError(binds: binds) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return PostgresResult(handle: result)
        default:
            let error = error(from: result, binds: binds)
            PQclear(result)
            throw error
        }
    }

    private func error(from result: OpaquePointer, binds: [String?]) -> PostgresError {
        func field(_ code: Int32) -> String? {
            guard let value = PQresultErrorField(result, code) else { return nil }
            return String(cString: value)
        }
        let values = binds.compactMap { $0 }
        let sqlState = field(supportbill_diag_sqlstate())
        let primary = field(supportbill_diag_message_primary())
            ?? PostgresConnection.trimmed(String(cString: PQresultErrorMessage(result)))
        let message = redactor.redact(primary, values: values)
        if let handle, PQstatus(handle) == CONNECTION_BAD {
            return .connectionLost(message, sqlState: sqlState)
        }
        return .server(
            sqlState: sqlState,
            message: message,
            detail: field(supportbill_diag_message_detail()),
            hint: field(supportbill_diag_message_hint()).map { redactor.redact($0, values: values) },
            constraintName: field(supportbill_diag_constraint_name())
        )
    }

    private func lastError(binds: [String?]) -> PostgresError {
        let message = handle.map { redactor.redact(PostgresConnection.trimmed(String(cString: PQerrorMessage($0))), values: binds.compactMap { $0 }) } ?? "no connection"
        if let handle, PQstatus(handle) == CONNECTION_BAD { return .connectionLost(message) }
        return .connectionLost(message)
    }

    private func drain(_ handle: OpaquePointer) {
        while let result = PQgetResult(handle) { PQclear(result) }
    }

    private static func trimmed(_ text: String) -> String {
        text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Why libpq cannot parse `conninfo` (nil: it can), with any password the string carries
    /// redacted: libpq quotes the part it chokes on, which may be the password itself
    /// (`invalid percent-encoded token: "p%ZZw0rd"`) or the whole URI.
    public static func conninfoProblem(_ conninfo: String) -> String? {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(conninfo, &errorMessage) else {
            let message = errorMessage.map { String(cString: $0) } ?? "cannot be parsed"
            if let errorMessage { PQfreemem(errorMessage) }
            return Redactor(secrets: guessedPasswords(in: conninfo)).redact(trimmed(message))
        }
        PQconninfoFree(options)
        return nil
    }

    /// The passwords a conninfo string or URI carries, so that they can be kept out of messages.
    static func passwords(in conninfo: String) -> [String] {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(conninfo, &errorMessage) else {
            if let errorMessage { PQfreemem(errorMessage) }
            return guessedPasswords(in: conninfo)
        }
        defer { PQconninfoFree(options) }
        var found: [String] = []
        var option = options
        while let keyword = option.pointee.keyword {
            if String(cString: keyword) == "password", let value = option.pointee.val {
                found.append(String(cString: value))
            }
            option = option.advanced(by: 1)
        }
        return found
    }

    /// The passwords of a string libpq cannot parse, found by its shape: the userinfo of a URI
    /// (`scheme://user:PASSWORD@host`) and the values of `password` keywords (`password=VALUE`,
    /// `password = 'VALUE'`, `?password=VALUE`), raw and percent-decoded.
    static func guessedPasswords(in conninfo: String) -> [String] {
        var found: [String] = []
        if let scheme = conninfo.range(of: "://") {
            let rest = conninfo[scheme.upperBound...]
            let authority = rest[..<(rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex)]
            if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
                found.append(String(authority[authority.index(after: colon)..<at]))
            }
        }
        var search = conninfo[...]
        while let keyword = search.range(of: "password") {
            var index = keyword.upperBound
            while index < search.endIndex, search[index] == " " { index = search.index(after: index) }
            guard index < search.endIndex, search[index] == "=" else { search = search[keyword.upperBound...]; continue }
            index = search.index(after: index)
            while index < search.endIndex, search[index] == " " { index = search.index(after: index) }
            var value = ""
            if index < search.endIndex, search[index] == "'" {
                index = search.index(after: index)
                while index < search.endIndex, search[index] != "'" {
                    if search[index] == "\\", search.index(after: index) < search.endIndex { index = search.index(after: index) }
                    value.append(search[index])
                    index = search.index(after: index)
                }
            } else {
                while index < search.endIndex, !" &".contains(search[index]) {
                    value.append(search[index])
                    index = search.index(after: index)
                }
            }
            if !value.isEmpty { found.append(value) }
            search = search[index...]
        }
        return found + found.compactMap { $0.removingPercentEncoding }.filter { !found.contains($0) }
    }

    private static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
        let duplicates = strings.map { strdup($0) }
        defer { duplicates.forEach { free($0) } }
        var pointers: [UnsafePointer<CChar>?] = duplicates.map { UnsafePointer($0) }
        pointers.append(nil)
        return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    private static func withOptionalCStrings<R>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
        let duplicates = strings.map { $0.map { strdup($0) } ?? nil }
        defer { duplicates.forEach { free($0) } }
        let pointers: [UnsafePointer<CChar>?] = duplicates.map { $0.map { UnsafePointer($0) } }
        return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
    }
}

/// Cancels the statement running on a connection; safe to use from another thread.
public final class PostgresCancelHandle: @unchecked Sendable {
    private let cancelPointer: OpaquePointer

    init(cancel: OpaquePointer) { self.cancelPointer = cancel }
    deinit { PQfreeCancel(cancelPointer) }

    /// Asks the server to cancel the running statement. Returns false if the request could not
    /// be sent (the server may be gone).
    @discardableResult
    public func cancel() -> Bool {
        var buffer = [CChar](repeating: 0, count: 256)
        return PQcancel(cancelPointer, &buffer, Int32(buffer.count)) == 1
    }
}

/// The two 32-bit keys of an advisory lock: a class (the application's namespace) and an object.
public struct PostgresAdvisoryLockKey: Hashable, Sendable {
    public let classID: Int32
    public let objectID: Int32

    public init(classID: Int32, objectID: Int32) {
        self.classID = classID
        self.objectID = objectID
    }
}
