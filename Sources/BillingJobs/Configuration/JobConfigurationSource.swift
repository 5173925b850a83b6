import Foundation

/// Where job parameters come from: `--jobs-dir`, else `SUPPORTBILL_JOBS_DIR`, else
/// `/etc/supportbill/jobs` when it exists, else the defaults embedded in the binary (identical to
/// the repository's jobs/ files). A job whose file is absent from the directory takes the
/// embedded defaults, just as a key left out of a file takes its default.
public struct JobConfigurationSource: Sendable, CustomStringConvertible {
    public static let systemDirectory = "/etc/supportbill/jobs"

    /// nil: the embedded defaults.
    public let directory: String?

    public init(directory: String?) {
        self.directory = directory
    }

    public static func resolve(jobsDir: String?, environment: [String: String] = ProcessInfo.processInfo.environment) -> JobConfigurationSource {
        if let jobsDir, !jobsDir.isEmpty { return JobConfigurationSource(directory: jobsDir) }
        if let fromEnvironment = environment["SUPPORTBILL_JOBS_DIR"], !fromEnvironment.isEmpty {
            return JobConfigurationSource(directory: fromEnvironment)
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: systemDirectory, isDirectory: &isDirectory), isDirectory.boolValue {
            return JobConfigurationSource(directory: systemDirectory)
        }
        return JobConfigurationSource(directory: nil)
    }

    /// The embedded default text of a job's file.
    public static func embeddedText(for job: JobName) -> String {
        EmbeddedJobFiles.files.first { $0.name == "\(job.rawValue).toml" }?.contents ?? ""
    }

    /// The text and the name to show in errors for `job`'s file.
    public func text(for job: JobName) throws -> (text: String, file: String) {
        if let directory {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ConfigurationError(file: directory, key: nil, problem: "jobs directory does not exist")
            }
            let path = (directory as NSString).appendingPathComponent("\(job.rawValue).toml")
            if FileManager.default.fileExists(atPath: path) {
                do {
                    return (try String(contentsOfFile: path, encoding: .utf8), path)
                } catch {
                    throw ConfigurationError(file: path, key: nil, problem: "cannot be read: \(error.localizedDescription)")
                }
            }
        }
        return (JobConfigurationSource.embeddedText(for: job), "(embedded) jobs/\(job.rawValue).toml")
    }

    /// Reads and validates `job`'s parameters.
    public func parameters<P: JobParameters>(_ type: P.Type, for job: JobName) throws -> P {
        let (text, file) = try text(for: job)
        return try P.parse(text, file: file)
    }

    /// The schedule of `job`, whatever its parameter type.
    public func schedule(for job: JobName) throws -> String {
        try job.type.schedule(from: self)
    }

    public var description: String { directory ?? "embedded defaults" }
}
