import EmbeddedPostgres
import Foundation
import Postgres
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension FaultTests {
    /// The path to the database goes silent (packets dropped, no reset) while a run works. The
    /// connection's TCP keepalives and `tcp_user_timeout` (PostgresNetworkDefaults: 30 s idle,
    /// probes every 10 s, 60 s user timeout, unless set by the user) end it within about 70 s,
    /// 2 minutes at most (docs/failover.md); the server's side of the session has the same
    /// values, so its backend, holding the job's lock, ends as well.
    @Suite("a silent network ends the run")
    struct NetworkStallTests {
        static var scale: FaultScale {
            ProcessInfo.processInfo.environment["SUPPORTBILL_FAULT_SCALE"] == nil
                ? FaultScale(customers: 300, entriesPerTicket: 4, batchSize: 20) : .current
        }

        /// Shorter than the defaults, to keep the test fast: silent for 2 s, probes every
        /// second, the connection ends 4 s after the last packet received (about 4-5 s).
        static let fastKeepalives = "keepalives_idle=2 keepalives_interval=1 keepalives_count=2 tcp_user_timeout=4000"
        /// What the test allows on a loaded machine for those 5 s.
        static let bound: Duration = .seconds(30)

        @Test("the defaults are what docs/failover.md says, and are left out where the user set them: conninfo, URI, PG* environment, service file")
        func defaults() throws {
            let all = PostgresNetworkDefaults.unset(conninfo: nil, parameters: [], environment: [:])
            #expect(all.map { "\($0.0)=\($0.1)" } == [
                "keepalives=1", "keepalives_idle=30", "keepalives_interval=10", "keepalives_count=3", "tcp_user_timeout=60000",
            ])
            let keys = { (list: [(String, String)]) in list.map(\.0) }
            #expect(keys(PostgresNetworkDefaults.unset(conninfo: "host=db keepalives_idle=5 tcp_user_timeout=0", parameters: [], environment: [:]))
                    == ["keepalives", "keepalives_interval", "keepalives_count"])
            #expect(keys(PostgresNetworkDefaults.unset(conninfo: "postgresql://db/billing?keepalives=0&keepalives_count=9", parameters: [], environment: [:]))
                    == ["keepalives_idle", "keepalives_interval", "tcp_user_timeout"])
            #expect(keys(PostgresNetworkDefaults.unset(conninfo: nil, parameters: [("keepalives_interval", "3")], environment: [:]))
                    == ["keepalives", "keepalives_idle", "keepalives_count", "tcp_user_timeout"])
            // A service (named in the conninfo, or by PGSERVICE) may set them in the service file.
            let file = NSTemporaryDirectory() + "/supportbill-service-\(getpid()).conf"
            try "[other]\nkeepalives=0\n[billing]\nhost=db\n# a comment\ntcp_user_timeout = 20000\n".write(toFile: file, atomically: true, encoding: .utf8)
            defer { unlink(file) }
            #expect(keys(PostgresNetworkDefaults.unset(conninfo: "service=billing", parameters: [], environment: ["PGSERVICEFILE": file]))
                    == ["keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count"])
            #expect(keys(PostgresNetworkDefaults.unset(conninfo: nil, parameters: [], environment: ["PGSERVICEFILE": file, "PGSERVICE": "other"]))
                    == ["keepalives_idle", "keepalives_interval", "keepalives_count", "tcp_user_timeout"])
            // The server's side mirrors the connection's values; keepalives off mirrors nothing.
            #expect(PostgresNetworkDefaults.serverSettings(effective: ["keepalives": "1", "keepalives_idle": "30", "keepalives_interval": "10",
                                                                       "keepalives_count": "3", "tcp_user_timeout": "60000"]).map { "\($0.0)=\($0.1)" }
                    == ["tcp_keepalives_idle=30", "tcp_keepalives_interval=10", "tcp_keepalives_count=3", "tcp_user_timeout=60000"])
            #expect(PostgresNetworkDefaults.serverSettings(effective: ["keepalives": "0", "keepalives_idle": "30"]).isEmpty)
        }

        // Needs a private network namespace (root, unshare, nsenter, ip): without one the test
        // is skipped, and says so in the test list.
        @Test("the network goes silent while a batch waits: the run exits 69 within the bound, the server ends the run's backend (the job's lock) within it too, the next run marks the abandoned run failed, and the result equals one clean run",
              .enabled(if: NetworkNamespace.isAvailable, "needs root and a private network namespace (unshare -n, nsenter, ip)"))
        func stall() throws {
            let namespace = try NetworkNamespace()
            defer { namespace.close() }
            var settings = EmbeddedPostgres.Options.disposable
            settings["synchronous_commit"] = "on"
            let cluster = try EmbeddedPostgres.start(EmbeddedPostgres.Options(settings: settings))
            defer { try? cluster.stop() }
            try cluster.listen(inNetworkNamespace: namespace.path)
            let scenario = try FaultScenario.make(on: cluster, scale: Self.scale)
            let harness = try FaultHarness("monthly-rollup", "stall", scenario: scenario)
            defer { harness.close() }
            try harness.watcher.execute("CHECKPOINT")

            let blocker = try DeadClientTests.holdHalfWay(harness)
            let conninfo = "host=127.0.0.1 port=\(cluster.port) dbname=\(harness.database.name) user=\(RunnerRole.login) \(Self.fastKeepalives)"
            let (program, arguments) = namespace.command(ChildProcess.supportbillPath, FaultMonth.arguments("monthly-rollup", jobsDir: scenario.jobsDir)
                + ["--database", conninfo, "--batch-size", String(scenario.scale.batchSize), "--client-connection-check-interval", "1s"])
            let run = try ChildProcess(program, arguments)
            let backend = try harness.probe.waitUntilBlocked(by: blocker.db.backendPID, in: "WITH w AS (").pid
            let doneBefore = try harness.checkStep("before the network went silent")

            try namespace.setLoopback(up: false)
            let stalled = ContinuousClock.now
            let result = run.wait()
            let clientEnded = ContinuousClock.now - stalled
            #expect(result.status == 69, "exit \(result.status) after the network went silent: \(result.stderr.suffix(800))")
            #expect(clientEnded < Self.bound, "the run took \(clientEnded) to give up on the silent network")
            let message = result.stderr.split(separator: "\n").last { $0.hasPrefix("supportbill: monthly-rollup:") } ?? ""
            #expect(message.contains("lost the connection to PostgreSQL"), "\(result.stderr.suffix(800))")

            // The server's side: its backend still waits on the test's row; the mirrored
            // keepalives end the socket, and client_connection_check_interval the statement.
            let gone = try RunnerProbe.poll(timeout: Self.bound) { try harness.probe.backendAlive(backend) ? nil : true }
            let serverEnded = ContinuousClock.now - stalled
            #expect(gone == true, "the server still runs the abandoned run's backend \(serverEnded) after the network went silent")
            print("network stall: the run exited after \(clientEnded), the server ended its backend after \(serverEnded)")
            blocker.release()

            let done = try harness.checkStep("after the network went silent")
            #expect(done == doneBefore, "the abandoned batch changed what was committed")
            #expect(try harness.runs().map(\.status) == ["running"])
            let rerun = try harness.run()
            #expect(rerun.status == 0, "\(rerun.stderr.suffix(800))")
            try harness.expectClean("after the rerun")
            let runs = try harness.runs()
            #expect(runs.map(\.status) == ["failed", "succeeded"])
            #expect(runs.first?.error?.contains("stale") == true, "\(runs)")
        }
    }
}
