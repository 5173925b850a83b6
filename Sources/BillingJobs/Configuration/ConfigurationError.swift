/// A jobs/*.toml file that cannot be used: names the file and the key. Exit 64.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    public let file: String
    public let key: String?
    public let problem: String

    public init(file: String, key: String?, problem: String) {
        self.file = file
        self.key = key
        self.problem = problem
    }

    public var description: String {
        if let key { return "\(file): \(key): \(problem)" }
        return "\(file): \(problem)"
    }
}
