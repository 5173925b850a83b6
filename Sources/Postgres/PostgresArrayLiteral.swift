/// One-dimensional PostgreSQL array literals (`{"a","b",NULL}`), the text form of array values.
public enum PostgresArrayLiteral {
    /// Every element is double-quoted with `\` and `"` escaped, so no element text can end the
    /// literal early or be read as NULL.
    public static func encode(_ elements: [String?]) -> String {
        // Built as UTF-8 bytes: element texts (JSON documents, descriptions) are copied byte by
        // byte, which is many times faster than appending unicode scalars to a String.
        var bytes: [UInt8] = [UInt8(ascii: "{")]
        bytes.reserveCapacity(elements.count * 12 + 2)
        for (index, element) in elements.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            guard let element else {
                bytes.append(contentsOf: "NULL".utf8)
                continue
            }
            bytes.append(UInt8(ascii: "\""))
            for byte in element.utf8 {
                if byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\"") { bytes.append(UInt8(ascii: "\\")) }
                bytes.append(byte)
            }
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Parses a one-dimensional array literal as PostgreSQL prints it. Works on UTF-8 bytes:
    /// every delimiter is ASCII, so no multi-byte character can be split.
    public static func decode(_ literal: String) throws -> [String?] {
        var bytes = Array(literal.utf8)
        // A literal may start with dimension decoration: [1:3]={...}
        if bytes.first == UInt8(ascii: "["), let equals = bytes.firstIndex(of: UInt8(ascii: "=")) { bytes.removeSubrange(0...equals) }
        guard bytes.first == UInt8(ascii: "{"), bytes.last == UInt8(ascii: "}") else {
            throw PostgresError.decoding("malformed array literal")
        }
        var elements: [String?] = []
        var index = 1
        let end = bytes.count - 1
        if index == end { return [] }
        while index <= end {
            var text: [UInt8] = []
            var quoted = false
            if bytes[index] == UInt8(ascii: "{") { throw PostgresError.decoding("multi-dimensional arrays are not supported") }
            if bytes[index] == UInt8(ascii: "\"") {
                quoted = true
                index += 1
                while index < end, bytes[index] != UInt8(ascii: "\"") {
                    if bytes[index] == UInt8(ascii: "\\") { index += 1 }
                    text.append(bytes[index])
                    index += 1
                }
                index += 1 // closing quote
            } else {
                while index < end, bytes[index] != UInt8(ascii: ",") {
                    text.append(bytes[index])
                    index += 1
                }
            }
            let value = String(decoding: text, as: UTF8.self)
            elements.append(!quoted && value == "NULL" ? nil : value)
            guard index == end || bytes[index] == UInt8(ascii: ",") else {
                throw PostgresError.decoding("malformed array literal")
            }
            index += 1
        }
        return elements
    }

    static func elementType(of arrayType: PostgresType) -> PostgresType {
        switch arrayType {
        case .int2Array: return .int2
        case .int4Array: return .int4
        case .int8Array: return .int8
        case .textArray, .varcharArray: return .text
        case .dateArray: return .date
        default: return .unknown
        }
    }
}
