import BillingCore

/// The byte form of report records in a spill file: exact (a `.decimal("1")` comes back as a
/// decimal, not as an integer, so every renderer prints the same text) and fast to read back.
///
///     record := customer (value: null or int) · sort key (string) · fields (value)
///     value  := 0 null | 1 false | 2 true | 3 int (8 bytes, little-endian) | 4 decimal text
///             | 5 string | 6 array (count, values) | 7 object (count, (key text, value)...)
///     text   := length (4 bytes, little-endian) · UTF-8
enum ReportRecordCodec {
    struct Corrupt: Error, CustomStringConvertible {
        let offset: Int
        var description: String { "the report's spill file is corrupt at byte \(offset)" }
    }

    static func encode(_ record: ReportRecord, into bytes: inout [UInt8]) {
        if let customer = record.customerID {
            bytes.append(3)
            appendInteger(UInt64(bitPattern: customer), byteCount: 8, to: &bytes)
        } else {
            bytes.append(0)
        }
        appendText(record.sortKey, to: &bytes)
        encode(record.fields, into: &bytes)
    }

    static func encode(_ value: JSONValue, into bytes: inout [UInt8]) {
        switch value {
        case .null: bytes.append(0)
        case .bool(let flag): bytes.append(flag ? 2 : 1)
        case .int(let number):
            bytes.append(3)
            appendInteger(UInt64(bitPattern: number), byteCount: 8, to: &bytes)
        case .decimal(let text):
            bytes.append(4)
            appendText(text, to: &bytes)
        case .string(let text):
            bytes.append(5)
            appendText(text, to: &bytes)
        case .array(let values):
            bytes.append(6)
            appendInteger(UInt64(values.count), byteCount: 4, to: &bytes)
            for element in values { encode(element, into: &bytes) }
        case .object(let fields):
            bytes.append(7)
            appendInteger(UInt64(fields.count), byteCount: 4, to: &bytes)
            for (key, element) in fields {
                appendText(key, to: &bytes)
                encode(element, into: &bytes)
            }
        }
    }

    /// Decodes the record at `offset`, moving `offset` past it.
    static func decodeRecord(_ bytes: UnsafeRawBufferPointer, _ offset: inout Int) throws -> ReportRecord {
        let customer: Int64?
        switch try byte(bytes, &offset) {
        case 0: customer = nil
        case 3: customer = Int64(bitPattern: try integer(bytes, &offset, byteCount: 8))
        default: throw Corrupt(offset: offset)
        }
        let sortKey = try text(bytes, &offset)
        return ReportRecord(customerID: customer, sortKey: sortKey, value: try decodeValue(bytes, &offset))
    }

    static func decodeValue(_ bytes: UnsafeRawBufferPointer, _ offset: inout Int) throws -> JSONValue {
        switch try byte(bytes, &offset) {
        case 0: return .null
        case 1: return .bool(false)
        case 2: return .bool(true)
        case 3: return .int(Int64(bitPattern: try integer(bytes, &offset, byteCount: 8)))
        case 4: return .decimal(try text(bytes, &offset))
        case 5: return .string(try text(bytes, &offset))
        case 6:
            let count = Int(try integer(bytes, &offset, byteCount: 4))
            var values: [JSONValue] = []
            values.reserveCapacity(count)
            for _ in 0..<count { values.append(try decodeValue(bytes, &offset)) }
            return .array(values)
        case 7:
            let count = Int(try integer(bytes, &offset, byteCount: 4))
            var fields: [(String, JSONValue)] = []
            fields.reserveCapacity(count)
            for _ in 0..<count {
                let key = try text(bytes, &offset)
                fields.append((key, try decodeValue(bytes, &offset)))
            }
            return .object(fields)
        default:
            throw Corrupt(offset: offset - 1)
        }
    }

    private static func appendInteger(_ value: UInt64, byteCount: Int, to bytes: inout [UInt8]) {
        for index in 0..<byteCount { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(index)))) }
    }

    private static func appendText(_ text: String, to bytes: inout [UInt8]) {
        let utf8 = text.utf8
        appendInteger(UInt64(utf8.count), byteCount: 4, to: &bytes)
        bytes.append(contentsOf: utf8)
    }

    private static func byte(_ bytes: UnsafeRawBufferPointer, _ offset: inout Int) throws -> UInt8 {
        guard offset < bytes.count else { throw Corrupt(offset: offset) }
        defer { offset += 1 }
        return bytes[offset]
    }

    private static func integer(_ bytes: UnsafeRawBufferPointer, _ offset: inout Int, byteCount: Int) throws -> UInt64 {
        guard offset + byteCount <= bytes.count else { throw Corrupt(offset: offset) }
        var value: UInt64 = 0
        for index in 0..<byteCount { value |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
        offset += byteCount
        return value
    }

    private static func text(_ bytes: UnsafeRawBufferPointer, _ offset: inout Int) throws -> String {
        let count = Int(try integer(bytes, &offset, byteCount: 4))
        guard offset + count <= bytes.count else { throw Corrupt(offset: offset) }
        defer { offset += count }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)]), as: UTF8.self)
    }
}
