import BillingCore
import BillingStore
import Foundation
import Logging
import Postgres

/// Runs one job: connection, lock, `job_runs` record, batches and transactions, dry run,
/// report and exit status (docs/design.md §5).
///
/// - One run per job at a time: a session advisory lock. A second run exits 75 at once naming
///   the holder (or queues with `wait`). Holding the lock proves no other run of the job is
///   alive, so a `running` row found then was left by a dead process and is marked failed.
/// - Work is committed in batches of customers, each atomically: a killed run leaves whole
///   customers only, and a rerun completes it without duplicates (the jobs are idempotent).
/// - A batch that fails on a customer's data is retried customer by customer; the customers
///   that still fail are skipped with the reason, the others are billed, the run ends `partial`.
///   Serialization failures and deadlocks are retried a bounded number of times.
/// - Two different jobs over the same customer never interleave inside a batch: a real run's
///   batch takes its customers' locks first (`CustomerLocks`).
/// - A dry run takes the same path inside one transaction that is rolled back: batches become
///   savepoints, the `job_runs` row is written and discarded, the lock is released at the end.
///   `simulate` runs many jobs the same way inside one transaction.
public struct JobRunner: Sendable {
    public let target: PostgresTarget
    public let settings: RunnerSettings
    public let logger: Logger
    public let interruption: Interruption
    /// Called after each batch with (customers done, customers to do), for progress displays.
    public let onProgress: (@Sendable (Int, Int) -> Void)?

    /// Serialization failures and deadlocks are retried this many times per batch.
    static let maxRetries = 3
    static let lockClassID: Int32 = 0x5342_4C4C // "SBLL"

    public init(target: PostgresTarget, settings: RunnerSettings = RunnerSettings(), logger: Logger = Logger(label: "supportbill"), interruption: Interruption = Interruption(), onProgress: (@Sendable (Int, Int) -> Void)? = nil) {
        self.target = target
        self.settings = settings
        self.logger = logger
        self.interruption = interruption
        self.onProgress = onProgress
    }

    public static func lockKey(for job: JobName) -> PostgresAdvisoryLockKey {
        PostgresAdvisoryLockKey(classID: lockClassID, objectID: job.lockObjectID)
    }

    /// Where a run's writes go.
    public enum Scope: Sendable {
        /// A real run: the `job_runs` row and every batch are committed in transactions of their own.
        case ownTransactions
        /// Inside a transaction the caller has opened and will commit or roll back: batches are
        /// savepoints. A dry run is one run in such a transaction, rolled back; `simulate` runs
        /// many in one.
        case enclosingTransaction
    }

    /// Connects and runs `job`: in transactions of its own, or, for a dry run, inside one
    /// transaction that is rolled back.
    public func run(_ job: any BillingJob, _ request: JobRunRequest) -> JobReport {
        let started = ContinuousClock.now
        let db: PostgresConnection
        do {
            db = try target.connect(settings: settings.sessionSettings, applicationName: "supportbill \(type(of: job).name)")
            for setting in settings.versionedSessionSettings {
                guard db.serverVersion >= setting.minimumVersion else {
                    logger.debug("session setting skipped: the server is too old", metadata: [
                        "setting": "\(setting.name)", "server.version": "\(db.serverVersion)"])
                    continue
                }
                try db.execute("SELECT set_config($1, $2, false)", [setting.name, setting.value])
            }
        } catch {
            logger.error("cannot connect", metadata: ["job.name": "\(type(of: job).name)", "error": "\(error)"])
            return JobRunner.notStarted(job, request, started: started, error: "\(error)", exit: JobRunner.exitStatus(for: error), currencies: [:])
        }
        defer { db.close() }
        guard request.dryRun else { return run(job, request, on: db, scope: .ownTransactions) }
        do {
            try db.execute("BEGIN")
            try JobRunner.previewInvoiceNumbers(db)
        } catch {
            return JobRunner.notStarted(job, request, started: started, error: "\(error)", exit: JobRunner.exitStatus(for: error), currencies: [:])
        }
        let report = run(job, request, on: db, scope: .enclosingTransaction)
        db.rollbackQuietly()
        return report
    }

    /// Makes the open transaction a preview: invoices it issues are numbered from a copy of the
    /// counters private to it, so a dry run shows the numbers a real run would give without
    /// holding up a real run's issuing (docs/invoices.md, "Numbers").
    public static func previewInvoiceNumbers(_ db: PostgresConnection) throws {
        try db.execute("SET LOCAL supportbill.preview_numbers = 'on'")
    }

