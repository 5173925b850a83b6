import BillingStore
import EmbeddedPostgres
import Foundation
import Postgres
import TestSupport
import Testing

/// deploy/INSTALL.md is executed, so that it cannot drift from the product: its fenced shell
/// blocks (```sh), in document order, run as written in one bash process (a reader pastes them
/// into one shell: later blocks use earlier blocks' variables), under `set -e -o pipefail`, as
/// root with `ROOT` pointing at a scratch directory, against a throwaway PostgreSQL that listens
/// on TCP with scram-sha-256 password authentication. The site settings of the guide's first
/// block (`DB_HOST=${DB_HOST:-...}`) come from this test's environment.
///
/// A block whose fence names a tag after `sh` runs only where the tag allows it (`skipReason`),
/// and the test prints every block it skipped and why. Two install paths: from source (the
/// binary this test was built with stands in for the release build's .build/release/supportbill)
/// and the package (`SUPPORTBILL_DEB`, unpacked into ROOT with `dpkg-deb -x` where the guide
/// says `apt-get install`).
@Suite("deploy/INSTALL.md runs as written against a password-protected cluster and a scratch root", .serialized)
struct InstallGuideTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let guide = repository.appendingPathComponent("deploy/INSTALL.md")

    static let bash = ["/bin/bash", "/usr/bin/bash"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let psql = ["/usr/bin/psql", "/usr/local/bin/psql"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let runuser = ["/usr/sbin/runuser", "/sbin/runuser"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let setsid = ["/usr/bin/setsid", "/bin/setsid"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let timeout = ["/usr/bin/timeout", "/bin/timeout"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let dpkgDeb = ["/usr/bin/dpkg-deb"].first { FileManager.default.isExecutableFile(atPath: $0) }
    static let prebuiltDeb = ProcessInfo.processInfo.environment["SUPPORTBILL_DEB"].flatMap { $0.isEmpty ? nil : $0 }
    static let isRoot = geteuid() == 0
    static let toolsPresent = bash != nil && psql != nil && setsid != nil && timeout != nil && (!isRoot || runuser != nil)

    /// The tags a fence may carry after `sh`; each says why a block does not always run.
    enum Tag: String, CaseIterable {
        /// Needs systemd itself (PID 1): never run here.
        case systemd
        /// Installs the package into this system: never run; the package path unpacks it into ROOT.
        case apt
        /// The release build: never run; this test's build (or the package's binary) stands in.
        case build
        /// Creates the system user: never run; SERVICE_USER names an existing user.
        case useradd
        /// The package path only.
        case package
        /// The source path only.
        case source
        /// Uses runuser: only when the test runs as root.
        case root
    }

    /// A fenced shell block of the guide.
    struct Block: Sendable, CustomStringConvertible {
        /// The fence's line in INSTALL.md (1-based).
        let line: Int
        let tags: [String]
        let text: String
        /// The `## ` heading the block is under: each section runs in a shell of its own.
        let section: String
        var description: String { "INSTALL.md:\(line) ```sh\(tags.isEmpty ? "" : " " + tags.joined(separator: " "))" }
    }

    enum InstallPath: Sendable {
        case source
        case package(String)
    }

    /// Every ```sh / ```bash block, in order; other fences (```sql, ```toml, ...) are not shell.
    static func blocks(in markdown: String) -> [Block] {
        var blocks: [Block] = []
        var open: (line: Int, tags: [String], shell: Bool, lines: [String])?
        var section = ""
        for (index, line) in markdown.components(separatedBy: "\n").enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if var current = open {
                if trimmed == "```" {
                    if current.shell {
                        blocks.append(Block(line: current.line, tags: current.tags, text: current.lines.joined(separator: "\n"), section: section))
                    }
                    open = nil
                } else {
                    current.lines.append(line)
                    open = current
                }
            } else if line.hasPrefix("## ") {
                section = String(line.dropFirst(3))
            } else if trimmed.hasPrefix("```") {
                let words = trimmed.dropFirst(3).split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
                let shell = words.first == "sh" || words.first == "bash"
                open = (index + 1, Array(words.dropFirst()), shell, [])
            }
        }
        return blocks
    }

    /// Why `block` does not run on `path`, or nil when it runs.
    static func skipReason(_ block: Block, path: InstallPath, root: Bool) -> String? {
        for name in block.tags {
            switch Tag(rawValue: name) {
            case .systemd: return "needs systemd itself"
            case .apt:
                if case .package = path { return "installs into this system: the package was unpacked into ROOT with dpkg-deb -x instead" }
                return "installs the package into this system (the source path is under test)"
            case .build: return "the release build: the binary under test stands in for it"
            case .useradd: return "creates a system user: SERVICE_USER names an existing one"
            case .package: if case .source = path { return "the package path (no SUPPORTBILL_DEB: the source path is under test)" }
            case .source: if case .package = path { return "the source path (the package is under test)" }
            case .root: if !root { return "runs runuser, which needs root (this test is not root)" }
            case nil: return "unknown tag \(name)"
            }
        }
        return nil
    }

    static func loadGuide() throws -> [Block] {
        blocks(in: try String(contentsOf: guide, encoding: .utf8))
    }

    // MARK: - The document's own rules

    @Test("every shell block is tagged with a known tag; systemctl, apt-get, useradd and runuser only where tagged; the test can only write under ROOT")
    func conventions() throws {
        let text = try String(contentsOf: Self.guide, encoding: .utf8)
        let blocks = Self.blocks(in: text)
        #expect(blocks.count >= 10, "\(blocks.count) shell blocks")
        // What no test can run stays stated: the minimum versions, the credential and its fallback.
        for statement in ["**systemd 247 or later**", "**PostgreSQL 14 or later**", "`LoadCredential=`", "`PGPASSFILE` from the env file is the fallback"] {
            #expect(text.contains(statement), "INSTALL.md no longer says \(statement)")
        }
        for block in blocks {
            for tag in block.tags { #expect(Tag(rawValue: tag) != nil, "\(block): unknown tag \(tag) (known: \(Tag.allCases.map(\.rawValue)))") }
        }
        // The settings come first, untagged, and let the test substitute every site value.
        let settings = try #require(blocks.first)
        #expect(settings.tags.isEmpty)
        for variable in ["ROOT", "DB_HOST", "DB_PORT", "DB_NAME", "DB_ADMIN", "DB_USER", "DB_SSLMODE", "SERVICE_USER"] {
            #expect(settings.text.contains("\(variable)=${\(variable):-"), "the settings block does not define \(variable) from the environment")
        }
        #expect(settings.text.contains("as_service()"))

        // What only a real host can do is marked, so that it never runs here.
        func code(_ block: Block) -> [String] {
            block.text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.hasPrefix("#") }
        }
        for block in blocks {
            let lines = code(block)
            if lines.contains(where: { $0.contains("systemctl ") }) { #expect(block.tags.contains("systemd"), "\(block) calls systemctl") }
            if lines.contains(where: { $0.contains("apt-get ") }) { #expect(block.tags.contains("apt"), "\(block) calls apt-get") }
            if lines.contains(where: { $0.hasPrefix("useradd ") }) { #expect(block.tags.contains("useradd"), "\(block) calls useradd") }
            if lines.contains(where: { $0.hasPrefix("as_service ") || $0.contains(" as_service ") }) {
                #expect(block.tags.contains("root"), "\(block) runs as the service user")
            }
            // Run as root: every system path it writes or reads must be under $ROOT.
            guard Self.skipReason(block, path: .source, root: true) == nil || Self.skipReason(block, path: .package("x"), root: true) == nil else { continue }
            for line in lines {
                for path in ["/etc/supportbill", "/etc/systemd", "/usr/bin/", "/usr/share/doc", "/var/lib/supportbill"] {
                    var rest = Substring(line)
                    while let range = rest.range(of: path) {
                        let before = rest[..<range.lowerBound]
                        #expect(before.hasSuffix("$ROOT") || before.hasSuffix("$NEW"), "\(block): \(path) without $ROOT in: \(line)")
                        rest = rest[range.upperBound...]
                    }
                }
            }
        }
        // The going-live order: the schema, the cut-over, then the service's checks, then the dry runs, then the timers.
        let order = ["supportbill migrate --database", "supportbill cutover --set", "as_service supportbill migrate --status", "--dry-run", "systemctl enable"]
        let positions = order.map { step in blocks.firstIndex { $0.text.contains(step) } }
        #expect(positions.allSatisfy { $0 != nil }, "\(zip(order, positions).filter { $0.1 == nil }.map(\.0)) missing")
        let found = positions.compactMap { $0 }
        #expect(found == found.sorted(), "the going-live steps are out of order: \(zip(order, positions).map { "\($0) at block \($1.map(String.init) ?? "?")" })")
    }

    // MARK: - Running it

    @Test("the source install: every block as written; the service user connects with the passfile and dry-runs every job",
          .enabled(if: InstallGuideTests.toolsPresent, "bash, psql, setsid, timeout (and runuser as root) are needed: apt-get install -y bash postgresql-client util-linux coreutils"))
    func sourceInstall() throws {
        try Self.install(.source)
    }

    /// .ci/run builds the package and names it in SUPPORTBILL_DEB.
    @Test("the package install: the package unpacked into ROOT, every other block as written",
          .enabled(if: InstallGuideTests.toolsPresent, "bash, psql, setsid, timeout (and runuser as root) are needed: apt-get install -y bash postgresql-client util-linux coreutils"),
          .enabled(if: InstallGuideTests.dpkgDeb != nil, "dpkg-deb is missing"),
          .enabled(if: InstallGuideTests.prebuiltDeb != nil, "SUPPORTBILL_DEB is not set (.ci/run builds the package and sets it)"))
    func packageInstall() throws {
        try Self.install(.package(Self.prebuiltDeb!))
    }

    /// A throwaway cluster that listens on TCP with password authentication only. The address is
    /// a random one of 127.0.0.0/8 (all of it is loopback on Linux), so that clusters of
    /// parallel test processes, which all use port 5432, do not collide.
    static func startCluster() throws -> (postgres: EmbeddedPostgres, address: String) {
        let address = "127.\(Int.random(in: 1...254)).\(Int.random(in: 0...255)).\(Int.random(in: 1...254))"
        let postgres = try EmbeddedPostgres.start(.init(settings: EmbeddedPostgres.Options.disposable,
                                                        hba: ["local all postgres trust", "host all all 127.0.0.0/8 scram-sha-256"]))
        do {
            // EmbeddedPostgres opens no TCP port; postgresql.auto.conf overrides its setting.
            let admin = try postgres.connect()
            try admin.execute("ALTER SYSTEM SET listen_addresses = '\(address)'")
            admin.close()
            try postgres.restartImmediately()
        } catch {
            try? postgres.stop()
            throw error
        }
        return (postgres, address)
    }

    static func install(_ path: InstallPath) throws {
        let blocks = try loadGuide()
        let (postgres, address) = try startCluster()
        defer { try? postgres.stop() }
        let scratch = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("install-guide-\(getpid())-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let root = scratch + "/root", home = scratch + "/home", source = scratch + "/source", output = scratch + "/output"
        for directory in [root, home, source + "/.build/release", output, scratch + "/tmp"] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        // The service user must reach ROOT (the temporary directory's parents are o+x).
        chmod(scratch, 0o755)
        chmod(root, 0o755)

        // The schema owner: not a superuser, with the password the guide expects in root's ~/.pgpass.
        let adminRole = "sb_admin"
        let adminPassword = "Adm-" + UUID().uuidString.replacingOccurrences(of: "-", with: "")
        let superuser = try postgres.connect()
        defer { superuser.close() }
        let create = try superuser.query("SELECT format('CREATE ROLE %I LOGIN CREATEDB CREATEROLE PASSWORD %L', $1::text, $2::text)",
                                         [adminRole, adminPassword]).scalar(String.self) ?? ""
        try superuser.execute(create)
        try "\(address):\(postgres.port):*:\(adminRole):\(adminPassword)\n".write(toFile: home + "/.pgpass", atomically: false, encoding: .utf8)
        chmod(home + "/.pgpass", 0o600)

        // The install path: a source tree whose release build is this test's binary, or the package.
        let expectedVersion: String
        switch path {
        case .source:
            for name in ["README.md", "deploy", "jobs"] {
                try FileManager.default.createSymbolicLink(atPath: source + "/" + name, withDestinationPath: repository.appendingPathComponent(name).path)
            }
            try FileManager.default.createSymbolicLink(atPath: source + "/.build/release/supportbill", withDestinationPath: ChildProcess.supportbillPath)
            expectedVersion = try ChildProcess.supportbill(["--version"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        case .package(let deb):
            let unpack = try ChildProcess(dpkgDeb!, ["-x", deb, root]).wait()
            try #require(unpack.status == 0, "dpkg-deb -x \(deb): \(unpack.stderr)")
            chmod(root, 0o755)
            expectedVersion = try ChildProcess(dpkgDeb!, ["-f", deb, "Version"]).wait().stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        // The service user: the package's `supportbill` does not exist here; as root an existing
        // unprivileged user stands in, otherwise the test's own user.
        let serviceUser = isRoot ? "nobody" : String(cString: getpwuid(geteuid()).pointee.pw_name)
        let serviceUID = try #require(getpwnam(serviceUser)).pointee.pw_uid

        // The blocks that run, and the ones skipped, said out loud.
        var running: [Block] = []
        for block in blocks {
            if let reason = skipReason(block, path: path, root: isRoot) {
                print("InstallGuideTests: skipped \(block): \(reason)")
            } else {
                running.append(block)
            }
        }
        // One shell per section, each starting with the settings block, as a reader who comes
        // back to a section (going live a week later, an upgrade a year later) in a new shell:
        // a section may use the settings and its own variables, nothing else.
        let settingsBlock = try #require(running.first)
        var sections: [(name: String, blocks: [Block])] = []
        for block in running.dropFirst() {
            if sections.last?.name == block.section { sections[sections.count - 1].blocks.append(block) } else { sections.append((block.section, [block])) }
        }
        let status = scratch + "/status"
        func script(_ blocks: [Block]) -> String {
            var script = """
                set -e -o pipefail
                cd "$INSTALL_GUIDE_SOURCE"
                trap 'echo "exit $? ${INSTALL_GUIDE_BLOCK:-0}" >> "$INSTALL_GUIDE_STATUS"' EXIT

                """
            for block in blocks {
                script += """
                    INSTALL_GUIDE_BLOCK=\(block.line)
                    {
                    \(block.text)
                    } > "$INSTALL_GUIDE_OUTPUT/\(block.line).out" 2> "$INSTALL_GUIDE_OUTPUT/\(block.line).err"
                    echo "ok \(block.line)" >> "$INSTALL_GUIDE_STATUS"

                    """
            }
            return script
        }

        // A clean environment: nothing of libpq's or supportbill's from this process. HOME holds
        // the admin's ~/.pgpass; TMPDIR keeps the guide's mktemp inside the scratch directory.
        var environment: [String: String?] = [:]
        // (A nil value removes the variable: updateValue, since `dictionary[key] = nil` would drop the entry.)
        for key in ProcessInfo.processInfo.environment.keys where key.hasPrefix("PG") || key.hasPrefix("SUPPORTBILL_") || key == "CREDENTIALS_DIRECTORY" {
            environment.updateValue(nil, forKey: key)
        }
        let settings: [String: String] = [
            "ROOT": root, "DB_HOST": address, "DB_PORT": String(postgres.port), "DB_NAME": "support", "DB_ADMIN": adminRole,
            "DB_SSLMODE": "disable", "SERVICE_USER": serviceUser,
        ]
        for (key, value) in settings { environment[key] = value }
        environment["HOME"] = home
        environment["TMPDIR"] = scratch + "/tmp"
        environment["PATH"] = root + "/usr/bin:" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        environment["INSTALL_GUIDE_SOURCE"] = source
        environment["INSTALL_GUIDE_OUTPUT"] = output
        environment["INSTALL_GUIDE_STATUS"] = status
        if case .package(let deb) = path { environment["NEW_DEB"] = deb }

        // setsid: no controlling terminal, so psql can never wait for a password typed at one.
        let started = Date()
        var stopped: String?
        for (index, section) in sections.enumerated() where stopped == nil {
            let path = scratch + "/section-\(index).sh"
            try script([settingsBlock] + section.blocks).write(toFile: path, atomically: false, encoding: .utf8)
            let run = try ChildProcess(setsid!, ["-w", timeout!, "300", bash!, path], environment: environment).wait()
            if run.status != 0 { stopped = "section \(section.name) exited \(run.status) \(run.stderr)" }
        }
        print("InstallGuideTests: \(running.count) blocks in \(sections.count) sections ran in \(Int(Date().timeIntervalSince(started))) s (\(path))")
        #expect(stopped == nil, "the guide stopped: \(stopped ?? "")")

        func out(_ block: Block) -> String { (try? String(contentsOfFile: "\(output)/\(block.line).out", encoding: .utf8)) ?? "" }
        func err(_ block: Block) -> String { (try? String(contentsOfFile: "\(output)/\(block.line).err", encoding: .utf8)) ?? "" }
        let lines = ((try? String(contentsOfFile: status, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        let succeeded = Set(lines.filter { $0.hasPrefix("ok ") }.compactMap { Int($0.dropFirst(3)) })
        for block in running where !succeeded.contains(block.line) {
            Issue.record("\(block) failed or did not run:\n\(block.text)\n--- stdout\n\(out(block))--- stderr\n\(err(block))")
            break
        }
        try #require(succeeded.count == running.count)

        // What the blocks printed.
        func ran(_ fragment: String) -> [Block] { running.filter { $0.text.contains(fragment) } }
        let version = try #require(ran("supportbill --version").first)
        #expect(out(version).trimmingCharacters(in: .whitespacesAndNewlines) == expectedVersion)
        let migrate = try #require(ran("supportbill migrate --database").first)
        #expect(out(migrate).contains("applied 182_reference_data"), "\(out(migrate))")
        #expect(out(migrate).contains("schema is at version \(Migration.latestVersion)"), "\(out(migrate))")
        let upgrade = try #require(ran("\"$NEW_BIN\" migrate --database").first)
        #expect(out(upgrade).contains("schema and binary match: version \(Migration.latestVersion)"), "status: \(out(upgrade))")
        #expect(out(upgrade).contains("schema is up to date (version \(Migration.latestVersion))"), "\(out(upgrade))")
        if isRoot {
            let statuses = ran("as_service supportbill migrate --status")
            #expect(statuses.count == 2, "going live and the upgrade each check the schema as the service")
            for block in statuses {
                #expect(out(block).contains("schema and binary match: version \(Migration.latestVersion)"), "\(block): \(out(block))\(err(block))")
            }
            let dryRuns = try #require(ran("--dry-run").first)
            for job in ["monthly-rollup", "threshold-topup", "suspension-sweep", "incident-grants", "contract-expiry-rollover"] {
                #expect(out(dryRuns).contains("\(job)  run"), "\(job) did not run: \(out(dryRuns))\(err(dryRuns))")
            }
            #expect(out(dryRuns).components(separatedBy: "(dry run: nothing was written)").count - 1 == 5, "\(out(dryRuns))")
        }

        // The files as the guide left them: the passfile the service user's own with 0600, the
        // env file world-readable with no password, naming the passfile under ROOT.
        var info = stat()
        #expect(stat(root + "/etc/supportbill/pgpass", &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600, "pgpass mode \(String(info.st_mode & 0o777, radix: 8))")
        #expect(info.st_uid == serviceUID, "pgpass owner \(info.st_uid), not \(serviceUser)")
        let pgpass = try String(contentsOfFile: root + "/etc/supportbill/pgpass", encoding: .utf8)
        let entry = pgpass.trimmingCharacters(in: .newlines).split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        #expect(entry.count == 5 && Array(entry.prefix(4)) == ["*", String(postgres.port), "support", "supportbill_jobs"], "\(entry.prefix(4))")
        let password = entry.last ?? ""
        #expect(password.count >= 30 && password.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) }, "a weak generated password (\(password.count) characters)")
        #expect(stat(root + "/etc/supportbill/env", &info) == 0 && info.st_mode & 0o777 == 0o644)
        let envText = try String(contentsOfFile: root + "/etc/supportbill/env", encoding: .utf8)
        // As systemd's EnvironmentFile= reads it: KEY=VALUE lines, comments skipped.
        var serviceEnvironment: [String: String] = [:]
        for line in envText.split(separator: "\n") where !line.hasPrefix("#") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            serviceEnvironment[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        #expect(serviceEnvironment["PGPASSFILE"] == root + "/etc/supportbill/pgpass")
        #expect(serviceEnvironment["PGHOST"] == address && serviceEnvironment["PGUSER"] == "supportbill_jobs" && serviceEnvironment["PGDATABASE"] == "support")
        #expect(serviceEnvironment["SUPPORTBILL_JOBS_DIR"] == root + "/etc/supportbill/jobs")
        #expect(serviceEnvironment["PGPASSWORD"] == nil && !envText.contains(password))
        #expect(FileManager.default.fileExists(atPath: root + "/etc/supportbill/jobs/monthly-rollup.toml"))

        // The database: UTF8, owned by the admin; the login role has a SCRAM password, is a
        // member of supportbill_runner, no superuser, and owns nothing; the dry runs wrote nothing.
        let database = try superuser.query("SELECT pg_encoding_to_char(encoding), pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'support'").first
        #expect(try database?.decode(0, as: String.self) == "UTF8")
        #expect(try database?.decode(1, as: String.self) == adminRole)
        let role = try superuser.query("""
            SELECT rolcanlogin, rolsuper, rolpassword LIKE 'SCRAM-SHA-256$%', pg_has_role(oid, 'supportbill_runner', 'MEMBER')
            FROM pg_authid WHERE rolname = 'supportbill_jobs'
            """).first
        #expect(try role?.decode(0, as: Bool.self) == true)
        #expect(try role?.decode(1, as: Bool.self) == false)
        #expect(try role?.decode(2, as: Bool.self) == true, "the password is not stored as a SCRAM hash")
        #expect(try role?.decode(3, as: Bool.self) == true)
        let support = try postgres.connect(database: "support")
        defer { support.close() }
        #expect(try support.query("SELECT count(*) FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = 'supportbill_jobs')").scalar(Int.self) == 0)
        #expect(try support.query("SELECT max(version) FROM schema_migrations").scalar(Int.self) == Migration.latestVersion)
        #expect(try support.query("SELECT count(*) FROM job_runs").scalar(Int.self) == 0, "a dry run recorded a run")

        // The service's environment and passfile, read by this process as systemd would hand
        // them over (without root the as_service blocks could not run: this still proves them).
        // The installed binary connects over TCP with the password from the passfile.
        let installed = root + "/usr/bin/supportbill"
        var clean = environment.filter { !$0.key.hasPrefix("INSTALL_GUIDE_") && !settings.keys.contains($0.key) }
        clean.updateValue(nil, forKey: "HOME")
        for (key, value) in serviceEnvironment { clean[key] = value }
        let status0 = try ChildProcess(installed, ["migrate", "--status"], environment: clean).wait()
        #expect(status0.status == 0, "\(status0.stdout)\(status0.stderr)")
        #expect(status0.stdout.contains("schema and binary match"))
        let runs = try ChildProcess(installed, ["runs"], environment: clean).wait()
        #expect(runs.status == 0, "\(runs.stderr)")
        #expect(runs.stdout.contains("no runs recorded"), "\(runs.stdout)")
        // Why the guide says 0600: libpq ignores a passfile its group can read (the mode the
        // guide gave before, root:supportbill 0640), and the service then has no password.
        let groupReadable = scratch + "/pgpass-0640"
        try FileManager.default.copyItem(atPath: root + "/etc/supportbill/pgpass", toPath: groupReadable)
        chmod(groupReadable, 0o640)
        var refused = clean
        refused["PGPASSFILE"] = groupReadable
        let ignored = try ChildProcess(installed, ["migrate", "--status"], environment: refused).wait()
        #expect(ignored.status == 69, "\(ignored.stdout)\(ignored.stderr)")
        #expect(ignored.stderr.contains("has group or world access"), "\(ignored.stderr)")
        #expect(!ignored.stderr.contains(password) && !status0.stdout.contains(password))
    }
}
