import BillingCore
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The rows a run emitted, per report section, in the report's order: by customer (rows of no
/// customer first), then sort key, then the order they were emitted in.
///
/// A first run over a large history emits millions of rows; kept in memory as `JSONValue`s they
/// took gigabytes. So the rows stay in memory only up to `memoryLimit` records; beyond it every
/// row goes to a temporary file (removed from the directory at once, so nothing is left behind
/// even by a killed process) and the renderers stream them back.
///
/// Each batch's rows arrive as one *run*, sorted by the report's order. The runner visits
/// customers in ascending order, so runs usually follow each other and simply concatenate; a
/// run that starts before the previous one ended (the rows `prepare` reports for customers of
/// later batches, rows of no customer in a later batch) starts a new *chain*, and reading merges
/// the chains. Within a chain and between chains, equal keys keep the order they were emitted
/// in, so the result equals a stable sort of all rows whether they were spilled or not.
///
/// Appended to by the runner only, during the run; read-only afterwards (reads use `pread` and
/// keep their position in the iterator), hence `@unchecked Sendable`.
public final class ReportRecords: @unchecked Sendable {
    /// Records kept in memory before the rest of the run's rows go to a temporary file. An
    /// invoice record with its items takes a few kilobytes: 2,000 keep a run's memory within a
    /// few MB of a batch's, whatever the number of customers (at 10,000 the benchmark's rollup
    /// kept 9,800 invoices in memory, a third of its peak RSS).
    public static let defaultMemoryLimit = 2_000

    /// One batch's rows of one section, sorted: in memory, or a stretch of the spill file.
    private enum Run {
        case memory([ReportRecord])
        case file(offset: Int, length: Int, count: Int)
    }

    /// Runs that follow each other in the report's order.
    private struct Chain {
        var runs: [Run]
        var lastKey: Key
    }

    struct Key: Comparable {
        let customer: Int64
        let sortKey: String

        init(_ record: ReportRecord) {
            customer = record.customerID ?? -1
            sortKey = record.sortKey
        }

        static func < (a: Key, b: Key) -> Bool { (a.customer, a.sortKey) < (b.customer, b.sortKey) }
    }

    public let memoryLimit: Int
    private var chains: [ReportSection: [Chain]] = [:]
    private var counts: [ReportSection: Int] = [:]
    private var nestedCounts: [String: Int] = [:]
    private var recordsInMemory = 0
    private var spill: SpillFile?
    /// Why the rows could not be spilled (they were then kept in memory), for the run's log.
    public private(set) var spillError: String?

    public init(memoryLimit: Int = ReportRecords.defaultMemoryLimit) {
        self.memoryLimit = max(0, memoryLimit)
    }

    /// Rows that were already sorted and are kept in memory whatever their number (reports built
    /// directly, e.g. in tests).
    public convenience init(_ records: [ReportSection: [ReportRecord]]) {
        self.init(memoryLimit: Int.max)
        append(records)
    }

    /// Whether any row went to the temporary file.
    public var isSpilled: Bool { spill != nil }

    public var isEmpty: Bool { counts.values.allSatisfy { $0 == 0 } }

    public func count(_ section: ReportSection) -> Int { counts[section] ?? 0 }

    /// Rows nested in the records under `key` (an invoice's `items`), over every section.
    public func nestedCount(_ key: String) -> Int { nestedCounts[key] ?? 0 }

    /// Adds one batch's rows (any order within the batch).
    public func append(_ records: [ReportSection: [ReportRecord]]) {
        for section in ReportSection.allCases {
            guard let list = records[section], !list.isEmpty else { continue }
            let sorted = list.enumerated().sorted { a, b in
                let (x, y) = (Key(a.element), Key(b.element))
                return x < y || (x == y && a.offset < b.offset)
            }.map(\.element)
            counts[section, default: 0] += sorted.count
            for record in sorted {
                for (key, value) in record.fields.objectValue ?? [] {
                    if let nested = value.arrayValue { nestedCounts[key, default: 0] += nested.count }
                }
            }
            var run = Run.memory(sorted)
            if let spill, spillError == nil {
                do {
                    run = try spill.write(sorted)
                } catch {
                    spillError = "\(error)"
                }
            }
            if case .memory = run { recordsInMemory += sorted.count }
            let first = Key(sorted[0])
            let last = Key(sorted[sorted.count - 1])
            if var chain = chains[section]?.last, !(first < chain.lastKey) {
                chain.runs.append(run)
                chain.lastKey = last
                chains[section]![chains[section]!.count - 1] = chain
            } else {
                chains[section, default: []].append(Chain(runs: [run], lastKey: last))
            }
        }
        if recordsInMemory > memoryLimit && spillError == nil { spillMemory() }
    }

    /// Moves every run still in memory to the spill file. When that fails the rows stay in
    /// memory (the report stays complete) and `spillError` says why.
    private func spillMemory() {
        do {
            let file = try spill ?? SpillFile()
            spill = file
            for (section, list) in chains {
                for (c, chain) in list.enumerated() {
                    for (r, run) in chain.runs.enumerated() {
                        guard case .memory(let records) = run else { continue }
                        chains[section]![c].runs[r] = try file.write(records)
                        recordsInMemory -= records.count
                    }
                }
            }
        } catch {
            spillError = "\(error)"
        }
    }

