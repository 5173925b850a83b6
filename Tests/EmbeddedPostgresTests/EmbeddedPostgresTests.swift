import EmbeddedPostgres
import Foundation
import Postgres
import Testing

@Suite("EmbeddedPostgres: a throwaway cluster on a Unix socket")
struct EmbeddedPostgresTests {
    @Test("finds initdb and pg_ctl on this machine")
    func locate() throws {
        let binaries = try PostgresBinaries.locate()
        #expect(FileManager.default.isExecutableFile(atPath: binaries.initdb))
        #expect(FileManager.default.isExecutableFile(atPath: binaries.pgCtl))
    }

    @Test("missing binaries: the error says which package to install")
    func missing() {
        do {
            _ = try PostgresBinaries.locate(environment: ["PATH": "/nonexistent"], standardLocations: false)
            Issue.record("found binaries in /nonexistent?")
        } catch {
            let text = "\(error)"
            #expect(text.contains("apt-get install -y postgresql"))
            #expect(text.contains("SUPPORTBILL_PG_BINDIR"))
        }
    }

    @Test("starts on a socket only, serves queries, stops and removes its directory")
    func lifecycle() throws {
        let cluster = try EmbeddedPostgres.start()
        let db = try cluster.connect()
        #expect(try db.query("SELECT current_setting('listen_addresses')").scalar(String.self) == "")
        #expect(try db.query("SELECT current_setting('server_version_num')::int >= 120000").scalar(Bool.self) == true)
        #expect(try db.query("SELECT current_user").scalar(String.self) == "postgres")
        // As root, PostgreSQL runs as the postgres user, never as root.
        let owner = try db.query("SELECT pg_stat_file('PG_VERSION')").first != nil
        #expect(owner)
        db.close()
        var info = stat()
        #expect(stat(cluster.dataDirectory, &info) == 0)
        if geteuid() == 0 { #expect(info.st_uid != 0) }
        try cluster.stop()
        #expect(!FileManager.default.fileExists(atPath: cluster.directory))
    }

    @Test("two clusters run side by side in their own directories")
    func sideBySide() throws {
        let first = try EmbeddedPostgres.start()
        let second = try EmbeddedPostgres.start()
        defer {
            try? first.stop()
            try? second.stop()
        }
        #expect(first.directory != second.directory)
        let a = try first.connect()
        let b = try second.connect()
        try a.execute("CREATE TABLE only_in_first (x int)")
        #expect(try b.query("SELECT to_regclass('only_in_first') IS NULL").scalar(Bool.self) == true)
        a.close()
        b.close()
    }
}
