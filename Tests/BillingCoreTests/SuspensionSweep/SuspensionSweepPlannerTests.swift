import BillingCore
import Testing

@Suite("suspension-sweep planner: overdue, grace, restoration, paid invoices, groups")
struct SuspensionSweepPlannerTests {
    static let usd = try! CurrencyCode("USD")
    static let since = Instant(utc: try! LocalDate("2026-10-01"))

    private func date(_ text: String) -> LocalDate { try! LocalDate(text) }

    private func invoice(_ id: Int64, total: Int64 = 4900, paid: Int64 = 0, status: SuspensionSweepInput.InvoiceStatus = .issued,
                         dueOn: String? = "2026-11-15", issuedOn: String = "2026-11-01", services: [Int64],
                         kind: String = "period", foreign: [SuspensionSweepInput.ForeignPayment] = []) -> SuspensionSweepInput.Invoice {
        SuspensionSweepInput.Invoice(
            id: id, kind: kind, currency: Self.usd, status: status, total: total, paid: paid,
            completedPaymentIDs: paid > 0 ? [500 + id] : [], foreignPayments: foreign,
            dueOn: dueOn.map(date), issuedOn: date(issuedOn), serviceIDs: services)
    }

    private func service(_ id: Int64, status: SuspensionSweepInput.ServiceStatus = .active, reason: String? = nil, grace: Int = 7,
                         group: Int64? = nil, plan: String = "bundle-2h") -> SuspensionSweepInput.Service {
        SuspensionSweepInput.Service(
            id: id, planID: 1, planCode: plan, status: status, suspendReason: reason,
            suspendedAt: status == .suspended ? Instant(utc: date("2026-11-20")) : nil,
            graceDays: grace, groupID: group, groupName: group.map { "Group \($0)" })
    }

    private func plan(asOf: String, invoices: [SuspensionSweepInput.Invoice] = [], services: [SuspensionSweepInput.Service],
                      memberships: [SuspensionSweepInput.Membership] = []) throws -> SuspensionSweepPlan {
        try SuspensionSweepPlanner.plan(SuspensionSweepInput(
            customerID: 42, localAsOf: date(asOf), invoices: invoices, services: services, memberships: memberships))
    }