    /// Calls `body` with each row of `section`, in the report's order.
    public func forEach(_ section: ReportSection, _ body: (ReportRecord) throws -> Void) throws {
        var readers = try (chains[section] ?? []).map { try ChainReader(runs: $0.runs, file: spill) }
        if readers.count == 1 {
            while let record = try readers[0].next() { try body(record) }
            return
        }
        // A binary heap of the chains' next rows, by key and then by chain (emission order).
        var heap: [(key: Key, chain: Int, record: ReportRecord)] = []
        func before(_ a: (key: Key, chain: Int, record: ReportRecord), _ b: (key: Key, chain: Int, record: ReportRecord)) -> Bool {
            a.key < b.key || (a.key == b.key && a.chain < b.chain)
        }
        func push(_ item: (key: Key, chain: Int, record: ReportRecord)) {
            heap.append(item)
            var child = heap.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard before(heap[child], heap[parent]) else { break }
                heap.swapAt(child, parent)
                child = parent
            }
        }
        func pop() -> (key: Key, chain: Int, record: ReportRecord) {
            let top = heap[0]
            let last = heap.removeLast()
            if !heap.isEmpty {
                heap[0] = last
                var parent = 0
                while true {
                    let left = 2 * parent + 1
                    let right = left + 1
                    var smallest = parent
                    if left < heap.count && before(heap[left], heap[smallest]) { smallest = left }
                    if right < heap.count && before(heap[right], heap[smallest]) { smallest = right }
                    if smallest == parent { break }
                    heap.swapAt(parent, smallest)
                    parent = smallest
                }
            }
            return top
        }
        for index in readers.indices {
            if let record = try readers[index].next() { push((Key(record), index, record)) }
        }
        while !heap.isEmpty {
            let top = pop()
            try body(top.record)
            if let record = try readers[top.chain].next() { push((Key(record), top.chain, record)) }
        }
    }

    /// Every row of `section` in the report's order, in memory: for small reports and tests.
    public func all(_ section: ReportSection) throws -> [ReportRecord] {
        var list: [ReportRecord] = []
        list.reserveCapacity(count(section))
        try forEach(section) { list.append($0) }
        return list
    }

    /// Reads one chain's runs one after another; a run of the file is read whole (one batch's
    /// rows of one section), then decoded record by record.
    private struct ChainReader {
        var runs: ArraySlice<Run>
        let file: SpillFile?
        var memory: ArraySlice<ReportRecord> = []
        var bytes: [UInt8] = []
        var offset = 0
        var left = 0

        init(runs: [Run], file: SpillFile?) throws {
            self.runs = runs[...]
            self.file = file
        }

        mutating func next() throws -> ReportRecord? {
            while true {
                if let record = memory.popFirst() { return record }
                if left > 0 {
                    left -= 1
                    return try bytes.withUnsafeBytes { try ReportRecordCodec.decodeRecord($0, &offset) }
                }
                guard let run = runs.popFirst() else { return nil }
                switch run {
                case .memory(let records):
                    memory = records[...]
                case .file(let start, let length, let count):
                    guard let file else { throw SpillFile.Failure(message: "the report's spill file is gone") }
                    bytes = try file.read(offset: start, length: length)
                    offset = 0
                    left = count
                }
            }
        }
    }

    /// The temporary file: created in the temporary directory and unlinked at once; written at
    /// its end, read with `pread`.
    private final class SpillFile {
        struct Failure: Error, CustomStringConvertible {
            let message: String
            var description: String { message }
        }

        let descriptor: Int32
        private var end = 0

        init() throws {
            var template = Array((NSTemporaryDirectory() + "/supportbill-report-XXXXXX").utf8CString)
            let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            guard descriptor >= 0 else {
                throw Failure(message: "cannot create a temporary file for the report: \(String(cString: strerror(errno)))")
            }
            let path = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            unlink(path)
            self.descriptor = descriptor
        }

        deinit { close(descriptor) }

        func write(_ records: [ReportRecord]) throws -> Run {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(records.count * 256)
            for record in records { ReportRecordCodec.encode(record, into: &bytes) }
            let start = end
            try bytes.withUnsafeBytes { buffer in
                var done = 0
                while done < buffer.count {
                    let written = pwrite(descriptor, buffer.baseAddress! + done, buffer.count - done, off_t(start + done))
                    if written < 0 {
                        if errno == EINTR { continue }
                        throw Failure(message: "cannot write the report's temporary file: \(String(cString: strerror(errno)))")
                    }
                    done += written
                }
            }
            end += bytes.count
            return .file(offset: start, length: bytes.count, count: records.count)
        }

        func read(offset: Int, length: Int) throws -> [UInt8] {
            var bytes = [UInt8](repeating: 0, count: length)
            try bytes.withUnsafeMutableBytes { buffer in
                var done = 0
                while done < length {
                    let got = pread(descriptor, buffer.baseAddress! + done, length - done, off_t(offset + done))
                    if got < 0 {
                        if errno == EINTR { continue }
                        throw Failure(message: "cannot read the report's temporary file: \(String(cString: strerror(errno)))")
                    }
                    if got == 0 { throw Failure(message: "the report's temporary file ends early") }
                    done += got
                }
            }
            return bytes
        }
    }
}