    /// Runs `job` on an open connection. With `.enclosingTransaction` the caller must have opened
    /// the transaction; it stays open (usable, unless the database failed) when this returns.
    public func run(_ job: any BillingJob, _ request: JobRunRequest, on db: PostgresConnection, scope: Scope) -> JobReport {
        let name = type(of: job).name
        let started = ContinuousClock.now
        let nested = scope == .enclosingTransaction
        var logger = self.logger
        logger[metadataKey: "job.name"] = "\(name)"
        var currencies: [CurrencyCode: Currency] = [:]
        // The emitted rows, spilled to a temporary file beyond the bound (a first run over a
        // large history emits millions); `output` keeps the rest of the report.
        let records = ReportRecords(memoryLimit: settings.reportMemoryLimit)

        func report(runID: Int64?, status: JobRunStatus?, output: JobOutput = JobOutput(), error: String?, exit: ExitStatus) -> JobReport {
            JobReport(job: name, runID: runID, dryRun: request.dryRun, asOf: request.asOf, period: request.period,
                      status: status, output: output, records: records, error: error, exitStatus: exit,
                      durationMilliseconds: JobRunner.milliseconds(since: started), currencies: currencies)
        }

        // Checks that need no lock: schema version, --customer ids.
        do {
            try Migrator().verify(db)
            if !request.customers.isEmpty {
                let existing = try CustomerDirectory.existing(db, ids: request.customers)
                let unknown = request.customers.filter { !existing.contains($0) }
                if !unknown.isEmpty {
                    return report(runID: nil, status: nil, error: "no such customer: \(unknown.map(String.init).joined(separator: ", "))", exit: .usage)
                }
            }
            currencies = try CurrencyTable.load(db)
        } catch {
            return report(runID: nil, status: nil, error: "\(error)", exit: JobRunner.exitStatus(for: error))
        }

        // One run per job at a time. The session says what it is before it takes the lock, so a
        // run locked out can tell a dry run (whose job_runs row nobody else sees) from a real one
        // and say so.
        let key = JobRunner.lockKey(for: name)
        do {
            try db.execute("SELECT set_config('application_name', $1, false)",
                           ["supportbill \(name)\(request.dryRun ? " (dry run)" : "")"])
            if request.wait {
                try db.execute("SELECT set_config('lock_timeout', '0', false)")
                try db.advisoryLock(key)
                try db.execute("SELECT set_config('lock_timeout', $1, false)", [settings.lockTimeout])
            } else if try !db.tryAdvisoryLock(key) {
                let holder = (try? JobRunStore.holder(db, job: name.rawValue, lock: key))
                    ?? JobRunStore.LockHolder(description: "another session", isDryRun: false)
                // One more try: the holder may have ended while we looked at it.
                if try !db.tryAdvisoryLock(key) {
                    logger.warning("another run holds the lock", metadata: ["holder": "\(holder.description)"])
                    // docs/design.md §5: exit 75 at once. A real run's holder does the work; a dry run
                    // does none of it, so the message says so and how not to miss the turn.
                    let advice = holder.isDryRun && !request.dryRun ? " (a dry run, which bills nothing: run this again when it ends, or with --wait to queue behind it)" : ""
                    return report(runID: nil, status: nil, error: "\(name) is already running: \(holder.description)\(advice)", exit: .locked)
                }
            }
        } catch {
            return report(runID: nil, status: nil, error: "\(error)", exit: JobRunner.exitStatus(for: error))
        }
        defer { if db.isOpen { _ = try? db.advisoryUnlock(key) } }

        // The job_runs row: committed at once on a real run, so others can see who holds the lock.
        let runID: Int64
        let start = JobRunStore.Start(
            job: name.rawValue, asOf: request.asOf, period: request.period?.dateRange, dryRun: request.dryRun,
            invokedBy: request.invokedBy, host: Invoker.host, pid: Invoker.pid
        )
        do {
            let record = { (db: PostgresConnection) throws -> Int64 in
                let stale = try JobRunStore.failStaleRuns(db, job: name.rawValue, foundBy: "a run by \(request.invokedBy)")
                if !stale.isEmpty { logger.warning("marked stale runs as failed", metadata: ["job.stale_run_ids": "\(stale)"]) }
                return try JobRunStore.insert(db, start)
            }
            runID = nested ? try db.savepoint(record) : try db.transaction(record)
            try db.execute("SELECT set_config('application_name', $1, false)",
                           ["supportbill \(name) run \(runID)\(request.dryRun ? " (dry run)" : "")"])
        } catch {
            return report(runID: nil, status: nil, error: "\(error)", exit: JobRunner.exitStatus(for: error))
        }
        logger[metadataKey: "job.run_id"] = "\(runID)"
        logger.info("run started", metadata: [
            "job.as_of": "\(request.asOf)", "job.dry_run": "\(request.dryRun)",
            "job.period": "\(request.period.map(String.init(describing:)) ?? "-")",
        ])
        interruption.attach(db.cancelHandle())
        defer { interruption.attach(nil) }

        let context = JobContext(
            db: db, runID: runID, asOf: request.asOf, period: request.period, customerFilter: request.customers,
            force: request.force, dryRun: request.dryRun, currencies: currencies, logger: logger
        )
        var output = JobOutput()
        func absorb(_ part: JobOutput) {
            var part = part
            records.append(part.records)
            part.records = [:]
            output.merge(part)
        }
        var status = JobRunStatus.succeeded
        var failure: String?
        var exit = ExitStatus.success
        do {
            // The run-wide steps write (contract-expiry-rollover activates contracts) or read
            // under the same locks as the batches, so they meet the same conflicts.
            absorb(try retrying("prepare", logger: logger) { try inScope(nested, db) { try job.prepare(context) } })
            let ids = try retrying("choosing the customers", logger: logger) { try inScope(nested, db) { try job.customers(context) } }
            let lookup = try CustomerDirectory.load(db, ids: ids, asOf: request.asOf)
            output.count("customers", ids.count)
            for defect in lookup.defects { output.skip(defect.customerID, defect.reason) }
            // Defects the job would bill around silently (docs/data-defects.md): skipped here.
            let screened = (type(of: job) as? any RegisteredJob.Type)?.defectsSkippedByRunner ?? []
            let blocked = try DataDefectScanner.blocking(db, job: name.rawValue, skipped: screened, customers: lookup.customers.map(\.id), asOf: request.asOf)
            for (customer, reason) in blocked { output.skip(customer, reason) }
            let customers = lookup.customers.filter { blocked[$0.id] == nil }
            var done = 0
            var lastProgress = ContinuousClock.now
            for batch in customers.chunks(of: max(1, request.batchSize)) {
                if let signal = interruption.requested { throw JobStop.interrupted(signal) }
                absorb(try process(job, batch, context, nested: nested, lockCustomers: !request.dryRun, logger: logger))
                done += batch.count
                onProgress?(done, customers.count)
                if ContinuousClock.now - lastProgress > .seconds(5) || done == customers.count {
                    // Estimate from the pace so far: batches are of similar size.
                    let elapsed = JobRunner.milliseconds(since: started)
                    let remaining = done > 0 ? elapsed * Int64(customers.count - done) / Int64(done) / 1000 : 0
                    logger.info("progress", metadata: [
                        "job.customers_done": "\(done)", "job.customers_total": "\(customers.count)",
                        "job.seconds_left": "\(remaining)",
                    ])
                    lastProgress = ContinuousClock.now
                }
            }
            if !output.skipped.isEmpty || !output.reported.isEmpty {
                status = .partial
                exit = .dataError
            }
        } catch let stop as JobStop {
            absorb(stop.output)
            status = .failed
            failure = stop.message
            exit = stop.isSafetyLimit ? .dataError : .failure
        } catch let error as PostgresError where error.isCancellation && interruption.requested != nil {
            status = .failed
            failure = JobStop.interrupted(interruption.requested ?? "a signal").message
            exit = .failure
        } catch let error as PostgresError where error.isCancellation {
            // lock_timeout or statement_timeout: say which limit ended the run and that it is safe.
            status = .failed
            failure = "\(error) (lock_timeout \(settings.lockTimeout), statement_timeout \(settings.statementTimeout)): "
                + "the batch in hand was rolled back, the batches before it are committed; a rerun completes the work"
            exit = .failure
        } catch {
            status = .failed
            failure = "\(error)"
            exit = JobRunner.exitStatus(for: error)
        }

        let result = report(runID: runID, status: status, output: output, error: failure, exit: exit)
        do {
            let finish = { (db: PostgresConnection) throws in
                // The report's rows, for `supportbill runs show` (a dry run's would be rolled back).
                if !request.dryRun { try StoredReport.save(db, runID: runID, records: records) }
                try JobRunStore.finish(db, id: runID, status: status.rawValue, stats: result.stats, error: failure)
            }
            if nested { try db.savepoint(finish) } else { try db.transaction(finish) }
        } catch {
            if !nested { db.rollbackQuietly() }
            logger.error("could not record the end of the run", metadata: ["error": "\(error)"])
            if exit == .success || exit == .dataError {
                return report(runID: runID, status: status, output: output, error: "\(error)", exit: JobRunner.exitStatus(for: error))
            }
        }
        if let spillError = records.spillError {
            logger.warning("the report's rows stay in memory: they could not be written to a temporary file", metadata: ["error": "\(spillError)"])
        }
        let level: Logger.Level = exit == .success ? .info : .warning
        logger.log(level: level, "run finished", metadata: [
            "job.status": "\(status.rawValue)", "job.exit": "\(exit.rawValue)",
            "job.skipped": "\(output.skipped.count)", "job.reported": "\(output.reported.count)", "job.duration_ms": "\(result.durationMilliseconds)",
        ])
        return result
    }

