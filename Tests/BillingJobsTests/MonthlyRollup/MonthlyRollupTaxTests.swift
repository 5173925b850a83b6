import BillingCore
import BillingJobs
import BillingStore
import Foundation
import Postgres
import TestSupport
import Testing

/// monthly-rollup taxes its invoices (issue 18, docs/invoices.md "Taxes"): per invoice and rate,
/// tax = roundHalfUp(base × rate / 100); `total` is gross; items keep the rate they were billed
/// at and corrections take the rate of what they correct.
@Suite("monthly-rollup on PostgreSQL: taxes")
struct MonthlyRollupTaxTests {
    //   October 2026, one run as of Nov 1:
    //   Contoso   USD  DE-19 19 %   flat 49.00 in advance: Oct + Nov fee   net 98.00   tax 18.62    gross 116.62
    //   Adatum    USD  EU-RC 0 %    setup 30.00 + 1.50 h at 1.00            net 31.50   tax 0.00     gross 31.50  (note)
    //   Kanto     JPY  JP-10 10 %   bundle 30000 + a 1235 per-incident item net 31235   tax 3124     gross 34359  (3123.5 up)
    //   Gulf      KWD  KW-5 5 %     flat 12.345 twice                       net 24.690  tax 1.235    gross 25.925
    //                                (per rate 1.2345 -> 1.235; per item 0.61725 -> 0.617 twice = 1.234)
    //   Northwind USD  untaxed      flat 49.00 twice                        net 98.00   no tax rows  gross 98.00
    @Test("taxed, reverse-charge, zero- and three-decimal and untaxed customers: net, tax per rate, gross, note")
    func taxedMonth() throws {
        let t = try RollupTestDatabase()
        defer { t.close() }
        let f = t.fixtures
        try f.taxRate("DE-19", "19.0000")
        try f.taxRate("EU-RC", "0.0000", name: "Reverse charge")
        try f.taxRate("JP-10", "10.0000")
        try f.taxRate("KW-5", "5.0000")
        try f.price(plan: t.plans.flat, currency: "KWD", recurringFee: 12345)
        let reverseCharge = "Reverse charge: VAT to be accounted for by the recipient (Art. 196 Directive 2006/112/EC)"

        let contoso = try t.customer("Contoso", plan: t.plans.flat, startsOn: "2026-10-01")
        try f.tax(customer: contoso.customer, rate: "DE-19")
        let adatum = try t.customer("Adatum", plan: t.plans.postpaid, startsOn: "2026-10-01")
        try f.tax(customer: adatum.customer, rate: "EU-RC", note: reverseCharge)
        try f.entry(customer: adatum.customer, ticket: adatum.ticket, workedAt: "2026-10-20T10:00:00Z", minutes: 90)
        let kanto = try t.customer("Kanto", currency: "JPY", plan: t.plans.bundle, startsOn: "2026-10-01")
        try f.tax(customer: kanto.customer, rate: "JP-10")
        try f.uninvoicedItem(customer: kanto.customer, amount: 1235, currency: "JPY", month: "2026-10", sourceKey: "ce:per-incident:9")
        let gulf = try t.customer("Gulf", currency: "KWD", plan: t.plans.flat, startsOn: "2026-10-01")
        try f.tax(customer: gulf.customer, rate: "KW-5")
        let northwind = try t.customer("Northwind", plan: t.plans.flat, startsOn: "2026-10-01")

        let report = t.run()
        #expect(report.exitStatus == .success, "\(report.output.skipped)")

        let c = try #require(try f.taxedInvoices(customer: contoso.customer).first)
        #expect([c.subtotal, c.taxTotal, c.total] == [9800, 1862, 11662])
        #expect(c.taxes == ["DE-19 19.0000 9800 1862"])
        #expect(c.taxNote == nil)
        #expect(try f.itemRates(invoice: c.id) == ["recurring_fee 4900 DE-19 19.0000", "recurring_fee 4900 DE-19 19.0000"])

        let a = try #require(try f.taxedInvoices(customer: adatum.customer).first)
        #expect([a.subtotal, a.taxTotal, a.total] == [3150, 0, 3150])
        #expect(a.taxes == ["EU-RC 0.0000 3150 0"])
        #expect(a.taxNote == reverseCharge)

        let k = try #require(try f.taxedInvoices(customer: kanto.customer).first)
        #expect([k.subtotal, k.taxTotal, k.total] == [31235, 3124, 34359])
        #expect(k.taxes == ["JP-10 10.0000 31235 3124"])
        // The other job's item takes the customer's rate as it is invoiced.
        #expect(try f.itemRates(invoice: k.id) == ["per_incident 1235 JP-10 10.0000", "recurring_fee 30000 JP-10 10.0000"])

        let g = try #require(try f.taxedInvoices(customer: gulf.customer).first)
        #expect([g.subtotal, g.taxTotal, g.total] == [24690, 1235, 25925])

        let n = try #require(try f.taxedInvoices(customer: northwind.customer).first)
        #expect([n.subtotal, n.taxTotal, n.total] == [9800, 0, 9800])
        #expect(n.taxes.isEmpty)
        #expect(try f.itemRates(invoice: n.id) == ["recurring_fee 4900 -", "recurring_fee 4900 -"])

        // The report: gross totals, and per invoice its net, tax, rows per rate and note.
        #expect(report.output.totals[try CurrencyCode("USD")]?["invoiced"] == 11662 + 3150 + 9800)
        #expect(report.output.totals[try CurrencyCode("KWD")]?["invoiced"] == 25925)
        let records = report.output.records[.invoices] ?? []
        let record = try #require(records.first { $0.customerID == contoso.customer }?.fields)
        #expect(record["total"] == 11662)
        #expect(record["subtotal"] == 9800)
        #expect(record["tax_total"] == 1862)
        #expect(record["tax_note"] == .null)
        #expect(record["taxes"] == .array([.object([("tax_rate", "DE-19"), ("tax_percent", .decimal("19")), ("base", 9800), ("tax", 1862)])]))
        #expect(record["items"]?.arrayValue?.first?["tax_rate"] == "DE-19")
        let adatumRecord = try #require(records.first { $0.customerID == adatum.customer }?.fields)
        #expect(adatumRecord["tax_note"]?.stringValue == reverseCharge)
        let text = TextReport.render(report)
        #expect(text.contains("DE-19 19 % of 98.00"))
        #expect(text.contains("note: \(reverseCharge)"))
        let csv = CSVReport.render(report)
        #expect(csv.contains("invoice_taxes,"))
        #expect(csv.split(separator: "\n").first?.contains("subtotal,tax_total,tax_note") == true)

        // A rerun emits nothing: the stored rates match.
        let rerun = t.run()
        #expect(rerun.output.counts.filter { $0.key != "customers" }.isEmpty)
        #expect(try BillingInvariants.violations(t.db).isEmpty)
    }

