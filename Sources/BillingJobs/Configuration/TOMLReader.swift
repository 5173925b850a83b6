import BillingCore
import TOMLKit

/// Reads typed keys out of a TOML table and refuses what it does not know: a key left out
/// takes its default, an unknown key or a wrong type is a `ConfigurationError`.
public struct TOMLReader {
    let table: TOMLTable
    let file: String
    let prefix: String
    private var used: Set<String> = []

    public init(text: String, file: String) throws {
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigurationError(file: file, key: nil, problem: "not valid TOML (\(error.source.begin.debugDescription)): \(error.description)")
        }
        self.file = file
        self.prefix = ""
    }

    private init(table: TOMLTable, file: String, prefix: String) {
        self.table = table
        self.file = file
        self.prefix = prefix
    }

    private func fail(_ key: String, _ problem: String) -> ConfigurationError {
        ConfigurationError(file: file, key: prefix + key, problem: problem)
    }

    private mutating func value(_ key: String) -> TOMLValueConvertible? {
        used.insert(key)
        return table[key]
    }

    public mutating func string(_ key: String, default defaultValue: String) throws -> String {
        guard let value = value(key) else { return defaultValue }
        guard let text = value.string else { throw fail(key, "expected a string, found \(value.type)") }
        return text
    }

    public mutating func int(_ key: String, default defaultValue: Int, range: ClosedRange<Int> = Int.min...Int.max) throws -> Int {
        guard let value = value(key) else { return defaultValue }
        guard let number = value.int else { throw fail(key, "expected an integer, found \(value.type)") }
        guard range.contains(number) else { throw fail(key, "must be between \(range.lowerBound) and \(range.upperBound), found \(number)") }
        return number
    }

    public mutating func bool(_ key: String, default defaultValue: Bool) throws -> Bool {
        guard let value = value(key) else { return defaultValue }
        guard let flag = value.bool else { throw fail(key, "expected true or false, found \(value.type)") }
        return flag
    }

    /// A string that must be one of `choices`.
    public mutating func choice(_ key: String, default defaultValue: String, choices: [String]) throws -> String {
        let text = try string(key, default: defaultValue)
        guard choices.contains(text) else { throw fail(key, "must be one of \(choices.map { "\"\($0)\"" }.joined(separator: ", ")), found \"\(text)\"") }
        return text
    }

    /// A nested table, read with the same rules; nil when absent.
    public mutating func table(_ key: String) throws -> TOMLReader? {
        guard let value = value(key) else { return nil }
        guard let nested = value.table else { throw fail(key, "expected a table, found \(value.type)") }
        return TOMLReader(table: nested, file: file, prefix: prefix + key + ".")
    }

    /// A table of amounts per currency (`{ USD = 5000, JPY = 500 }`), in minor units.
    public mutating func amounts(_ key: String, default defaultValue: [CurrencyCode: Int64], minimum: Int64 = 0) throws -> [CurrencyCode: Int64] {
        guard var nested = try table(key) else { return defaultValue }
        return try nested.amountsInThisTable(minimum: minimum)
    }

    /// Every key of this table as a currency code with an amount in minor units.
    public mutating func amountsInThisTable(minimum: Int64 = 0) throws -> [CurrencyCode: Int64] {
        var amounts: [CurrencyCode: Int64] = [:]
        for key in table.keys.sorted() {
            guard let code = try? CurrencyCode(key) else { throw fail(key, "not an ISO 4217 currency code (three upper-case letters)") }
            let amount = try int(key, default: 0)
            guard Int64(amount) >= minimum else { throw fail(key, "must be at least \(minimum) minor units, found \(amount)") }
            amounts[code] = Int64(amount)
        }
        return amounts
    }

    /// Refuses keys that were never asked for: a misspelt key must not silently take a default.
    public func finish() throws {
        if let unknown = table.keys.sorted().first(where: { !used.contains($0) }) {
            throw fail(unknown, "unknown key")
        }
    }
}
