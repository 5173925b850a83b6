import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A private network namespace (Linux, root: `unshare -n`) with its own loopback, for tests of
/// a network that goes silent. A TCP proxy in user space cannot make a connection silent: its
/// kernel keeps acknowledging every segment and answering keepalive probes, so no TCP timeout
/// ever fires (that is a live peer that never answers, a different failure). Taking this
/// namespace's loopback down drops every packet of the connections inside it, in both
/// directions, as a failed link would; nothing outside the namespace is touched.
public final class NetworkNamespace: @unchecked Sendable {
    private let holder: ChildProcess

    /// The namespace, for `nsenter --net=`.
    public var path: String { "/proc/\(holder.pid)/ns/net" }

    /// Whether this machine lets the tests create one (root, util-linux's unshare and nsenter, ip).
    public static let isAvailable: Bool = {
        guard geteuid() == 0, ["/usr/bin/unshare", "/usr/bin/nsenter"].allSatisfy(FileManager.default.isExecutableFile(atPath:)),
              let ip = ipPath else { return false }
        let probe = try? ChildProcess("/usr/bin/unshare", ["-n", ip, "link", "set", "lo", "up"]).wait()
        return probe?.status == 0
    }()

    static var ipPath: String? {
        ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first(where: FileManager.default.isExecutableFile(atPath:))
    }

    /// Creates the namespace (held by a sleeping process) with its loopback up.
    public init() throws {
        holder = try ChildProcess("/usr/bin/unshare", ["-n", "/bin/sleep", "86400"])
        // unshare has made the namespace once the process's differs from ours.
        let own = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/ns/net")
        let path = "/proc/\(holder.pid)/ns/net"
        let deadline = ContinuousClock.now + .seconds(10)
        while (try? FileManager.default.destinationOfSymbolicLink(atPath: path)) == own, ContinuousClock.now < deadline {
            usleep(10_000)
        }
        try setLoopback(up: true)
    }

    /// Takes the loopback up or down: down, every packet on it is dropped.
    public func setLoopback(up: Bool) throws {
        guard let ip = Self.ipPath else { throw POSIXError(.ENOENT) }
        let result = try ChildProcess("/usr/bin/nsenter", ["--net=\(path)", ip, "link", "set", "lo", up ? "up" : "down"]).wait()
        guard result.status == 0 else { throw POSIXError(.EIO) }
    }

    /// `program arguments` run inside the namespace: the program and arguments for ChildProcess.
    public func command(_ program: String, _ arguments: [String]) -> (String, [String]) {
        ("/usr/bin/nsenter", ["--net=\(path)", program] + arguments)
    }

    public func close() {
        holder.signal(SIGKILL)
        _ = holder.wait()
    }

    deinit { close() }
}
