import Foundation
import Testing

/// The repository stands on its own: a clone has everything its comments and documents point
/// to (docs/design.md is the design), and README stays a short front door whose links work.
@Suite("The repository is self-contained")
struct RepositoryTests {
    /// The directory holding Package.swift, found upwards from this file, so the test does not
    /// depend on how deep it sits or where `swift test` runs.
    static let root: URL = {
        var directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while directory.path != "/" {
            if FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path) { return directory }
            directory = directory.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }()

    /// Spelled in two parts so this file does not match itself.
    static let outsideReferences = ["DESIGN" + ".md", "DESIGN" + " §", "../" + "shared", "shared/" + "DESIGN"]

    /// The pre-0.1.0 migrations, kept byte for byte in sql/legacy/ to upgrade databases created
    /// by earlier builds (their checksums are recorded there), so they keep their old comments;
    /// the 0.1.0 baseline that replaced them points at docs/design.md. A new file is never exempt;
    /// an entry whose file no longer mentions the contract fails, so the list only shrinks.
    static let frozenMigrations: Set<String> = [
        "sql/legacy/001_schema.sql", "sql/legacy/125_audit_event_names.sql", "sql/legacy/130_credit_applications.sql",
        "sql/legacy/140_contract_corrections.sql", "sql/legacy/150_rollup_corrections.sql",
        "sql/legacy/151_topup_corrections.sql", "sql/legacy/160_job_run_rows.sql", "sql/legacy/161_job_runs_guard.sql",
        "sql/legacy/180_invoice_documents.sql",
    ]

    /// The CI script names where the CI host keeps the Citus build (beside the clone) as the
    /// default of SUPPORTBILL_CITUS_INSTALL: a fact about that machine, not a document a reader
    /// of the repository is sent to.
    static let hostPaths: [String: String] = [".ci/run": "../" + "shared/citus/install.sh"]

    /// The tracked files (git ls-files), or, where git is missing, every file outside `.git` and
    /// the build directories.
    static func repositoryFiles() throws -> [String] {
        let git = Process()
        git.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        git.arguments = ["git", "-C", root.path, "ls-files", "-z"]
        let output = Pipe()
        git.standardOutput = output
        git.standardError = FileHandle.nullDevice
        if (try? git.run()) != nil {
            let data = output.fileHandleForReading.readDataToEndOfFile()
            git.waitUntilExit()
            if git.terminationStatus == 0 {
                let files = String(decoding: data, as: UTF8.self).split(separator: "\0").map(String.init)
                if !files.isEmpty { return files }
            }
        }
        var files: [String] = []
        let enumerator = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])
        while let url = enumerator?.nextObject() as? URL {
            let relative = String(url.standardizedFileURL.path.dropFirst(root.standardizedFileURL.path.count + 1))
            if relative.hasPrefix(".git") || relative.hasPrefix(".build") || relative.hasPrefix(".swiftpm") {
                enumerator?.skipDescendants()
                continue
            }
            if (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true { files.append(relative) }
        }
        return files
    }

    @Test("no file refers to the contract or to a path outside the repository")
    func noOutsideReferences() throws {
        let files = try Self.repositoryFiles()
        #expect(files.contains("docs/design.md"))
        #expect(files.count > 100, "found only \(files.count) files under \(Self.root.path)")
        var offenders: [String] = []
        var stillFrozen: Set<String> = []
        for file in files {
            guard let data = FileManager.default.contents(atPath: Self.root.appendingPathComponent(file).path),
                  let text = String(data: data, encoding: .utf8) else { continue }
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                guard let needle = Self.outsideReferences.first(where: { line.contains($0) }) else { continue }
                if let allowed = Self.hostPaths[file], line.contains(allowed), needle == "../" + "shared" {
                    continue
                } else if Self.frozenMigrations.contains(file) {
                    stillFrozen.insert(file)
                } else {
                    offenders.append("\(file):\(number + 1): \(needle): \(line.trimmingCharacters(in: .whitespaces))")
                }
            }
        }
        #expect(offenders.isEmpty, "point at docs/design.md §N instead:\n\(offenders.joined(separator: "\n"))")
        #expect(stillFrozen == Self.frozenMigrations, "no longer mention the contract, drop from frozenMigrations: \(Self.frozenMigrations.subtracting(stillFrozen).sorted())")
    }

    @Test("README is at most 12 KB and its relative links resolve, as do those of docs/")
    func readmeAndLinks() throws {
        let readme = Self.root.appendingPathComponent("README.md")
        let size = try FileManager.default.attributesOfItem(atPath: readme.path)[.size] as? Int ?? 0
        #expect(size > 1_000)
        #expect(size <= 12 * 1024, "README.md is \(size) bytes; the front door stays at most 12 KB (move detail to docs/)")

        let documents = ["README.md"] + (try Self.repositoryFiles()).filter { $0.hasPrefix("docs/") && $0.hasSuffix(".md") }
        var broken: [String] = []
        var checked = 0
        for document in documents {
            let url = Self.root.appendingPathComponent(document)
            let text = try String(contentsOf: url, encoding: .utf8)
            for target in Self.relativeLinks(in: text) {
                checked += 1
                let resolved = url.deletingLastPathComponent().appendingPathComponent(target).standardizedFileURL
                if !FileManager.default.fileExists(atPath: resolved.path) { broken.append("\(document): \(target)") }
            }
        }
        #expect(checked > 10)
        #expect(broken.isEmpty, "links to nothing:\n\(broken.joined(separator: "\n"))")
    }

    /// The targets of `[text](target)` links that point into the repository: no scheme, no
    /// bare anchor; the `#fragment` and a `"title"` are dropped. Code spans are skipped.
    static func relativeLinks(in markdown: String) -> [String] {
        var targets: [String] = []
        var inFence = false
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.trimmingCharacters(in: .whitespaces).hasPrefix("```") { inFence.toggle() }
            if inFence { continue }
            var rest = Substring(line)
            while let open = rest.range(of: "](") {
                let after = rest[open.upperBound...]
                guard let close = after.firstIndex(of: ")") else { break }
                var target = String(after[..<close]).trimmingCharacters(in: .whitespaces)
                rest = after[after.index(after: close)...]
                if let space = target.firstIndex(of: " ") { target = String(target[..<space]) }
                if let hash = target.firstIndex(of: "#") { target = String(target[..<hash]) }
                if target.isEmpty || target.contains("://") || target.hasPrefix("mailto:") { continue }
                targets.append(target.removingPercentEncoding ?? target)
            }
        }
        return targets
    }
}
