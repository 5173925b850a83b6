import EmbeddedPostgres
import Foundation
import Postgres
import Testing

/// The Citus cluster the scale-out tests run on (docs/design.md §12). Where Citus is not installed
/// the cluster tests are skipped (Swift Testing lists them as skipped with the reason) and
/// `capability` prints why, so a run without Citus never looks like a pass.
@Suite("EmbeddedCitusCluster: a coordinator and two workers", .serialized)
struct EmbeddedCitusClusterTests {
    @Test("capability: says whether Citus is installed for this PostgreSQL")
    func capability() throws {
        let binaries = try PostgresBinaries.locate()
        guard let installation = CitusInstallation.locate(binaries: binaries) else {
            print("EmbeddedCitusClusterTests: \(CitusInstallation.notInstalledMessage) (server programs: \(binaries.directory))")
            // Starting a cluster without Citus names the missing extension and what to do.
            #expect(throws: EmbeddedCitusError.self) { try EmbeddedCitusCluster.start() }
            return
        }
        #expect(FileManager.default.fileExists(atPath: installation.libraryDirectory + "/citus.so"))
        #expect(installation.defaultVersion.range(of: #"^\d+\.\d+-\d+$"#, options: .regularExpression) != nil)
    }

    @Test("starts, has two active workers, spreads a distributed table over both, moves and rebalances its shards, replicates a reference table to every node, stops and removes its directory",
          .enabled(if: CitusInstallation.isAvailable, "Citus is not installed (see the capability test's line)"))
    func cluster() throws {
        let cluster = try EmbeddedCitusCluster.start()
        var stopped = false
        defer { if !stopped { try? cluster.stop() } }
        #expect(cluster.workers.count == 2)

        let db = try cluster.connect()
        defer { db.close() }

        // Every node runs Citus, as the postgres user when this process is root.
        for node in cluster.nodes {
            let conn = try node.connect()
            #expect(try conn.query("SELECT extversion FROM pg_extension WHERE extname = 'citus'").scalar(String.self) != nil)
            #expect(try conn.query("SELECT current_setting('shared_preload_libraries')").scalar(String.self) == "citus")
            conn.close()
            var info = stat()
            #expect(stat(node.dataDirectory, &info) == 0)
            if geteuid() == 0 { #expect(info.st_uid != 0) }
        }

        // The workers are the registered, active nodes, named by their socket directories.
        var active: [String] = []
        try db.stream("SELECT node_name FROM citus_get_active_worker_nodes() ORDER BY node_name") { row in
            active.append(try row.decode(0, as: String.self))
        }
        #expect(active == cluster.workers.map(\.socketDirectory).sorted())
        #expect(try db.query("SELECT nodename FROM pg_dist_node WHERE groupid = 0").scalar(String.self) == cluster.coordinator.socketDirectory)

        // A distributed table: 1000 rows over 32 shards land on both workers.
        try db.execute("CREATE TABLE spread (customer_id bigint NOT NULL, id bigint NOT NULL, amount bigint NOT NULL, PRIMARY KEY (customer_id, id))")
        _ = try db.query("SELECT create_distributed_table('spread', 'customer_id')")
        let customers = (1...1000).map { Int64($0) }
        #expect(try db.execute("INSERT INTO spread (customer_id, id, amount) SELECT c, c * 10, c * 100 FROM unnest($1::bigint[]) AS c", [customers]) == 1000)
        var rowsPerNode: [String: Int64] = [:]
        try db.stream("""
            SELECT p.nodename, sum(r.result::bigint)::bigint
              FROM run_command_on_shards('spread', 'SELECT count(*) FROM %s') r
              JOIN pg_dist_placement pl ON pl.shardid = r.shardid
              JOIN pg_dist_node p ON p.groupid = pl.groupid
             GROUP BY p.nodename
            """) { row in
            rowsPerNode[try row.decode(0, as: String.self)] = try row.decode(1, as: Int64.self)
        }
        #expect(Set(rowsPerNode.keys) == Set(cluster.workers.map(\.socketDirectory)))
        #expect(rowsPerNode.values.reduce(0, +) == 1000)
        #expect(rowsPerNode.values.allSatisfy { $0 > 100 })
        #expect(try db.query("SELECT sum(amount)::bigint FROM spread").scalar(Int64.self) == 50_050_000)
        // A single customer's rows are on one shard: the coordinator routes the query there.
        #expect(try db.query("SELECT amount FROM spread WHERE customer_id = $1", [Int64(777)]).scalar(Int64.self) == 77_700)

        // Shards move between workers (what adding a worker and rebalancing does): four shards
        // moved by hand, then the rebalancer (a background task that connects to its own node
        // through citus.local_hostname, here the socket directory) evens the counts out again.
        for node in cluster.nodes {
            let conn = try node.connect()
            #expect(try conn.query("SELECT current_setting('citus.local_hostname')").scalar(String.self) == node.socketDirectory)
            conn.close()
        }
        let (firstWorker, secondWorker) = (cluster.workers[0], cluster.workers[1])
        let shardsOn = "SELECT count(*)::bigint FROM citus_shards WHERE table_name = 'spread'::regclass AND nodename = $1"
        var moving: [Int64] = []
        try db.stream("""
            SELECT shardid FROM citus_shards WHERE table_name = 'spread'::regclass AND nodename = $1 ORDER BY shardid LIMIT 4
            """, [firstWorker.socketDirectory]) { row in moving.append(try row.decode(0, as: Int64.self)) }
        for shard in moving {
            _ = try db.query("SELECT citus_move_shard_placement($1, $2, $3, $4, $5, shard_transfer_mode => 'block_writes')",
                             [shard, firstWorker.socketDirectory, Int32(firstWorker.port), secondWorker.socketDirectory, Int32(secondWorker.port)])
        }
        #expect(try db.query(shardsOn, [firstWorker.socketDirectory]).scalar(Int64.self) == 12)
        #expect(try db.query(shardsOn, [secondWorker.socketDirectory]).scalar(Int64.self) == 20)
        _ = try db.query("SELECT citus_rebalance_start(shard_transfer_mode => 'block_writes')")
        _ = try db.query("SELECT citus_rebalance_wait()")
        #expect(try db.query("SELECT state::text FROM pg_dist_background_job ORDER BY job_id DESC LIMIT 1").scalar(String.self) == "finished")
        // The default strategy stops within 10% of the average (16 shards per worker).
        let afterFirst = try db.query(shardsOn, [firstWorker.socketDirectory]).scalar(Int64.self) ?? 0
        let afterSecond = try db.query(shardsOn, [secondWorker.socketDirectory]).scalar(Int64.self) ?? 0
        #expect(afterFirst + afterSecond == 32)
        #expect((15...17).contains(afterFirst) && (15...17).contains(afterSecond), "after rebalancing: \(afterFirst) and \(afterSecond) shards")
        #expect(try db.query("SELECT sum(amount)::bigint FROM spread").scalar(Int64.self) == 50_050_000)

        // A reference table: a full copy on every node, the coordinator included.
        try db.execute("CREATE TABLE currencies_ref (code text PRIMARY KEY, minor_units smallint NOT NULL)")
        _ = try db.query("SELECT create_reference_table('currencies_ref')")
        #expect(try db.execute("INSERT INTO currencies_ref VALUES ('EUR', 2), ('JPY', 0), ('KWD', 3)") == 3)
        var copies: [String: Int64] = [:]
        try db.stream("""
            SELECT nodename, result::bigint FROM run_command_on_placements('currencies_ref', 'SELECT count(*) FROM %s')
            """) { row in
            copies[try row.decode(0, as: String.self)] = try row.decode(1, as: Int64.self)
        }
        #expect(copies == Dictionary(uniqueKeysWithValues: cluster.nodes.map { ($0.socketDirectory, Int64(3)) }))
        // A worker answers a join of its reference copy with the distributed table.
        let worker = try cluster.workers[0].connect()
        #expect(try worker.query("SELECT count(*)::bigint FROM currencies_ref").scalar(Int64.self) == 3)
        worker.close()

        // Another database: created on every node and registered on its coordinator.
        try cluster.createDatabase("second_db")
        let second = try cluster.connect(database: "second_db")
        #expect(try second.query("SELECT count(*)::bigint FROM citus_get_active_worker_nodes()").scalar(Int64.self) == 2)
        try second.execute("CREATE TABLE t (customer_id bigint NOT NULL)")
        _ = try second.query("SELECT create_distributed_table('t', 'customer_id')")
        #expect(try second.query("SELECT count(DISTINCT nodename)::bigint FROM citus_shards WHERE table_name = 't'::regclass").scalar(Int64.self) == 2)
        second.close()
        // Preparing again changes nothing.
        try cluster.prepare(database: "second_db")
        #expect(try db.query("SELECT count(*)::bigint FROM pg_dist_node").scalar(Int64.self) == 3)

        db.close()
        try cluster.stop()
        stopped = true
        #expect(!FileManager.default.fileExists(atPath: cluster.directory))
        for node in cluster.nodes {
            #expect(throws: (any Error).self) { try node.connect() }
        }
    }
}
