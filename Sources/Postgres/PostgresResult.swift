import CLibPQ

/// The rows of one statement. Owns its `PGresult`; rows decode lazily from it.
public final class PostgresResult: Sequence {
    let handle: OpaquePointer

    init(handle: OpaquePointer) { self.handle = handle }
    deinit { PQclear(handle) }

    public var count: Int { Int(PQntuples(handle)) }
    public var isEmpty: Bool { count == 0 }
    public var columnCount: Int { Int(PQnfields(handle)) }

    public var columnNames: [String] {
        (0..<PQnfields(handle)).map { String(cString: PQfname(handle, $0)) }
    }

    /// Rows inserted, updated or deleted (the number after the command tag), 0 for other commands.
    public var affectedRows: Int { Int(String(cString: PQcmdTuples(handle))) ?? 0 }

    public func columnIndex(_ name: String) throws -> Int {
        let index = Int(PQfnumber(handle, "\"" + name.replacingQuotes() + "\""))
        guard index >= 0 else { throw PostgresError.usage("no column named \(name) in the result") }
        return index
    }

    public subscript(row: Int) -> PostgresRow { PostgresRow(result: self, index: Int32(row)) }

    /// The first row, if any.
    public var first: PostgresRow? { isEmpty ? nil : self[0] }

    public func makeIterator() -> AnyIterator<PostgresRow> {
        var next: Int32 = 0
        let total = PQntuples(handle)
        return AnyIterator {
            guard next < total else { return nil }
            defer { next += 1 }
            return PostgresRow(result: self, index: next)
        }
    }

    /// Decodes every row with `transform`; convenient for small results.
    public func map<T>(_ transform: (PostgresRow) throws -> T) rethrows -> [T] {
        var values: [T] = []
        values.reserveCapacity(count)
        for row in self { values.append(try transform(row)) }
        return values
    }

    /// The single value of a one-row, one-column result (NULL and no row give nil).
    public func scalar<T: PostgresDecodable>(_ type: T.Type = T.self) throws -> T? {
        guard count > 0, columnCount > 0 else { return nil }
        return try self[0].decode(0, as: T?.self)
    }
}

extension String {
    fileprivate func replacingQuotes() -> String {
        var result = ""
        for character in self { result += character == "\"" ? "\"\"" : String(character) }
        return result
    }
}

/// One row of a result, decoded column by column into typed Swift values.
public struct PostgresRow {
    let result: PostgresResult
    let index: Int32

    public var columnCount: Int { result.columnCount }

    public func isNull(_ column: Int) -> Bool {
        PQgetisnull(result.handle, index, Int32(column)) == 1
    }

    public func type(of column: Int) -> PostgresType {
        PostgresType(rawValue: UInt32(PQftype(result.handle, Int32(column))))
    }

    /// Decodes a column that must not be NULL.
    public func decode<T: PostgresDecodable>(_ column: Int, as type: T.Type = T.self) throws -> T {
        guard column >= 0, column < result.columnCount else {
            throw PostgresError.usage("column \(column) is out of range (\(result.columnCount) columns)")
        }
        guard !isNull(column) else {
            let name = String(cString: PQfname(result.handle, Int32(column)))
            throw PostgresError.decoding("column \(name) is NULL, but \(T.self) was expected")
        }
        let length = Int(PQgetlength(result.handle, index, Int32(column)))
        let pointer = PQgetvalue(result.handle, index, Int32(column))!
        return try pointer.withMemoryRebound(to: UInt8.self, capacity: length) { bytes in
            do {
                return try T(postgresText: PostgresText(bytes: UnsafeBufferPointer(start: bytes, count: length)), type: self.type(of: column))
            } catch let error as PostgresError {
                let name = String(cString: PQfname(result.handle, Int32(column)))
                throw PostgresError.decoding("column \(name): \(error.message)")
            }
        }
    }

    /// Decodes a column that may be NULL.
    public func decode<T: PostgresDecodable>(_ column: Int, as type: T?.Type) throws -> T? {
        guard column >= 0, column < result.columnCount else {
            throw PostgresError.usage("column \(column) is out of range (\(result.columnCount) columns)")
        }
        return isNull(column) ? nil : try decode(column, as: T.self)
    }

    public func decode<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        try decode(result.columnIndex(column), as: T.self)
    }

    public func decode<T: PostgresDecodable>(_ column: String, as type: T?.Type) throws -> T? {
        try decode(result.columnIndex(column), as: T?.self)
    }
}
