import ArgumentParser
import Foundation

/// A session option that PostgreSQL reads as a duration (`lock_timeout`, `statement_timeout`,
/// ...), checked before connecting: a bad value is a usage error (64) naming the option and the
/// units, not a server error after the lock is taken (docs/design.md §11).
enum SessionDuration {
    /// PostgreSQL's time units for parameters measured in milliseconds.
    static let units = ["us", "ms", "s", "min", "h", "d"]

    /// Throws a `ValidationError` naming `option` unless `value` is a number, optionally with a
    /// fraction, optionally followed by one of `units` (spaces allowed between, as PostgreSQL
    /// allows them); a bare number is milliseconds, 0 is no limit.
    static func validate(_ option: String, _ value: String) throws {
        let text = value.trimmingCharacters(in: .whitespaces)
        let digits = text.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        let unit = text.dropFirst(digits.count).trimmingCharacters(in: .whitespaces)
        let number = digits.split(separator: ".", omittingEmptySubsequences: false)
        let isNumber = !digits.isEmpty && number.count <= 2 && !number[0].isEmpty && number.allSatisfy { $0.allSatisfy(\.isNumber) }
        guard isNumber, unit.isEmpty || units.contains(unit) else {
            throw ValidationError("\(option) '\(value)' is not a PostgreSQL duration: write a number with one of the units \(units.joined(separator: ", ")) (e.g. 60s, 5min, 1h; no unit = ms; 0 = no limit)")
        }
    }
}
