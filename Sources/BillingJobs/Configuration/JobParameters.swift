/// Parameters every job file has, plus the job's own (docs/design.md §10).
public protocol JobParameters: Sendable, Equatable {
    /// systemd `OnCalendar` expression, with an explicit time zone.
    var schedule: String { get }
    /// Reads the file's keys; left-out keys take their defaults.
    init(reading reader: inout TOMLReader) throws
}

extension JobParameters {
    /// Reads and validates a whole file.
    public static func parse(_ text: String, file: String) throws -> Self {
        var reader = try TOMLReader(text: text, file: file)
        let parameters = try Self(reading: &reader)
        try reader.finish()
        guard !parameters.schedule.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ConfigurationError(file: file, key: "schedule", problem: "must not be empty")
        }
        return parameters
    }
}

extension TOMLReader {
    mutating func schedule(default defaultValue: String) throws -> String {
        try string("schedule", default: defaultValue)
    }
}
