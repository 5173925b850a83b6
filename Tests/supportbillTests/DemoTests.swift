import Foundation
import TestSupport
import Testing

@Suite("supportbill demo: the newcomer's first command")
struct DemoTests {
    @Test("runs on a fresh machine: starts its own cluster, bills the month, prints invoices, cleans up")
    func demo() throws {
        // A private TMPDIR shows that the demo's throwaway cluster is deleted afterwards.
        let temporary = NSTemporaryDirectory() + "/demo-test-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: temporary) }
        let result = try ChildProcess.supportbill(["demo", "--month", "2026-10"], environment: ["TMPDIR": temporary])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("billing 2026-10"))
        #expect(result.stdout.contains("Invoice") || result.stdout.contains("No invoices"))
        // Going live: the cut-over is set before the first run, and the text says what it means.
        #expect(result.stdout.contains("$ supportbill cutover --set 2026-07-01\n\ncut-over set to 2026-07-01\nno job emits anything for time worked, fee or grant periods starting, payments received or tickets opened before 2026-07-01"), "\(result.stdout.prefix(1500))")
        let firstRun = try #require(result.stdout.range(of: "$ supportbill run "))
        #expect(try #require(result.stdout.range(of: "$ supportbill cutover --set")).lowerBound < firstRun.lowerBound)
        let left = try FileManager.default.contentsOfDirectory(atPath: temporary).filter { $0.hasPrefix("supportbill-pg-") }
        #expect(left.isEmpty, "the demo left \(left)")
    }

    @Test("the corrections act: an edited entry gives credit note CN-000001 (-60.00, corrects INV-000003), a reversed payment reopens invoice 6, a withdrawn entry returns 120 minutes")
    func corrections() throws {
        let result = try ChildProcess.supportbill(["demo", "--month", "2026-10"])
        #expect(result.status == 0, "\(result.stderr)")
        let parts = result.stdout.components(separatedBy: "\n## Corrections")
        try #require(parts.count == 2, "the demo has no corrections act:\n\(result.stdout)")
        // The month before the act is the demo as it was: nothing of the corrections in it.
        #expect(!parts[0].contains("CN-"))
        #expect(!parts[0].contains("invoice_unpaid"))
        #expect(!parts[0].contains("ce:return:"))
        let act = try #require(parts[1].components(separatedBy: "\n=====").first)
        func step(_ caption: String) throws -> String {
            try #require(act.components(separatedBy: "\n## \(caption)").dropFirst().first?.components(separatedBy: "\n## ").first,
                         "no step \(caption) in:\n\(act)")
        }

        // (1) Northwind's 90-minute entry edited to 30: 285 -> 225 min, 4.75 h -> 3.75 h, one
        // hour less beyond the 2 h included at 60.00: an adjustment invoice of -60.00 for
        // October, numbered in the credit-note series, correcting the period invoice 3.
        let rollup = try step("The rollup re-rates the month")
        #expect(rollup.contains("$ supportbill run monthly-rollup --as-of 2026-12-04T14:00:00Z --period 2026-10"))
        #expect(rollup.contains("  invoice 11 CN-000001  customer 1  adjustment  2026-10-01..2026-10-31  issued  due 2026-12-18  total -60.00 USD"))
        #expect(rollup.contains("Support time 2026-10 re-rated: 4.75 h → 3.75 h worked            -60.00 USD"))
        #expect(rollup.contains("USD  adjusted -60.00 USD  ·  issued -60.00 USD"))
        let notes = try step("The credit note is numbered")
        #expect(notes.contains("  CN-000001  invoice 11  customer 1  adjustment  corrects INV-000003 (invoice 3)  total -60.00 USD"))

        // (2) Wingtip's payment 5 of invoice 6 (200.00, due Nov 15, 7 days' grace) reversed:
        // invoice 6 is issued again and overdue since Nov 22, so service 5 is suspended and
        // Wingtip leaves Priority Support.
        let sweep = try step("The sweep settles invoices")
        #expect(sweep.contains("customers 5  ·  group_removed 1  ·  invoices_unpaid 1  ·  suspended 1"))
        #expect(sweep.contains("USD  overdue 200.00 USD  ·  reopened 200.00 USD"))
        #expect(sweep.contains("customer_id 5  entity invoice  entity_id 6  event invoice_unpaid  detail {\"reason\":\"completed payments no longer reach the total\""))
        #expect(sweep.contains("\"outstanding\":20000,\"payment_ids\":[],\"reversed_payment_ids\":[5]"))
        #expect(sweep.contains("customer_id 5  entity service  entity_id 5  event suspended  detail {\"reason\":\"overdue\",\"summary\":\"period invoice: 200.00 USD outstanding, due 2026-11-15, overdue since 2026-11-22 (7 days' grace)\""))
        #expect(sweep.contains("customer_id 5  entity customer_group  entity_id 1  event group_removed"))

        // (3) Litware's 120-minute entry 20 withdrawn: its minutes return to contract 1, which
        // has no end and 60 minutes left, so it is active again and takes back the 60 minutes
        // of entry 22 that had rolled over to contract 2.
        let contracts = try step("Contracts re-plan Litware's time")
        #expect(contracts.contains("charges 1  ·  customers 1  ·  minutes_covered 60  ·  minutes_returned 180  ·  reactivated 1  ·  returns 2"))
        #expect(contracts.contains("time_entry_id 20  contract_id 1  minutes -120  outcome covered  source_key ce:return:20:2"))
        #expect(contracts.contains("time_entry_id 22  contract_id 2  minutes -60  outcome rolled_over  source_key ce:return:22:3"))
        #expect(contracts.contains("time_entry_id 22  contract_id 1  minutes 60  outcome covered  source_key ce:charge:22:4"))
        #expect(contracts.contains("entity contract  entity_id 1  event contract_reactivated"))

        // The listing: the issued invoices are unchanged, the credit note is the eleventh, and
        // Wingtip's invoice is issued again.
        let listing = try #require(parts[1].components(separatedBy: "\n=====").last)
        #expect(listing.contains("Invoices (11)"))
        #expect(listing.contains("2.25 × 60.00 USD     135.00 USD"))
        #expect(listing.contains("Support time 2026-10 re-rated: 4.75 h → 3.75 h worked            -1 × 60.00 USD     -60.00 USD"))
        #expect(listing.contains("Invoice INV-000006 (id 6) · Wingtip Toys (customer 5) · period · 2026-10-01..2026-10-31\n  issued, due 2026-11-15\n"))
    }

    //   Contoso Web at DE-19: 30.00 setup + 2.25 h at 1.00 = net 32.25, 19 % = 6.1275 -> 6.13, gross 38.38
    //   Tailspin Apps, reverse charge: 99.00 at 0 % with its note; everyone else untaxed
    @Test("the month has taxed and untaxed customers: net, tax per rate, gross and the note, paid on the gross")
    func taxes() throws {
        let result = try ChildProcess.supportbill(["demo", "--month", "2026-10"])
        #expect(result.status == 0, "\(result.stderr)")
        let rollup = try #require(result.stdout.components(separatedBy: "\n## Month-end rollup").dropFirst().first?.components(separatedBy: "\n## ").first)
        #expect(rollup.contains("  invoice 4 INV-000004  customer 2  period  2026-10-01..2026-10-31  issued  due 2026-11-15  total 38.38 USD"))
        #expect(rollup.contains("      tax           DE-19 19 % of 32.25 USD                                            6.13 USD"))
        #expect(rollup.contains("      tax           RC-0 0 % of 99.00 USD                                              0.00 USD"))
        #expect(rollup.contains("      note: Reverse charge: the customer accounts for the VAT (VAT Act 1994, s. 8)"))
        #expect(rollup.contains("USD  invoiced 770.38 USD  ·  issued 770.38 USD"))
        // Contoso pays the gross total, and the sweep marks its invoice paid.
        #expect(result.stdout.contains("customer_id 2  entity invoice  entity_id 4  event invoice_paid  detail {\"reason\":\"completed payments reach the total\",\"kind\":\"period\",\"currency\":\"USD\",\"total\":3838,\"paid\":3838"))
        let listing = try #require(result.stdout.components(separatedBy: "\n=====").last)
        #expect(listing.contains("""
            Invoice INV-000004 (id 4) · Contoso Web (customer 2) · period · 2026-10-01..2026-10-31
              paid, due 2026-11-15, paid 38.38 USD
                Post-paid Support (hourly), one-time setup fee                                       30.00 USD
                Support time 2026-10: 2.25 h worked                             2.25 × 1.00 USD       2.25 USD
                                                                                                 net 32.25 USD
                                                                     tax DE-19 19 % of 32.25 USD       6.13 USD
                                                                                                total 38.38 USD
            """))
        #expect(listing.contains("                                                                                total 99.00 USD\n  Reverse charge: the customer accounts for the VAT (VAT Act 1994, s. 8)\n"))
        // Northwind is untaxed: no net or tax lines.
        #expect(listing.contains("                                                                                    total 335.00 USD\n\nInvoice INV-000010"))
    }
}
