/// A Swift value that can travel to PostgreSQL as a `$n` parameter, in the text format.
///
/// Values are only ever sent as parameters (`PQexecParams`), never spliced into SQL text, so no
/// value can change the meaning of a statement whatever quotes or semicolons it holds.
public protocol PostgresEncodable {
    /// The parameter's text form, or nil for SQL NULL.
    var postgresText: String? { get }
}

/// A Swift value that can be decoded from a result column's text form.
public protocol PostgresDecodable {
    /// Decodes the text form of a non-NULL value of the column type `type`.
    init(postgresText text: PostgresText, type: PostgresType) throws
}

public typealias PostgresCodable = PostgresEncodable & PostgresDecodable

/// The bytes of one non-NULL result value, valid only while the result is alive.
public struct PostgresText {
    public let bytes: UnsafeBufferPointer<UInt8>

    public init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    public var string: String { String(decoding: bytes, as: UTF8.self) }

    /// Parses an optionally signed base-10 integer without allocating.
    public func integer<T: FixedWidthInteger>(_ type: T.Type) -> T? {
        guard !bytes.isEmpty else { return nil }
        var index = 0
        var negative = false
        if bytes[0] == UInt8(ascii: "-") { negative = true; index = 1 }
        else if bytes[0] == UInt8(ascii: "+") { index = 1 }
        guard index < bytes.count else { return nil }
        var value: T = 0
        while index < bytes.count {
            let byte = bytes[index]
            guard byte >= 48, byte <= 57 else { return nil }
            let digit = T(byte - 48)
            let (shifted, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) = negative ? shifted.subtractingReportingOverflow(digit) : shifted.addingReportingOverflow(digit)
            if o1 || o2 { return nil }
            value = next
            index += 1
        }
        return value
    }
}

extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    public var postgresText: String? {
        switch self {
        case .none: return nil
        case .some(let value): return value.postgresText
        }
    }
}

extension String: PostgresCodable {
    public var postgresText: String? { self }
    public init(postgresText text: PostgresText, type: PostgresType) throws {
        self = text.string
    }
}

extension Substring: PostgresEncodable {
    public var postgresText: String? { String(self) }
}

extension Bool: PostgresCodable {
    public var postgresText: String? { self ? "t" : "f" }
    public init(postgresText text: PostgresText, type: PostgresType) throws {
        guard type == .bool || type == .unknown || type == .text, text.bytes.count == 1 else {
            throw PostgresError.decoding("expected boolean, got \(type)")
        }
        switch text.bytes[0] {
        case UInt8(ascii: "t"): self = true
        case UInt8(ascii: "f"): self = false
        default: throw PostgresError.decoding("malformed boolean")
        }
    }
}

/// Shared decoding for the fixed-width integers: accepts the integer column types only, so a
/// `numeric` or `double precision` column is never silently truncated.
private func decodeInteger<T: FixedWidthInteger>(_ text: PostgresText, _ type: PostgresType, as: T.Type) throws -> T {
    guard PostgresType.integers.contains(type) || type == .unknown || type == .text else {
        throw PostgresError.decoding("expected an integer column, got \(type) for \(T.self)")
    }
    guard let value = text.integer(T.self) else {
        throw PostgresError.decoding("integer out of range or malformed for \(T.self)")
    }
    return value
}

extension Int64: PostgresCodable {
    public var postgresText: String? { String(self) }
    public init(postgresText text: PostgresText, type: PostgresType) throws {
        self = try decodeInteger(text, type, as: Int64.self)
    }
}

extension Int: PostgresCodable {
    public var postgresText: String? { String(self) }
    public init(postgresText text: PostgresText, type: PostgresType) throws {
        self = try decodeInteger(text, type, as: Int.self)
    }
}

extension Int32: PostgresCodable {
    public var postgresText: String? { String(self) }
    public init(postgresText text: PostgresText, type: PostgresType) throws {
        self = try decodeInteger(text, type, as: Int32.self)
    }
}

extension Int16: PostgresCodable {
    public var postgresText: String? { String(self) }
    public init(postgresText text: PostgresText, type: PostgresType) throws {
        self = try decodeInteger(text, type, as: Int16.self)
    }
}

/// Arrays travel as one parameter holding a PostgreSQL array literal, so a whole batch of rows
/// can be written with `INSERT ... SELECT * FROM unnest($1::bigint[], $2::text[], ...)`.
extension Array: PostgresEncodable where Element: PostgresEncodable {
    // A closure, not `\.postgresText`: an unspecialized key path costs a runtime call per
    // element, which dominated the encoding of large bulk-write arrays.
    public var postgresText: String? { PostgresArrayLiteral.encode(self.map { $0.postgresText }) }
}

extension Array: PostgresDecodable where Element: PostgresDecodable {
    public init(postgresText text: PostgresText, type: PostgresType) throws {
        let elements = try PostgresArrayLiteral.decode(text.string)
        let elementType = PostgresArrayLiteral.elementType(of: type)
        self = try elements.map { element in
            guard let element else { throw PostgresError.decoding("NULL array element for \(Element.self)") }
            var utf8 = element
            return try utf8.withUTF8 { try Element(postgresText: PostgresText(bytes: $0), type: elementType) }
        }
    }
}
