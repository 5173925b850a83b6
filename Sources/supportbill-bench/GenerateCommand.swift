import ArgumentParser
import BillingCore
import BillingStore
import Foundation
import Postgres

/// Migrates a database and fills it with the synthetic provider, without measuring: for looking
/// at one job's plans and timings by hand (`supportbill run ... --database`).
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "generate", abstract: "Migrate DATABASE and fill it with the synthetic provider (for exploring by hand).")

    @Option(help: "libpq conninfo or URI of an empty database.") var database: String
    @Option var customers = 10_000
    @Option var services = 50_000
    @Option var entries = 5_000_000
    @Option var month = "2026-10"
    @Option(help: "standard, or ticket-services (half the customers with four services each, a fifth of the entries).")
    var shape = "standard"

    func run() throws {
        let db = try PostgresTarget(conninfo: database).connect()
        defer { db.close() }
        _ = try Migrator().migrate(db)
        guard let shape = SyntheticProvider.Shape(rawValue: shape) else { throw ValidationError("unknown shape \(self.shape)") }
        let provider = SyntheticProvider.make(shape, customers: customers, services: services, entries: entries, month: try YearMonth(month))
        try provider.generate(db) { FileHandle.standardError.write(Data("generate: \($0)\n".utf8)) }
    }
}
