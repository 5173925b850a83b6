/// A JSON value with ordered object keys, for deterministic reports, `job_runs.stats` and
/// `audit_events.detail`. Numbers are integers or exact decimal text: never floating point.
public indirect enum JSONValue: Hashable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    /// An exact decimal number, written as its text (`2.25`).
    case decimal(String)
    case string(String)
    case array([JSONValue])
    /// Keys keep the order they were given in.
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.int(a), .int(b)): return a == b
        case let (.decimal(a), .decimal(b)): return a == b
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(compactText)
    }

    public subscript(key: String) -> JSONValue? {
        guard case .object(let fields) = self else { return nil }
        return fields.first { $0.0 == key }?.1
    }

    public var intValue: Int64? { if case .int(let v) = self { return v }; return nil }
    public var stringValue: String? { if case .string(let v) = self { return v }; return nil }
    public var boolValue: Bool? { if case .bool(let v) = self { return v }; return nil }
    public var arrayValue: [JSONValue]? { if case .array(let v) = self { return v }; return nil }
    public var objectValue: [(String, JSONValue)]? { if case .object(let v) = self { return v }; return nil }

    /// One line, no spaces.
    public var compactText: String {
        var output = ""
        write(to: &output, indent: nil, level: 0)
        return output
    }

    /// Indented by two spaces, one field per line.
    public var prettyText: String {
        var output = ""
        write(to: &output, indent: "  ", level: 0)
        return output
    }

    private func write(to output: inout String, indent: String?, level: Int) {
        switch self {
        case .null: output += "null"
        case .bool(let value): output += value ? "true" : "false"
        case .int(let value): output += String(value)
        case .decimal(let text): output += text
        case .string(let text): JSONValue.writeString(text, to: &output)
        case .array(let values):
            if values.isEmpty { output += "[]"; return }
            output += "["
            for (index, value) in values.enumerated() {
                if index > 0 { output += "," }
                if let indent { output += "\n" + String(repeating: indent, count: level + 1) }
                value.write(to: &output, indent: indent, level: level + 1)
            }
            if let indent { output += "\n" + String(repeating: indent, count: level) }
            output += "]"
        case .object(let fields):
            if fields.isEmpty { output += "{}"; return }
            output += "{"
            for (index, (key, value)) in fields.enumerated() {
                if index > 0 { output += "," }
                if let indent { output += "\n" + String(repeating: indent, count: level + 1) }
                JSONValue.writeString(key, to: &output)
                output += indent == nil ? ":" : ": "
                value.write(to: &output, indent: indent, level: level + 1)
            }
            if let indent { output += "\n" + String(repeating: indent, count: level) }
            output += "}"
        }
    }

    private static func writeString(_ text: String, to output: inout String) {
        output += "\""
        // Most strings need no escape: appended whole, not scalar by scalar.
        if !text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            output += text
            output += "\""
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
    }

    /// Parses JSON text (as PostgreSQL's jsonb prints it). Non-integral numbers become `.decimal`.
    public init(parsing text: String) throws {
        var parser = Parser(scalars: Array(text.unicodeScalars))
        parser.skipWhitespace()
        self = try parser.value()
        parser.skipWhitespace()
        guard parser.index == parser.scalars.count else { throw BillingError.invalidInput("trailing characters after JSON value") }
    }

    private struct Parser {
        let scalars: [Unicode.Scalar]
        var index = 0

        mutating func skipWhitespace() {
            while index < scalars.count, [" ", "\n", "\r", "\t"].contains(scalars[index]) { index += 1 }
        }

        mutating func value() throws -> JSONValue {
            guard index < scalars.count else { throw BillingError.invalidInput("unexpected end of JSON") }
            switch scalars[index] {
            case "n": try literal("null"); return .null
            case "t": try literal("true"); return .bool(true)
            case "f": try literal("false"); return .bool(false)
            case "\"": return .string(try string())
            case "[":
                index += 1
                var values: [JSONValue] = []
                skipWhitespace()
                if index < scalars.count, scalars[index] == "]" { index += 1; return .array([]) }
                while true {
                    skipWhitespace()
                    values.append(try value())
                    skipWhitespace()
                    guard index < scalars.count else { throw BillingError.invalidInput("unterminated JSON array") }
                    if scalars[index] == "," { index += 1; continue }
                    if scalars[index] == "]" { index += 1; return .array(values) }
                    throw BillingError.invalidInput("malformed JSON array")
                }
            case "{":
                index += 1
                var fields: [(String, JSONValue)] = []
                skipWhitespace()
                if index < scalars.count, scalars[index] == "}" { index += 1; return .object([]) }
                while true {
                    skipWhitespace()
                    let key = try string()
                    skipWhitespace()
                    guard index < scalars.count, scalars[index] == ":" else { throw BillingError.invalidInput("malformed JSON object") }
                    index += 1
                    skipWhitespace()
                    fields.append((key, try value()))
                    skipWhitespace()
                    guard index < scalars.count else { throw BillingError.invalidInput("unterminated JSON object") }
                    if scalars[index] == "," { index += 1; continue }
                    if scalars[index] == "}" { index += 1; return .object(fields) }
                    throw BillingError.invalidInput("malformed JSON object")
                }
            default:
                return try number()
            }
        }

        mutating func literal(_ word: String) throws {
            for scalar in word.unicodeScalars {
                guard index < scalars.count, scalars[index] == scalar else { throw BillingError.invalidInput("malformed JSON literal") }
                index += 1
            }
        }

        mutating func string() throws -> String {
            guard index < scalars.count, scalars[index] == "\"" else { throw BillingError.invalidInput("expected a JSON string") }
            index += 1
            var result = String.UnicodeScalarView()
            while index < scalars.count {
                let scalar = scalars[index]
                index += 1
                if scalar == "\"" { return String(result) }
                if scalar != "\\" { result.append(scalar); continue }
                guard index < scalars.count else { break }
                let escaped = scalars[index]
                index += 1
                switch escaped {
                case "n": result.append("\n")
                case "r": result.append("\r")
                case "t": result.append("\t")
                case "b": result.append("\u{08}")
                case "f": result.append("\u{0C}")
                case "u":
                    var code = try hex4()
                    if (0xD800...0xDBFF).contains(code), index + 1 < scalars.count, scalars[index] == "\\", scalars[index + 1] == "u" {
                        index += 2
                        let low = try hex4()
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let decoded = Unicode.Scalar(code) else { throw BillingError.invalidInput("invalid JSON escape") }
                    result.append(decoded)
                default: result.append(escaped)
                }
            }
            throw BillingError.invalidInput("unterminated JSON string")
        }

        mutating func hex4() throws -> UInt32 {
            guard index + 4 <= scalars.count, let code = UInt32(String(String.UnicodeScalarView(scalars[index..<index + 4])), radix: 16) else {
                throw BillingError.invalidInput("invalid JSON escape")
            }
            index += 4
            return code
        }

        mutating func number() throws -> JSONValue {
            let start = index
            while index < scalars.count, "+-0123456789.eE".unicodeScalars.contains(scalars[index]) { index += 1 }
            let text = String(String.UnicodeScalarView(scalars[start..<index]))
            guard !text.isEmpty else { throw BillingError.invalidInput("malformed JSON value") }
            if let integer = Int64(text) { return .int(integer) }
            return .decimal(text)
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByNilLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(nilLiteral: ()) { self = .null }
}
