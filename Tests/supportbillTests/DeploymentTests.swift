import BillingJobs
import Foundation
import TestSupport
import Testing

@Suite("deploy/systemd: units verify, timers agree with jobs/*.toml, hardening")
struct DeploymentTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let units = repository.appendingPathComponent("deploy/systemd")
    static let systemdAnalyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].first { FileManager.default.isExecutableFile(atPath: $0) }

    private func unit(_ name: String) throws -> String {
        try String(contentsOf: Self.units.appendingPathComponent(name), encoding: .utf8)
    }

    private func value(_ key: String, in text: String) -> [String] {
        text.split(separator: "\n").filter { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) }
    }

    @Test("one timer per job; its OnCalendar is the job's schedule; persistent and randomized")
    func timers() throws {
        let source = JobConfigurationSource(directory: nil)
        for job in JobName.allCases {
            let timer = try unit("supportbill@\(job.rawValue).timer")
            #expect(value("OnCalendar", in: timer) == [try source.schedule(for: job)], "\(job)")
            #expect(value("Persistent", in: timer) == ["true"])
            #expect(!value("RandomizedDelaySec", in: timer).isEmpty)
            #expect(value("WantedBy", in: timer) == ["timers.target"])
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.units.path).filter { $0.hasSuffix(".timer") }
        #expect(files.count == JobName.allCases.count)
    }

    @Test("the template service: oneshot, summary output, bounded, retried on 69 and 1 only, 75 is success, password only as a credential, systemd 247")
    func service() throws {
        let service = try unit("supportbill@.service")
        #expect(value("Type", in: service) == ["oneshot"])
        #expect(value("ExecStart", in: service) == ["/usr/bin/supportbill run %i --format summary"])
        #expect(value("SuccessExitStatus", in: service) == ["75"])
        #expect(value("TimeoutStartSec", in: service) == ["2h"])
        // Retried: 69 and 1 (on-failure covers every other non-success); never 64, 65, 73, 75.
        #expect(value("Restart", in: service) == ["on-failure"])
        #expect(value("RestartPreventExitStatus", in: service) == ["64 65 73 75"])
        #expect(!value("RestartSec", in: service).isEmpty)
        #expect(value("StartLimitBurst", in: service) == ["3"], "retries must be bounded")
        #expect(!value("StartLimitIntervalSec", in: service).isEmpty)
        #expect(value("LoadCredential", in: service) == ["pgpass:/etc/supportbill/pgpass"])
        #expect(!service.contains("PGPASSWORD"))
        // systemd 247 (Debian 11, Ubuntu 22.04's 249): no %d (248+), no ProcSubset= with ProtectKernelTunables=.
        let settings = service.split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(!settings.contains { $0.contains("%d") }, "%d needs a newer systemd than 247")
        #expect(!settings.contains { $0.hasPrefix("ProcSubset=") })
        #expect(service.contains("systemd 247 or later"))
        for option in ["NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices", "CapabilityBoundingSet",
                       "RestrictAddressFamilies", "SystemCallFilter", "MemoryDenyWriteExecute", "ProtectKernelTunables"] {
            #expect(!value(option, in: service).isEmpty, "\(option) missing")
        }
    }

    /// A copy of the units whose ExecStart points at the binary this build made (verify checks
    /// that the program exists).
    private func installedCopy() throws -> URL {
        let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("units-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for name in try FileManager.default.contentsOfDirectory(atPath: Self.units.path) {
            var text = try String(contentsOf: Self.units.appendingPathComponent(name), encoding: .utf8)
            text = text.replacingOccurrences(of: "ExecStart=/usr/bin/supportbill", with: "ExecStart=" + ChildProcess.supportbillPath)
            try text.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
        }
        return directory
    }

    @Test("systemd-analyze verify accepts every unit without a warning",
          .enabled(if: DeploymentTests.systemdAnalyze != nil, "systemd-analyze is missing: apt-get install -y systemd"))
    func verify() throws {
        let directory = try installedCopy()
        defer { try? FileManager.default.removeItem(at: directory) }
        let timers = JobName.allCases.map { directory.appendingPathComponent("supportbill@\($0.rawValue).timer").path }
        let services = JobName.allCases.map { directory.appendingPathComponent("supportbill@\($0.rawValue).service").path }
        // Instances of the template, named as the timers start them.
        for (job, path) in zip(JobName.allCases, services) {
            try FileManager.default.copyItem(atPath: directory.appendingPathComponent("supportbill@.service").path, toPath: path)
            _ = job
        }
        let result = try ChildProcess(Self.systemdAnalyze!, ["verify", "--man=no"] + timers + services).wait()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(result.stderr)")
    }

    @Test("hardening: systemd-analyze security --offline scores 2.0 or lower",
          .enabled(if: DeploymentTests.systemdAnalyze != nil, "systemd-analyze is missing: apt-get install -y systemd"))
    func security() throws {
        let directory = try installedCopy()
        defer { try? FileManager.default.removeItem(at: directory) }
        let instance = directory.appendingPathComponent("supportbill@monthly-rollup.service").path
        try FileManager.default.copyItem(atPath: directory.appendingPathComponent("supportbill@.service").path, toPath: instance)
        let result = try ChildProcess(Self.systemdAnalyze!, ["security", "--offline=yes", "--no-pager", instance]).wait()
        let line = (result.stdout + result.stderr).split(separator: "\n").first { $0.contains("Overall exposure level") }
        let score = line.flatMap { $0.split(separator: ":").last?.split(separator: " ").first }.map(String.init)
        let parts = score?.split(separator: ".").compactMap { Int($0) } ?? []
        #expect(parts.count == 2, "no score in: \(result.stdout) \(result.stderr)")
        if parts.count == 2 { #expect(parts[0] * 10 + parts[1] <= 20, "exposure \(score ?? "?") is above 2.0") }
    }

    static let promtool = ["/usr/bin/promtool", "/usr/local/bin/promtool"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Debian's `prometheus` package has promtool (.ci/run installs it: about 50 s).
    @Test("the alert rules: promtool check rules and promtool test rules accept them",
          .enabled(if: DeploymentTests.promtool != nil, "promtool is missing: apt-get install -y --no-install-recommends prometheus"))
    func alertRules() throws {
        let directory = Self.repository.appendingPathComponent("deploy/prometheus")
        let check = try ChildProcess(Self.promtool!, ["check", "rules", directory.appendingPathComponent("supportbill-alerts.yml").path]).wait()
        #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
        #expect(check.stdout.contains("SUCCESS: 4 rules found"), "\(check.stdout)")
        let test = try ChildProcess(Self.promtool!, ["test", "rules", directory.appendingPathComponent("supportbill-alerts.test.yml").path]).wait()
        #expect(test.status == 0, "\(test.stdout)\(test.stderr)")
    }

    @Test("the alert rules name the job by job_name and cover failed, late, never succeeded")
    func alertRulesText() throws {
        let rules = try String(contentsOf: Self.repository.appendingPathComponent("deploy/prometheus/supportbill-alerts.yml"), encoding: .utf8)
        for alert in ["SupportbillJobFailed", "SupportbillJobLate", "SupportbillJobNeverSucceeded"] { #expect(rules.contains("alert: \(alert)")) }
        #expect(!rules.contains("{job=") && !rules.contains("$labels.job }}"))
        for job in JobName.allCases { #expect(rules.contains(job.rawValue), "\(job) has no lateness bound") }
    }

    static let dpkgDeb = ["/usr/bin/dpkg-deb"].first { FileManager.default.isExecutableFile(atPath: $0) }
    /// Building the release binary takes minutes on two cores: only when .ci/run asks
    /// (SUPPORTBILL_TEST_DEB=1). .ci/run builds the package before `swift test` and names it in
    /// SUPPORTBILL_DEB, so that the release build does not share the two cores with the
    /// timing-sensitive fault tests; without it the test builds the package itself.
    static let debRequested = ProcessInfo.processInfo.environment["SUPPORTBILL_TEST_DEB"] == "1"
    static let prebuiltDeb = ProcessInfo.processInfo.environment["SUPPORTBILL_DEB"].flatMap { $0.isEmpty ? nil : $0 }

    @Test("deploy/build-deb.sh: the package holds the binary, units and jobs (conffiles), depends on libpq5 only; the binary runs with no Swift toolchain",
          .enabled(if: DeploymentTests.dpkgDeb != nil, "dpkg-deb is missing"),
          .enabled(if: DeploymentTests.debRequested, "set SUPPORTBILL_TEST_DEB=1 (.ci/run does) to build the release package"))
    func debianPackage() throws {
        let scratch = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("deb-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let package: String
        if let prebuilt = Self.prebuiltDeb {
            package = prebuilt
        } else {
            let started = Date()
            // Its own build directory: `swift test` holds .build.
            let build = try ChildProcess(Self.repository.appendingPathComponent("deploy/build-deb.sh").path, [scratch.appendingPathComponent("out").path],
                                         environment: ["SUPPORTBILL_SCRATCH_PATH": Self.repository.appendingPathComponent(".build-release").path]).wait()
            print("deploy/build-deb.sh took \(Int(Date().timeIntervalSince(started))) s")
            #expect(build.status == 0, "\(build.stdout)\(build.stderr)")
            package = build.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").last.map(String.init) ?? ""
        }
        #expect(package.hasSuffix("_amd64.deb") && URL(fileURLWithPath: package).lastPathComponent.hasPrefix("supportbill_"), "\(package)")
        func deb(_ arguments: [String]) throws -> String {
            let result = try ChildProcess(Self.dpkgDeb!, arguments).wait()
            #expect(result.status == 0, "dpkg-deb \(arguments): \(result.stderr)")
            return result.stdout
        }
        #expect(try deb(["-f", package, "Depends"]).trimmingCharacters(in: .whitespacesAndNewlines) == "libpq5")
        let contents = try deb(["-c", package])
        for path in ["./usr/bin/supportbill", "./lib/systemd/system/supportbill@.service", "./lib/systemd/system/supportbill@monthly-rollup.timer",
                     "./etc/supportbill/jobs/monthly-rollup.toml", "./usr/share/doc/supportbill/INSTALL.md"] {
            #expect(contents.contains(path), "\(path) missing from the package")
        }
        let conffiles = try deb(["-I", package, "conffiles"]).split(separator: "\n").map(String.init)
        #expect(Set(conffiles) == Set(JobName.allCases.map { "/etc/supportbill/jobs/\($0.rawValue).toml" }))
        #expect(try deb(["-I", package, "postinst"]).contains("useradd --system"))

        // The packaged binary, copied away from the toolchain, with no library path: it runs.
        let root = scratch.appendingPathComponent("root")
        _ = try deb(["-x", package, root.path])
        let binary = scratch.appendingPathComponent("supportbill").path
        try FileManager.default.copyItem(atPath: root.appendingPathComponent("usr/bin/supportbill").path, toPath: binary)
        let ldd = try ChildProcess("/usr/bin/ldd", [binary]).wait()
        #expect(!ldd.stdout.contains("libswift"), "\(ldd.stdout)")
        #expect(!ldd.stdout.contains("not found"), "\(ldd.stdout)")
        let version = try ChildProcess("/usr/bin/env", ["-i", "LD_LIBRARY_PATH=", "PATH=/usr/bin:/bin", binary, "--version"]).wait()
        #expect(version.status == 0, "\(version.stderr)")
        #expect(!version.stdout.isEmpty)
        let help = try ChildProcess("/usr/bin/env", ["-i", "LD_LIBRARY_PATH=", "PATH=/usr/bin:/bin", binary, "migrate", "--help"]).wait()
        #expect(help.status == 0 && help.stdout.contains("--status"), "\(help.stderr)")
    }
}
