/// Where to connect: a conninfo string or URI (nil: libpq's environment and defaults) plus
/// keyword overrides. Holds no connection, so it can be handed around and reused.
public struct PostgresTarget: Sendable {
    public var conninfo: String?
    public var parameters: [(String, String)]

    public init(conninfo: String? = nil, parameters: [(String, String)] = []) {
        self.conninfo = conninfo
        self.parameters = parameters
    }

    public func connect(settings: [(String, String)] = [], applicationName: String = "supportbill") throws -> PostgresConnection {
        try PostgresConnection(conninfo: conninfo, parameters: parameters, settings: settings, applicationName: applicationName)
    }
}
