import BillingCore
import BillingStore
import Foundation
import Postgres

/// A finished run's report kept in the database, so `supportbill runs show RUN_ID` prints it
/// again (docs/design.md §11) after the journal has dropped it or a unit printed only the summary.
///
/// The head of the report (counts, totals, skipped and reported customers, notices, exit) is
/// `job_runs.stats`; the rows are `job_run_rows` (sql/160), one per report row, carrying the
/// run's id. They are the rows as the report printed them: rebuilding them from the emitted
/// tables could not give the original back, since a later run corrects a draft in place and
/// moves its `run_id`. Each row is `ReportRecordCodec`'s exact byte form (a decimal stays a
/// decimal, keys keep their order), so every renderer prints the same text again.
public enum StoredReport {
    /// Rows per INSERT: a statement of a few MB at most.
    static let chunk = 2_000

    /// Writes the rows of a report (inside the transaction that finishes the run).
    public static func save(_ db: PostgresConnection, runID: Int64, records: ReportRecords) throws {
        for section in ReportSection.allCases where records.count(section) > 0 {
            var positions: [Int] = []
            var rows: [String] = []
            func flush() throws {
                guard !rows.isEmpty else { return }
                try db.execute("""
                    INSERT INTO job_run_rows (run_id, section, position, record)
                    SELECT $1, $2, p, decode(r, 'hex') FROM unnest($3::int[], $4::text[]) AS t(p, r)
                    """, [runID, section.rawValue, positions, rows])
                positions.removeAll(keepingCapacity: true)
                rows.removeAll(keepingCapacity: true)
            }
            var position = 0
            try records.forEach(section) { record in
                var bytes: [UInt8] = []
                ReportRecordCodec.encode(record, into: &bytes)
                positions.append(position)
                rows.append(hex(bytes))
                position += 1
                if rows.count >= chunk { try flush() }
            }
            try flush()
        }
    }

    /// The whole report of a finished run, from `job_runs` and `job_run_rows`.
    public static func load(_ db: PostgresConnection, run: JobRunRecord, currencies: [CurrencyCode: Currency]) throws -> JobReport {
        guard let job = JobName(rawValue: run.job) else { throw StoredReportError(message: "run \(run.id) is of an unknown job '\(run.job)'") }
        let records = ReportRecords()
        for section in ReportSection.allCases {
            var last = -1
            while true {
                // Read in chunks (keyset on position): a run's rows may be millions.
                let rows = try db.query("""
                    SELECT position, encode(record, 'hex') FROM job_run_rows
                     WHERE run_id = $1 AND section = $2 AND position > $3
                     ORDER BY position LIMIT $4
                    """, [run.id, section.rawValue, last, chunk])
                var batch: [ReportRecord] = []
                for row in rows {
                    last = try row.decode(0, as: Int.self)
                    let bytes = try unhex(try row.decode(1, as: String.self))
                    var offset = 0
                    batch.append(try bytes.withUnsafeBytes { try ReportRecordCodec.decodeRecord($0, &offset) })
                }
                // Stored in the report's order: each chunk continues the one before.
                if !batch.isEmpty { records.append([section: batch]) }
                if batch.count < chunk { break }
            }
        }
        let stats = run.stats
        var output = JobOutput()
        for (name, value) in stats["counts"]?.objectValue ?? [] { output.counts[name] = value.intValue.map(Int.init) }
        for (code, named) in stats["totals"]?.objectValue ?? [] {
            guard let currency = try? CurrencyCode(code) else { continue }
            for (name, value) in named.objectValue ?? [] { if let amount = value.intValue { output.total(name, amount, currency) } }
        }
        func customers(_ key: String) -> [SkippedCustomer] {
            (stats[key]?.arrayValue ?? []).compactMap { entry in
                guard let id = entry["customer_id"]?.intValue, let reason = entry["reason"]?.stringValue else { return nil }
                return SkippedCustomer(customerID: id, reason: reason)
            }
        }
        output.skipped = customers("skipped")
        output.reported = customers("reported")
        output.notices = (stats["notices"]?.arrayValue ?? []).compactMap(\.stringValue)
        let status = JobRunStatus(rawValue: run.status)
        let exit = stats["exit"]?.intValue.flatMap { ExitStatus(rawValue: Int32($0)) }
            ?? (status == .succeeded ? .success : status == .partial ? .dataError : .failure)
        let period = run.periodStart.flatMap { try? YearMonth(year: $0.year, month: $0.month) }
        return JobReport(job: job, runID: run.id, dryRun: run.dryRun, asOf: run.asOf, period: period, status: status,
                         output: output, records: records, error: run.error, exitStatus: exit,
                         durationMilliseconds: stats["duration_ms"]?.intValue ?? 0, currencies: currencies)
    }

    private static let digits = Array("0123456789abcdef".utf8)

    static func hex(_ bytes: [UInt8]) -> String {
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    static func unhex(_ text: String) throws -> [UInt8] {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { throw StoredReportError(message: "a stored report row is corrupt (odd hex length)") }
        func value(_ c: UInt8) throws -> UInt8 {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: throw StoredReportError(message: "a stored report row is corrupt (not hex)")
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count / 2)
        var index = 0
        while index < utf8.count {
            bytes.append(try value(utf8[index]) << 4 | value(utf8[index + 1]))
            index += 2
        }
        return bytes
    }
}

/// A stored report that cannot be read back.
public struct StoredReportError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
