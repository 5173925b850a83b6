import ArgumentParser
import BillingCore
import BillingStore
import Foundation
import Postgres

struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Create or upgrade the supportbill schema, or say whether it matches this binary.",
        discussion: """
            Applies the migrations this binary carries (sql/NNN_*.sql) that the database does not \
            have yet, in order, in one transaction under an advisory lock: all of them or none. \
            Each applied file's checksum is recorded in schema_migrations; when the database is \
            up to date nothing changes. A migration that changed after it was applied is refused: \
            migrations are forward-only, a change is a new file. A database migrated by a newer \
            supportbill is refused before anything is applied (exit 11). The database must be \
            in UTF8.

            Run it as a role that may create tables (the jobs themselves need no DDL).

            A fresh database gets the 0.1.0 baseline (sql/182 to 189) and what follows it. A \
            database of a release before 0.1.0 is upgraded from the pre-0.1.0 sequence: the \
            files of sql/legacy it lacks run, the baseline is recorded as applied without \
            running (the legacy files built the same schema), then the later migrations run; \
            --status lists each step.

            --status changes nothing; it compares the applied migrations with this binary's and \
            exits 0 when they match, 10 when the schema is behind the binary (run migrate), 11 \
            when it is ahead (a newer supportbill migrated it: install that release), 12 when an \
            applied migration differs from this binary's file. An upgrade: stop the timers, \
            run the new release's `supportbill migrate`, install it, start the timers (a failed \
            migration leaves the installed binary working; deploy/INSTALL.md, Upgrading).

            Examples:
              supportbill migrate --database postgresql://billing@db.internal/support
              supportbill migrate --status
            """
    )

    @Flag(help: "Only say whether the schema matches this binary (exit 0 equal, 10 behind, 11 ahead, 12 changed).")
    var status = false

    @OptionGroup var database: DatabaseOptions

    /// `--status` exit codes, and `migrate`'s for a database ahead of the binary.
    enum SchemaExit: Int32 {
        case behind = 10
        case ahead = 11
        case changed = 12
    }

    func run() throws {
        do {
            let db = try database.target.connect(applicationName: "supportbill migrate")
            defer { db.close() }
            if status {
                try Migrator.requireUTF8(db)
                try report(try Migrator().status(db))
                return
            }
            let outcome = try Migrator().migrate(db)
            if outcome.applied.isEmpty && outcome.recorded.isEmpty {
                print("schema is up to date (version \(outcome.currentVersion))")
            } else {
                let legacy = Set(Migration.legacy.map(\.name))
                for name in outcome.applied where legacy.contains(name) { print("applied \(name)") }
                for name in outcome.recorded { print("recorded \(name) (the pre-0.1.0 sequence built its schema)") }
                for name in outcome.applied where !legacy.contains(name) { print("applied \(name)") }
                print("schema is at version \(outcome.currentVersion)")
            }
            try warnWithoutCutover(db)
        } catch let error as MigrationError where error.isNewerDatabase {
            FileHandle.standardError.write(Data("supportbill: error: \(error)\n".utf8))
            throw ExitCode(SchemaExit.ahead.rawValue)
        } catch let exit as ExitCode {
            throw exit
        } catch {
            throw failure(error)
        }
    }

    /// History older than a month and no cut-over: the first runs would bill that history again
    /// (three months of rollups, every entry debited). A warning, not a failure: a database that
    /// only holds supportbill's own history needs no cut-over.
    private func warnWithoutCutover(_ db: PostgresConnection) throws {
        guard try BillingCutover.load(db) == nil else { return }
        let monthAgo = Instant.now.utcDate.adding(months: -1)
        let history = try BillingCutover.history(before: Instant(utc: monthAgo), db)
        guard history.entries > 0 || history.payments > 0 else { return }
        let entries = "\(history.entries) time entr\(history.entries == 1 ? "y" : "ies")"
        let payments = "\(history.payments) payment\(history.payments == 1 ? "" : "s")"
        let warning = "supportbill: warning: the database holds \(entries) and \(payments) older than \(monthAgo), and no cut-over is set: "
            + "the first runs bill that history (monthly-rollup its last months, threshold-topup every entry). If another system billed it, "
            + "set the first date supportbill bills before the first run: supportbill cutover --set YYYY-MM-DD\n"
        FileHandle.standardError.write(Data(warning.utf8))
    }

    private func report(_ status: Migrator.SchemaStatus) throws {
        let binary = Migration.latestVersion
        switch status {
        case .current(let version):
            print("schema and binary match: version \(version) (\(Migration.all.count) migrations)")
        case .behind(let current, let pending):
            print(current == 0 && pending.count == Migration.all.count
                  ? "no supportbill schema in this database yet: run `supportbill migrate`"
                  : "schema is behind this binary: version \(current), the binary carries \(binary); run `supportbill migrate` to apply:")
            for name in pending { print("  \(name)") }
            throw ExitCode(SchemaExit.behind.rawValue)
        case .behindLegacy(let current, let legacy, let baseline, let pending):
            print("schema is behind this binary: version \(current) of the pre-0.1.0 sequence, the binary carries \(binary); run `supportbill migrate` to upgrade from the pre-0.1.0 sequence:")
            for name in legacy { print("  \(name)") }
            for name in baseline { print("  \(name) (recorded: the pre-0.1.0 sequence built its schema)") }
            for name in pending { print("  \(name)") }
            throw ExitCode(SchemaExit.behind.rawValue)
        case .ahead(let current, let unknown):
            print("schema is ahead of this binary: version \(current), the binary knows up to \(binary); a newer supportbill migrated it: install that release. Unknown migrations:")
            for name in unknown { print("  \(name)") }
            throw ExitCode(SchemaExit.ahead.rawValue)
        case .changed(let names):
            print("applied migrations differ from this binary's files (forward-only: a change is a new file); this binary does not belong to this schema:")
            for name in names { print("  \(name)") }
            throw ExitCode(SchemaExit.changed.rawValue)
        }
    }
}
