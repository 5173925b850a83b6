import ArgumentParser
import BillingStore
import Foundation

struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Create or upgrade the supportbill schema.",
        discussion: """
            Applies the migrations this binary carries (sql/NNN_*.sql) that the database does not \
            have yet, in order, in one transaction under an advisory lock: all of them or none. \
            Each applied file's checksum is recorded in schema_migrations; when the database is \
            up to date nothing changes. A migration that changed after it was applied is refused: \
            migrations are forward-only, a change is a new file.

            Run it as a role that may create tables (the jobs themselves need no DDL).

            Example:
              supportbill migrate --database postgresql://billing@db.internal/support
            """
    )

    @OptionGroup var database: DatabaseOptions

    func run() throws {
        do {
            let db = try database.target.connect()
            defer { db.close() }
            let outcome = try Migrator().migrate(db)
            if outcome.applied.isEmpty {
                print("schema is up to date (version \(outcome.currentVersion))")
            } else {
                for name in outcome.applied { print("applied \(name)") }
                print("schema is at version \(outcome.currentVersion)")
            }
        } catch {
            throw failure(error)
        }
    }
}
