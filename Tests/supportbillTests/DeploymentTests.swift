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

    @Test("the template service: oneshot, bounded, 75 is success, password only as a credential")
    func service() throws {
        let service = try unit("supportbill@.service")
        #expect(value("Type", in: service) == ["oneshot"])
        #expect(value("ExecStart", in: service) == ["/usr/local/bin/supportbill run %i"])
        #expect(value("SuccessExitStatus", in: service) == ["75"])
        #expect(!value("TimeoutStartSec", in: service).isEmpty)
        #expect(value("LoadCredential", in: service) == ["pgpass:/etc/supportbill/pgpass"])
        #expect(value("Environment", in: service).contains("PGPASSFILE=%d/pgpass"))
        #expect(!service.contains("PGPASSWORD"))
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
            text = text.replacingOccurrences(of: "/usr/local/bin/supportbill", with: ChildProcess.supportbillPath)
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
}
