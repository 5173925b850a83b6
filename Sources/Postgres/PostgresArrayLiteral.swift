/// One-dimensional PostgreSQL array literals (`{"a","b",NULL}`), the text form of array values.
public enum PostgresArrayLiteral {
    /// Every element is double-quoted with `\` and `"` escaped, so no element text can end the
    /// literal early or be read as NULL.
    public static func encode(_ elements: [String?]) -> String {
        var result = "{"
        result.reserveCapacity(elements.count * 8 + 2)
        for (index, element) in elements.enumerated() {
            if index > 0 { result += "," }
            guard let element else { result += "NULL"; continue }
            result += "\""
            for character in element.unicodeScalars {
                if character == "\\" || character == "\"" { result += "\\" }
                result.unicodeScalars.append(character)
            }
            result += "\""
        }
        result += "}"
        return result
    }

    /// Parses a one-dimensional array literal as PostgreSQL prints it.
    public static func decode(_ literal: String) throws -> [String?] {
        var scalars = Array(literal.unicodeScalars)
        // A literal may start with dimension decoration: [1:3]={...}
        if let equals = scalars.firstIndex(of: "="), scalars.first == "[" { scalars.removeSubrange(0...equals) }
        guard scalars.first == "{", scalars.last == "}" else {
            throw PostgresError.decoding("malformed array literal")
        }
        var elements: [String?] = []
        var index = 1
        let end = scalars.count - 1
        if index == end { return [] }
        while index <= end {
            var text = String.UnicodeScalarView()
            var quoted = false
            if scalars[index] == "{" { throw PostgresError.decoding("multi-dimensional arrays are not supported") }
            if scalars[index] == "\"" {
                quoted = true
                index += 1
                while index < end, scalars[index] != "\"" {
                    if scalars[index] == "\\" { index += 1 }
                    text.append(scalars[index])
                    index += 1
                }
                index += 1 // closing quote
            } else {
                while index < end, scalars[index] != "," {
                    text.append(scalars[index])
                    index += 1
                }
            }
            let value = String(text)
            elements.append(!quoted && value == "NULL" ? nil : value)
            guard index == end || scalars[index] == "," else {
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
