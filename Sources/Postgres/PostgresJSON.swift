/// A `json` or `jsonb` value as its text. Parsing belongs to the caller, which knows the shape.
public struct PostgresJSON: PostgresCodable, Hashable, Sendable, CustomStringConvertible {
    public let text: String

    public init(_ text: String) { self.text = text }

    public var description: String { text }
    public var postgresText: String? { text }

    public init(postgresText text: PostgresText, type: PostgresType) throws {
        guard type == .json || type == .jsonb || type == .unknown || type == .text else {
            throw PostgresError.decoding("expected json or jsonb, got \(type)")
        }
        self.text = text.string
    }
}