    //   Wingtip, bundle 200.00 + 60.00/h beyond 2 h, at UK-VAT 17.5 % in October:
    //   Oct invoice (Nov 1): fee 200.00 + 75 min over 75.00 = net 275.00, tax 48.125 -> 48.13, gross 323.13
    //   then: UK-VAT becomes 20 %, Wingtip moves to DE-19, the Oct entry is edited 195 -> 150 min,
    //         and another job's 10.00 item of October arrives
    //   Oct credit note (Nov 2): usage -45.00 at UK-VAT 17.5 % (the rate it was billed at) -> -7.875 -> -7.88,
    //                            the new item +10.00 at DE-19 (invoiced for the first time) -> 1.90
    //                            net -35.00, tax -5.98, gross -40.98; names the Oct invoice
    //   Nov invoice (Dec 1): fee 200.00 at DE-19 -> 38.00, gross 238.00
    @Test("a rate changed between an issued month and its correction: the correction keeps the old rate; a credit note rounds away from zero")
    func rateChangedBeforeCorrection() throws {
        let t = try RollupTestDatabase()
        defer { t.close() }
        let f = t.fixtures
        try f.taxRate("UK-VAT", "17.5")
        try f.taxRate("DE-19", "19")
        let wingtip = try t.customer("Wingtip", plan: t.plans.bundle, startsOn: "2026-10-01")
        try f.tax(customer: wingtip.customer, rate: "UK-VAT")
        let entry = try f.entry(customer: wingtip.customer, ticket: wingtip.ticket, workedAt: "2026-10-20T10:00:00Z", minutes: 195)

        #expect(t.run().exitStatus == .success)
        let october = try #require(try f.taxedInvoices(customer: wingtip.customer).first)
        #expect([october.subtotal, october.taxTotal, october.total] == [27500, 4813, 32313])
        #expect(october.taxes == ["UK-VAT 17.5000 27500 4813"])
        #expect(october.number == "INV-000001")

        try f.db.execute("UPDATE tax_rates SET rate = 20 WHERE code = 'UK-VAT'")
        try f.tax(customer: wingtip.customer, rate: "DE-19")
        try f.db.execute("UPDATE time_entries SET minutes = 150 WHERE id = $1", [entry])
        try f.uninvoicedItem(customer: wingtip.customer, amount: 1000, month: "2026-10", sourceKey: "ce:per-incident:7")

        let correction = t.run(asOf: try Instant(rfc3339: "2026-11-02T14:00:00Z"))
        #expect(correction.exitStatus == .success, "\(correction.output.skipped)")
        let invoices = try f.taxedInvoices(customer: wingtip.customer)
        #expect(invoices.count == 2)
        #expect(invoices.first == october)  // issued: never re-taxed
        let credit = try #require(invoices.last)
        #expect([credit.subtotal, credit.taxTotal, credit.total] == [-3500, -598, -4098])
        #expect(credit.taxes == ["DE-19 19.0000 1000 190", "UK-VAT 17.5000 -4500 -788"])
        #expect(credit.number == "CN-000001")
        #expect(credit.correctsInvoiceID == october.id)
        #expect(try f.itemRates(invoice: credit.id) == ["per_incident 1000 DE-19 19.0000", "adjustment -4500 UK-VAT 17.5000"])
        let record = try #require(correction.output.records[.invoices]?.first?.fields)
        #expect(record["total"] == -4098)
        #expect(record["tax_total"] == -598)

        let november = t.run(asOf: try Instant(rfc3339: "2026-12-01T14:00:00Z"), period: try YearMonth("2026-11"))
        #expect(november.exitStatus == .success)
        let nov = try #require(try f.taxedInvoices(customer: wingtip.customer).last)
        #expect([nov.subtotal, nov.taxTotal, nov.total] == [20000, 3800, 23800])
        #expect(nov.number == "INV-000002")
        // Nothing more to correct.
        let rerun = t.run(asOf: try Instant(rfc3339: "2026-11-03T14:00:00Z"))
        #expect(rerun.output.counts.filter { $0.key != "customers" }.isEmpty)
        #expect(try BillingInvariants.violations(t.db).isEmpty)
    }

