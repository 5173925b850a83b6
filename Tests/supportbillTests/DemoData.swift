import BillingCore
import Postgres
import TestSupport
@testable import supportbill

/// A test database holding the demo data set for `month` (the same SQL `supportbill demo` loads).
enum DemoData {
    static func load(month: String = "2026-10") throws -> TestDatabase {
        let database = try TestCluster.makeDatabase()
        let db = try database.connect()
        defer { db.close() }
        try db.execute("SELECT set_config('supportbill.demo_month', $1, false)", [try YearMonth(month).firstDay.description])
        for file in EmbeddedDemoFiles.files { try db.executeScript(file.contents) }
        return database
    }
}
