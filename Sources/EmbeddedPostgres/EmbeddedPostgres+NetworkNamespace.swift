import Foundation

/// An embedded cluster that also listens on TCP inside a private network namespace (Linux,
/// root), for tests of a network that goes silent: taking that namespace's loopback down
/// drops every packet of the connections in it, as a failed link or a firewall would, while
/// the host's network and the cluster's Unix socket stay as they were.
extension EmbeddedPostgres {
    /// Restarts the server from inside the network namespace `namespace` (/proc/<pid>/ns/net),
    /// listening on 127.0.0.1 there (port `port`) as well as on its socket.
    public func listen(inNetworkNamespace namespace: String) throws {
        let conf = "\n# supportbill: TCP inside a private network namespace\nlisten_addresses = '127.0.0.1'\n"
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: dataDirectory + "/postgresql.conf"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(conf.utf8))
        try handle.close()
        try pgCtl(["stop", "-D", dataDirectory, "-m", "fast", "-w", "-t", "60", "-s"])
        try pgCtl(["start", "-D", dataDirectory, "-l", directory + "/server.log", "-w", "-t", "120", "-s"], networkNamespace: namespace)
    }

    /// `restartImmediately()` for a cluster listening in a network namespace: the new server
    /// is started from inside it again.
    public func restartImmediately(inNetworkNamespace namespace: String) throws {
        try pgCtl(["restart", "-D", dataDirectory, "-m", "immediate", "-w", "-t", "120", "-s", "-l", directory + "/server.log"],
                  networkNamespace: namespace)
    }
}