    //   A draft (issue = false) follows the customer's rate until it is issued:
    //   Nov 1 draft at DE-19: 98.00 + 18.62; Contoso moves to EU-RC; Nov 2 issue: 98.00 + 0.00, the note
    @Test("a draft is taxed at the customer's rate until it is issued")
    func draftFollowsRate() throws {
        let t = try RollupTestDatabase()
        defer { t.close() }
        let f = t.fixtures
        try f.taxRate("DE-19", "19")
        try f.taxRate("EU-RC", "0")
        let contoso = try t.customer("Contoso", plan: t.plans.flat, startsOn: "2026-10-01")
        try f.tax(customer: contoso.customer, rate: "DE-19")
        #expect(t.run(issue: false).exitStatus == .success)
        let draft = try #require(try f.taxedInvoices(customer: contoso.customer).first)
        #expect([draft.subtotal, draft.taxTotal, draft.total] == [9800, 1862, 11662])
        #expect(draft.number == nil)

        try f.tax(customer: contoso.customer, rate: "EU-RC", note: "Reverse charge")
        let issued = t.run(asOf: try Instant(rfc3339: "2026-11-02T14:00:00Z"))
        #expect(issued.exitStatus == .success, "\(issued.output.skipped)")
        let invoice = try #require(try f.taxedInvoices(customer: contoso.customer).first)
        #expect(invoice.id == draft.id)
        #expect([invoice.subtotal, invoice.taxTotal, invoice.total] == [9800, 0, 9800])
        #expect(invoice.taxes == ["EU-RC 0.0000 9800 0"])
        #expect(invoice.taxNote == "Reverse charge")
        #expect(invoice.number == "INV-000001")
    }

    //   Litware at DE-19: a May per-incident charge of 49.00 (contract-expiry-rollover's) is
    //   invoiced: 49.00 + 9.31 = 58.31. Litware becomes untaxed; the charge is withdrawn by its
    //   offset (`<key>:offset`, -49.00): the credit note takes the charge's rate, -49.00 - 9.31.
    @Test("another job's offset of an invoiced item is taxed at that item's rate, not the customer's new one")
    func offsetKeepsRate() throws {
        let t = try RollupTestDatabase()
        defer { t.close() }
        let f = t.fixtures
        try f.taxRate("DE-19", "19")
        let litware = try f.customer("Litware")
        try f.tax(customer: litware, rate: "DE-19")
        try f.uninvoicedItem(customer: litware, amount: 4900, month: "2026-05", sourceKey: "ce:per-incident:1")
        #expect(t.run(period: nil).exitStatus == .success)
        let may = try #require(try f.taxedInvoices(customer: litware).first)
        #expect([may.subtotal, may.taxTotal, may.total] == [4900, 931, 5831])

        try f.tax(customer: litware, rate: nil)
        try f.uninvoicedItem(customer: litware, amount: -4900, month: "2026-05", sourceKey: "ce:per-incident:1:offset")
        // An untaxed item of the same month at the same time: the customer's (new) rate, none.
        try f.uninvoicedItem(customer: litware, amount: 1000, month: "2026-05", sourceKey: "ce:per-incident:2")
        let second = t.run(asOf: try Instant(rfc3339: "2026-11-02T14:00:00Z"), period: nil)
        #expect(second.exitStatus == .success, "\(second.output.skipped)")
        let credit = try #require(try f.taxedInvoices(customer: litware).last)
        #expect([credit.subtotal, credit.taxTotal, credit.total] == [-3900, -931, -4831])
        #expect(credit.taxes == ["DE-19 19.0000 -4900 -931"])
        #expect(credit.correctsInvoiceID == may.id)
        #expect(try f.itemRates(invoice: credit.id) == ["per_incident -4900 DE-19 19.0000", "per_incident 1000 -"])
        #expect(try BillingInvariants.violations(t.db).isEmpty)
    }

