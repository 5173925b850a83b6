import BillingCore
import BillingStore

/// Invoices as a customer would read them: one block per invoice with its lines and total.
enum InvoicePrinter {
    static func render(_ invoices: [InvoiceView], currencies: [CurrencyCode: Currency]) -> String {
        guard !invoices.isEmpty else { return "No invoices.\n" }
        var output = "Invoices (\(invoices.count))\n"
        for invoice in invoices {
            let currency = currencies[invoice.currency] ?? Currency(code: invoice.currency, minorUnits: 2)
            output += "\n"
            var title = "Invoice \(invoice.number.map { "\($0) (id \(invoice.id))" } ?? "\(invoice.id)") · \(invoice.customerName) (customer \(invoice.customerID)) · \(invoice.kind)"
            if let start = invoice.periodStart, let end = invoice.periodEnd {
                title += " · \(DateRange(start: start, end: end))"
            }
            output += title + "\n"
            var status = "  \(invoice.status)"
            if let due = invoice.dueOn { status += ", due \(due)" }
            if invoice.paid > 0 { status += ", paid \(currency.format(invoice.paid))" }
            output += status + "\n"
            for item in invoice.items {
                // Quantity × unit price where it says something (hours × rate, packs × price).
                let rate = item.quantity != ExactDecimal(1) || item.kind == "usage"
                    ? "\(item.quantity) × \(currency.format(item.unitPrice))" : ""
                output += ("    " + item.description).padding(to: 62) + " " + rate.leftPadding(to: 20) + " " + currency.format(item.amount).leftPadding(to: 14) + "\n"
            }
            // A taxed invoice (or one with a note): net, the tax per rate, then the gross total.
            if !invoice.taxes.isEmpty || invoice.taxNote != nil {
                output += String(repeating: " ", count: 84) + ("net " + currency.format(invoice.subtotal)).leftPadding(to: 14) + "\n"
                for tax in invoice.taxes {
                    let label = "tax \(tax.rate) \(tax.percent.normalized) % of \(currency.format(tax.base))"
                    output += label.leftPadding(to: 84) + " " + currency.format(tax.tax).leftPadding(to: 14) + "\n"
                }
            }
            output += String(repeating: " ", count: 84) + ("total " + currency.format(invoice.total)).leftPadding(to: 14) + "\n"
            if let note = invoice.taxNote { output += "  \(note)\n" }
        }
        return output
    }
}

extension String {
    func padding(to width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
    func leftPadding(to width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
