/// Text reports show names, subjects and notes typed by people or other systems. Printed raw,
/// a control character in them could rewrite the operator's terminal (an ANSI escape sequence),
/// forge a report line (a newline) or reorder what is read (bidirectional overrides). Each such
/// character is shown as an escape instead; JSON carries the text verbatim (it escapes every
/// control character), CSV escapes all but tab, newline and carriage return (it quotes those).
public enum TextSafety {
    /// One line of a text report with every control, bidi-override and line-separator
    /// character written as `\u{XX}`.
    public static func printable(_ line: String) -> String {
        printable(line, keeping: [])
    }

    /// `printable(_:)`, leaving the characters of `kept` as they are.
    public static func printable(_ line: String, keeping kept: Set<Unicode.Scalar>) -> String {
        func escaped(_ scalar: Unicode.Scalar) -> Bool { isUnsafe(scalar) && !kept.contains(scalar) }
        guard line.unicodeScalars.contains(where: escaped) else { return line }
        var result = ""
        for scalar in line.unicodeScalars {
            if escaped(scalar) {
                result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    public static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F: return true          // C0 (newline, ESC, ...), DEL, C1
        case 0x2028, 0x2029: return true                    // line and paragraph separators
        case 0x202A...0x202E, 0x2066...0x2069: return true  // bidirectional embeddings and overrides
        default: return false
        }
    }
}