    //   October 2026 as of Nov 1, then `supportbill balance` as of Nov 20 (due Nov 15):
    //   Contoso  DE-19 19 %   net 98.00 + tax 18.62 = 116.62, 16.62 paid   outstanding 100.00
    //   Adatum   EU-RC 0 %    net 31.50 + tax 0.00  = 31.50 (note)          outstanding 31.50
    @Test("supportbill balance shows each open invoice's number, net, tax per rate, gross and note (json and text)")
    func balanceShowsTaxes() throws {
        let t = try RollupTestDatabase()
        defer { t.close() }
        let f = t.fixtures
        try f.taxRate("DE-19", "19.0000")
        try f.taxRate("EU-RC", "0.0000", name: "Reverse charge")
        let note = "Reverse charge: VAT to be accounted for by the recipient"
        let contoso = try t.customer("Contoso", plan: t.plans.flat, startsOn: "2026-10-01")
        try f.tax(customer: contoso.customer, rate: "DE-19")
        let adatum = try t.customer("Adatum", plan: t.plans.postpaid, startsOn: "2026-10-01")
        try f.tax(customer: adatum.customer, rate: "EU-RC", note: note)
        try f.entry(customer: adatum.customer, ticket: adatum.ticket, workedAt: "2026-10-20T10:00:00Z", minutes: 90)
        let report = t.run()
        #expect(report.exitStatus == .success, "\(report.output.skipped)")
        let invoice = try #require(try f.taxedInvoices(customer: contoso.customer).first)
        let number = try #require(invoice.number)
        _ = try f.payment(customer: contoso.customer, invoice: invoice.id, amount: 1662, receivedAt: "2026-11-10T09:00:00Z")

        func balance(_ customer: Int64, _ format: String) throws -> ChildProcess.Result {
            let result = try ChildProcess.supportbill(["balance", "--customer", String(customer), "--database", t.database.runnerConninfo,
                                                       "--as-of", "2026-11-20T00:00:00Z", "--format", format])
            #expect(result.status == 0, "\(result.stderr)")
            return result
        }
        let json = try JSONValue(parsing: try balance(contoso.customer, "json").stdout)
        let open = try #require(json["open_invoices"]?.arrayValue?.first)
        #expect(open["invoice_id"]?.intValue == invoice.id)
        #expect(open["number"] == .string(number))
        #expect(open["subtotal"]?.intValue == 9800)
        #expect(open["tax_total"]?.intValue == 1862)
        #expect(open["total"]?.intValue == 11662)
        #expect(open["paid"]?.intValue == 1662)
        #expect(open["outstanding"]?.intValue == 10000)
        #expect(open["tax_note"] == .null)
        let taxes = try #require(open["taxes"]?.arrayValue)
        #expect(taxes.count == 1)
        #expect(taxes.first?["tax_rate"] == .string("DE-19"))
        #expect(taxes.first?["base"]?.intValue == 9800)
        #expect(taxes.first?["tax"]?.intValue == 1862)

        let text = try balance(contoso.customer, "text").stdout
        #expect(text.contains("\(invoice.id) \(number)"), "\(text)")
        #expect(text.contains("116.62 USD") && text.contains("100.00 USD"), "\(text)")
        #expect(text.contains("net 98.00 USD, tax DE-19 19 % of 98.00 USD: 18.62 USD"), "\(text)")

        let reverse = try balance(adatum.customer, "text").stdout
        #expect(reverse.contains("net 31.50 USD, tax EU-RC 0 % of 31.50 USD: 0.00 USD"), "\(reverse)")
        #expect(reverse.contains(note), "\(reverse)")
    }
}