    static func notStarted(_ job: any BillingJob, _ request: JobRunRequest, started: ContinuousClock.Instant, error: String, exit: ExitStatus, currencies: [CurrencyCode: Currency]) -> JobReport {
        JobReport(job: type(of: job).name, runID: nil, dryRun: request.dryRun, asOf: request.asOf, period: request.period,
                  status: nil, output: JobOutput(), error: error, exitStatus: exit,
                  durationMilliseconds: milliseconds(since: started), currencies: currencies)
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> Int64 {
        let elapsed = ContinuousClock.now - start
        return elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
    }

    /// One batch in its own transaction (a savepoint on a dry run), retried on serialization
    /// failures, and split customer by customer when a customer's data makes it fail.
    /// A real run's batch first takes its customers' locks (`CustomerLocks`), so another job's
    /// batch over the same customers runs wholly before or after it. A dry run writes nothing
    /// another run could see and takes none: it never holds a timer's run up.
    private func process(_ job: any BillingJob, _ batch: [CustomerRecord], _ context: JobContext, nested: Bool, lockCustomers: Bool, logger: Logger) throws -> JobOutput {
        do {
            return try retrying("batch", logger: logger) {
                try inScope(nested, context.db) {
                    if lockCustomers { try CustomerLocks.lock(context.db, customers: batch.map(\.id)) }
                    return try job.process(batch, context)
                }
            }
        } catch where JobRunner.isCustomerDataError(error) {
            guard batch.count > 1 else {
                var output = JobOutput()
                output.skip(batch[0].id, "\(error)")
                logger.warning("customer skipped", metadata: ["customer.id": "\(batch[0].id)", "error": "\(error)"])
                return output
            }
            var output = JobOutput()
            for customer in batch {
                output.merge(try process(job, [customer], context, nested: nested, lockCustomers: lockCustomers, logger: logger))
            }
            return output
        }
    }

    /// `body` (one whole transaction or savepoint) again after a serialization failure or a
    /// deadlock, at most `maxRetries` times: each attempt was rolled back whole. Sessions run at
    /// READ COMMITTED, where a retried savepoint takes a fresh snapshot per statement; under
    /// REPEATABLE READ or SERIALIZABLE only a whole transaction could be retried.
    private func retrying<T>(_ step: String, logger: Logger, _ body: () throws -> T) throws -> T {
        var attempt = 0
        while true {
            do {
                return try body()
            } catch let error as PostgresError where error.isRetryable && attempt < JobRunner.maxRetries {
                attempt += 1
                logger.notice("retrying \(step) after a serialization failure or deadlock", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                usleep(useconds_t(50_000 * attempt))
            }
        }
    }

    private func inScope<T>(_ nested: Bool, _ db: PostgresConnection, _ body: () throws -> T) throws -> T {
        nested ? try db.savepoint { _ in try body() } : try db.transaction { _ in try body() }
    }

    /// Errors caused by one customer's data: skipping the customer is the right response.
    static func isCustomerDataError(_ error: Error) -> Bool {
        if let error = error as? PostgresError { return error.isDataError }
        return error is BillingError
    }

    static func exitStatus(for error: Error) -> ExitStatus {
        if let error = error as? PostgresError, error.isUnavailable { return .unavailable }
        if let error = error as? MigrationError, error.isPending { return .failure }
        return .failure
    }
}

extension Array {
    /// Consecutive slices of at most `size` elements.
    func chunks(of size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: size).map { Array(self[$0..<Swift.min($0 + size, count)]) }
    }
}
