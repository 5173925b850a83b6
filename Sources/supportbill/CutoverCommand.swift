import ArgumentParser
import BillingCore
import BillingJobs
import BillingStore
import Foundation
import Postgres

struct CutoverCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cutover",
        abstract: "Show or set the first local date supportbill bills (the cut-over).",
        discussion: """
            A provider whose earlier months were billed by another system sets a cut-over before \
            the first run, so that no job bills that history again. From then on no job emits \
            anything for time worked, fee or grant periods starting, payments received or tickets \
            opened before it, each in the customer's local calendar:

              monthly-rollup: no fee period or setup fee starting before it; a month
                holding it bills only the time worked on and after it
              threshold-topup: entries worked before it are not debited
              suspension-sweep: invoices issued before it are never chased
              incident-grants: no grant for a period, registration, first payment or
                funds before it; tickets opened before it use no incident
              contract-expiry-rollover: entries worked before it are charged to no
                contract; a request opened before it is never billed per incident

            The date is stored in the database (billing_cutover), so every job, host and timer \
            reads the same one. Without --set the command prints it, or "not set" (every job then \
            bills the whole history).

            --set stores a date. Moving it later (or setting the first one) is refused with exit \
            64 when supportbill already emitted something dated before the new date (items, ledger \
            rows, grants, uses, charges): the message names them. Moving it earlier is always \
            allowed: it only lets the jobs bill more (what lies between the two dates is billed by \
            the next runs, within each job's window; an older month needs --period). Set it as \
            the schema's owner (the role that runs migrate); the jobs' role may only read it.

            Examples:
              supportbill cutover
              supportbill cutover --set 2026-11-01
            """
    )

    @Option(help: ArgumentHelp("The first local date to bill, YYYY-MM-DD.", valueName: "date"))
    var set: String?

    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        if let set {
            do { _ = try LocalDate(set) } catch { throw ValidationError("--set: \(set.debugDescription) is not a date (YYYY-MM-DD): \(error)") }
        }
    }

    func run() throws {
        do {
            let db = try database.target.connect(applicationName: "supportbill cutover")
            defer { db.close() }
            try Migrator().verify(db)
            if let set {
                let previous = try BillingCutover.load(db)
                let setting = try BillingCutover.set(try LocalDate(set), db)
                switch previous {
                case nil: print("cut-over set to \(setting.date)")
                case let date? where date == setting.date: print("cut-over unchanged: \(setting.date)")
                case let date?: print("cut-over moved from \(date) to \(setting.date)")
                }
                print(Self.meaning(setting.date))
                return
            }
            guard let setting = try BillingCutover.setting(db) else {
                print("cut-over: not set")
                print("every job bills the whole history in the database; if another system billed earlier months, set one before the first run: supportbill cutover --set YYYY-MM-DD")
                return
            }
            print("cut-over: \(setting.date) (set \(setting.setAt) by \(setting.setBy))")
            print(Self.meaning(setting.date))
        } catch let refused as CutoverRefused {
            FileHandle.standardError.write(Data("supportbill: error: \(refused)\n".utf8))
            throw ExitCode(ExitStatus.usage.rawValue)
        } catch let error as PostgresError where error.sqlState == "42501" {
            FileHandle.standardError.write(Data("supportbill: error: \(error)\nsupportbill: setting the cut-over needs the schema owner's connection (the role that runs `supportbill migrate`); the jobs' role may only read it\n".utf8))
            throw ExitCode(ExitStatus.failure.rawValue)
        } catch let exit as ExitCode {
            throw exit
        } catch {
            throw failure(error)
        }
    }

    static func meaning(_ date: LocalDate) -> String {
        "no job emits anything for time worked, fee or grant periods starting, payments received or tickets opened before \(date) (each customer's local date)"
    }
}