    // due 11-15, grace 7:  overdue on and after 11-22 (inclusive)
    //
    //   11-15 due     11-21          11-22
    //   |-------------|--------------|------------->
    //   within grace  last grace day  suspended
    @Test("an unpaid invoice is overdue on due_on + grace_days, not a day before")
    func graceIsInclusive() throws {
        let day21 = try plan(asOf: "2026-11-21", invoices: [invoice(10, services: [7])], services: [service(7)])
        #expect(day21.suspensions.isEmpty)
        #expect(day21.isEmpty)

        let day22 = try plan(asOf: "2026-11-22", invoices: [invoice(10, services: [7])], services: [service(7)])
        let suspension = try #require(day22.suspensions.first)
        #expect(day22.suspensions.count == 1)
        #expect(suspension.serviceID == 7)
        #expect(suspension.graceDays == 7)
        #expect(suspension.invoices == [SuspensionSweepPlan.OverdueInvoice(
            invoiceID: 10, kind: "period", currency: Self.usd, total: 4900, paid: 0, outstanding: 4900,
            dueOn: date("2026-11-15"), graceDays: 7, overdueSince: date("2026-11-22"), daysPastDue: 7)])
    }

    @Test("a partly paid invoice is still unpaid: 4000 of 4900 leaves 900 outstanding; 4900 of 4900 pays it")
    func partialPayment() throws {
        let partly = try plan(asOf: "2026-11-30", invoices: [invoice(10, paid: 4000, services: [7])], services: [service(7)])
        #expect(partly.suspensions.first?.invoices.first?.outstanding == 900)
        #expect(partly.suspensions.first?.invoices.first?.daysPastDue == 15)
        #expect(partly.paid.isEmpty)

        let fully = try plan(asOf: "2026-11-30", invoices: [invoice(10, paid: 4900, services: [7])], services: [service(7)])
        #expect(fully.suspensions.isEmpty)
        #expect(fully.paid.map(\.invoiceID) == [10])
        #expect(fully.paid.first?.outstanding == 0)
        #expect(fully.paid.first?.completedPaymentIDs == [510])

        let over = try plan(asOf: "2026-11-30", invoices: [invoice(10, paid: 5000, services: [7])], services: [service(7)])
        #expect(over.paid.first?.outstanding == -100)
    }

    // one invoice, due 11-15, with two services:
    //   service 7, grace 5:   overdue from 11-20
    //   service 8, grace 10:  overdue from 11-25
    //   11-20 .. 11-24: only 7 is suspended; from 11-25 both
    @Test("each service keeps the grace of its own plan: one invoice can be overdue for one and not yet for another")
    func perServiceGrace() throws {
        let services = [service(7, grace: 5), service(8, grace: 10)]
        let day19 = try plan(asOf: "2026-11-19", invoices: [invoice(10, services: [7, 8])], services: services)
        #expect(day19.suspensions.isEmpty)
        let day20 = try plan(asOf: "2026-11-20", invoices: [invoice(10, services: [7, 8])], services: services)
        #expect(day20.suspensions.map(\.serviceID) == [7])
        #expect(day20.suspensions.first?.invoices.first?.overdueSince == date("2026-11-20"))
        let day25 = try plan(asOf: "2026-11-25", invoices: [invoice(10, services: [7, 8])], services: services)
        #expect(day25.suspensions.map(\.serviceID) == [7, 8])
        #expect(day25.suspensions.last?.invoices.first?.graceDays == 10)
    }

    @Test("a service with several overdue invoices lists each of them")
    func severalInvoices() throws {
        let result = try plan(asOf: "2026-12-30", invoices: [
            invoice(10, total: 4900, dueOn: "2026-11-15", services: [7]),
            invoice(11, total: 1000, dueOn: "2026-12-15", services: [7], kind: "topup"),
            invoice(12, total: 700, dueOn: "2026-12-28", services: [7], kind: "adjustment"),
        ], services: [service(7)])
        #expect(result.suspensions.first?.invoices.map(\.invoiceID) == [10, 11])
        #expect(result.suspensions.first?.invoices.map(\.kind) == ["period", "topup"])
    }

    @Test("an invoice with no due date is due on the local date it was issued")
    func noDueDate() throws {
        // issued 11-03, no due_on, grace 7: overdue from 11-10
        let day9 = try plan(asOf: "2026-11-09", invoices: [invoice(10, dueOn: nil, issuedOn: "2026-11-03", services: [7])], services: [service(7)])
        #expect(day9.suspensions.isEmpty)
        let day10 = try plan(asOf: "2026-11-10", invoices: [invoice(10, dueOn: nil, issuedOn: "2026-11-03", services: [7])], services: [service(7)])
        #expect(day10.suspensions.first?.invoices.first?.dueOn == date("2026-11-03"))
    }

    @Test("an overdue invoice with no service item suspends nothing and is reported after the default 7 days' grace")
    func noService() throws {
        let day21 = try plan(asOf: "2026-11-21", invoices: [invoice(10, total: 2500, services: [])], services: [service(7)])
        #expect(day21.overdueWithoutService.isEmpty)
        let day22 = try plan(asOf: "2026-11-22", invoices: [invoice(10, total: 2500, services: [])], services: [service(7)])
        #expect(day22.suspensions.isEmpty)
        #expect(day22.overdueWithoutService.map(\.invoiceID) == [10])
        #expect(day22.overdueWithoutService.first?.outstanding == 2500)
        #expect(day22.isEmpty)
    }

    @Test("a credit note (total <= 0) is never overdue and never marked paid")
    func creditNote() throws {
        let result = try plan(asOf: "2027-06-01", invoices: [
            invoice(10, total: -1500, services: [7], kind: "adjustment"),
            invoice(11, total: 0, services: [7], kind: "adjustment"),
        ], services: [service(7)])
        #expect(result.isEmpty)
        #expect(result.overdueWithoutService.isEmpty)
    }

    @Test("a service suspended for overdue is restored when its invoice is paid; the invoice becomes paid")
    func restoredWhenPaid() throws {
        let result = try plan(asOf: "2026-12-02", invoices: [invoice(10, paid: 4900, services: [7])],
                              services: [service(7, status: .suspended, reason: "overdue")])
        #expect(result.paid.map(\.invoiceID) == [10])
        #expect(result.suspensions.isEmpty)
        let restoration = try #require(result.restorations.first)
        #expect(restoration.serviceID == 7)
        #expect(restoration.paidInvoiceIDs == [10])
        #expect(restoration.suspendedAt == Instant(utc: date("2026-11-20")))
    }

    // invoice 10 (due 11-15) paid on 12-02; invoice 11 due 11-30, grace 7 -> overdue from 12-07
    //   12-02: 10 paid, 11 still within grace  -> restored
    //   12-07: 11 overdue                      -> suspended again
    @Test("a service is restored while its remaining unpaid invoice is still within the grace")
    func restoredWithOpenInvoice() throws {
        let invoices = [invoice(10, paid: 4900, services: [7]), invoice(11, dueOn: "2026-11-30", services: [7])]
        let day2 = try plan(asOf: "2026-12-02", invoices: invoices, services: [service(7, status: .suspended, reason: "overdue")])
        #expect(day2.restorations.first?.openInvoices == [SuspensionSweepPlan.OpenInvoice(
            invoiceID: 11, dueOn: date("2026-11-30"), overdueSince: date("2026-12-07"))])
        let day7 = try plan(asOf: "2026-12-07", invoices: [invoice(11, dueOn: "2026-11-30", services: [7])], services: [service(7)])
        #expect(day7.suspensions.first?.invoices.map(\.invoiceID) == [11])
    }

    @Test("a service suspended for overdue that is still overdue stays as it is")
    func stillOverdue() throws {
        let result = try plan(asOf: "2026-12-02", invoices: [invoice(10, services: [7])],
                              services: [service(7, status: .suspended, reason: "overdue")])
        #expect(result.isEmpty)
    }

    @Test("services suspended for other reasons, pending and cancelled services are never touched")
    func othersUntouched() throws {
        let services = [
            service(7, status: .suspended, reason: "abuse"), service(8, status: .pending),
            service(9, status: .cancelled), service(10, status: .suspended, reason: nil),
        ]
        let overdue = try plan(asOf: "2026-12-30", invoices: [invoice(20, services: [7, 8, 9, 10])], services: services)
        #expect(overdue.suspensions.isEmpty)
        #expect(overdue.restorations.isEmpty)
        let paid = try plan(asOf: "2026-12-30", invoices: [invoice(20, paid: 4900, services: [7, 8, 9, 10])], services: services)
        #expect(paid.restorations.isEmpty)
        #expect(paid.paid.map(\.invoiceID) == [20])
    }

    @Test("a paid invoice whose payment was reversed is issued again, and suspends once past the grace")
    func reversal() throws {
        let result = try plan(asOf: "2026-12-01", invoices: [invoice(10, paid: 0, status: .paid, services: [7])], services: [service(7)])
        #expect(result.unpaid.map(\.invoiceID) == [10])
        #expect(result.unpaid.first?.outstanding == 4900)
        #expect(result.suspensions.map(\.serviceID) == [7])
        let covered = try plan(asOf: "2026-12-01", invoices: [invoice(10, paid: 4900, status: .paid, services: [7])], services: [service(7)])
        #expect(covered.isEmpty)
    }

    @Test("groups: a managed member exactly while an active service is on a plan of the group; staff members stay")
    func groups() throws {
        let member = { (group: Int64, managed: Bool) in
            SuspensionSweepInput.Membership(groupID: group, groupName: "Group \(group)", managed: managed, since: Self.since)
        }
        // Active service on a group-1 plan, no membership yet: added.
        let added = try plan(asOf: "2026-11-10", services: [service(7, group: 1)])
        #expect(added.groupAdditions.map(\.groupID) == [1])
        #expect(added.groupAdditions.first?.services.map(\.serviceID) == [7])

        // Suspended this run: the managed membership is removed, and the detail says why.
        let removed = try plan(asOf: "2026-11-30", invoices: [invoice(10, services: [7])],
                               services: [service(7, group: 1, plan: "priority-flat")], memberships: [member(1, true)])
        #expect(removed.suspensions.map(\.serviceID) == [7])
        let removal = try #require(removed.groupRemovals.first)
        #expect(removal.groupID == 1)
        #expect(removal.memberSince == Self.since)
        #expect(removal.services == [SuspensionSweepPlan.ServiceState(serviceID: 7, planCode: "priority-flat", status: .suspended, suspendReason: "overdue")])

        // Staff-added: never removed, never flipped, whatever the services.
        let staff = try plan(asOf: "2026-11-30", invoices: [invoice(10, services: [7])],
                             services: [service(7, group: 1)], memberships: [member(1, false), member(2, false)])
        #expect(staff.groupRemovals.isEmpty)
        #expect(staff.groupAdditions.isEmpty)

        // Another active service on a plan of the same group keeps the membership.
        let kept = try plan(asOf: "2026-11-30", invoices: [invoice(10, services: [7])],
                            services: [service(7, group: 1), service(8, group: 1)], memberships: [member(1, true)])
        #expect(kept.suspensions.map(\.serviceID) == [7])
        #expect(kept.groupRemovals.isEmpty)

        // Restored this run: added back.
        let restored = try plan(asOf: "2026-12-02", invoices: [invoice(10, paid: 4900, services: [7])],
                                services: [service(7, status: .suspended, reason: "overdue", group: 1)])
        #expect(restored.groupAdditions.map(\.groupID) == [1])
        #expect(restored.groupAdditions.first?.services.first?.status == .active)

        // A managed membership of a group no plan of the customer's active services has: removed.
        let stale = try plan(asOf: "2026-11-10", services: [service(7, status: .cancelled, group: 1)], memberships: [member(1, true), member(3, true)])
        #expect(stale.groupRemovals.map(\.groupID) == [1, 3])
        #expect(stale.groupRemovals.last?.services == [])
    }

    @Test("invalid data is refused with a reason a person can act on")
    func invalidData() throws {
        let foreign = SuspensionSweepInput.ForeignPayment(id: 77, currency: try CurrencyCode("EUR"))
        #expect(throws: BillingError.invalidInput("payment 77 is in EUR but the invoice it pays, 10, is in USD: correct the payment's currency or its invoice_id")) {
            try plan(asOf: "2026-11-30", invoices: [invoice(10, services: [7], foreign: [foreign])], services: [service(7)])
        }
        #expect(throws: BillingError.invalidInput("invoice 10 has an item for service 99, which is not a service of customer 42: correct services.customer_id of service 99")) {
            try plan(asOf: "2026-11-30", invoices: [invoice(10, services: [7, 99])], services: [service(7)])
        }
    }
}
