import BillingCore
import Testing

private typealias F = ContractPlannerFixture
typealias CorrectionSlot = ContractCorrections.Slot

/// The difference between the planner's target and what is stored (docs/design.md §9), pure.
@Suite("contract corrections: the difference between today's target and the stored charges and items")
struct ContractCorrectionsTests {
    static let october = F.day("2026-10-01")

    static func stored(_ entry: Int64, _ held: [CorrectionSlot: Int64], rows: Int, customer: Int64 = 1, reason: String? = nil) -> ContractCorrections.StoredEntry {
        ContractCorrections.StoredEntry(customerID: customer, entryID: entry, held: held, rows: rows, reason: reason)
    }

    static func item(_ ticket: Int64, key: String, offset: Bool = false, customer: Int64 = 1) -> ContractCorrections.StoredIncident {
        ContractCorrections.StoredIncident(customerID: customer, ticketID: ticket, sourceKey: key, description: "Per-incident support: ticket #\(ticket)",
                                           unitPrice: 4500, amount: 4500, currency: F.usd, periodStart: october, periodEnd: F.day("2026-11-01"), offset: offset)
    }

    static func rows(_ result: ContractCorrections.Result) -> [String] {
        result.rows.map { "\($0.sourceKey) \($0.contractID.map(String.init) ?? "-") \($0.minutes) \($0.outcome.rawValue)" }
    }

    //   stored   e7 -> A 120 covered (1 row)        target  e7 -> A 60 covered   (edited down)
    //   stored   e8 -> A 60 covered (1 row)         target  e8 -> B 60 covered   (re-dated into B)
    //   stored   e9 -> A 30 covered (2 rows)        target  none                 (withdrawn)
    //   stored   none                               target  e10 -> A 15 covered  (new)
    @Test("returns before charges per entry, numbered after the entry's stored rows")
    func charges() {
        let a = CorrectionSlot(contractID: 1, outcome: .covered)
        let b = CorrectionSlot(contractID: 2, outcome: .covered)
        var target = ContractBatchPlan()
        target.charges = [
            .init(customerID: 1, entryID: 7, ticketID: 1, piece: 1, contractID: 1, minutes: 60, outcome: .covered),
            .init(customerID: 1, entryID: 8, ticketID: 1, piece: 1, contractID: 2, minutes: 60, outcome: .covered),
            .init(customerID: 1, entryID: 10, ticketID: 1, piece: 1, contractID: 1, minutes: 15, outcome: .covered),
        ]
        let stored = [Self.stored(7, [a: 120], rows: 1), Self.stored(8, [a: 60], rows: 1), Self.stored(9, [a: 30], rows: 2, reason: "the entry was deleted")]
        let result = ContractCorrections.diff(customers: [1], target: target, stored: stored, incidents: [], entryRows: [7: 1, 8: 1, 9: 2])
        #expect(Self.rows(result) == [
            "ce:return:7:2 1 -60 covered",
            "ce:return:8:2 1 -60 covered", "ce:charge:8:3 2 60 covered",
            "ce:return:9:3 1 -30 covered",
            "ce:charge:10:1 1 15 covered",
        ])
        #expect(result.returned.map(\.entryID) == [7, 8, 9])
        #expect(result.returned.last?.reason == "the entry was deleted")
        #expect(result.rows.filter(\.correction).allSatisfy { $0.minutes < 0 })

        // Unchanged: nothing. Returns switched off: only the positive rows.
        let same = ContractCorrections.diff(customers: [1], target: target, stored: [Self.stored(7, [a: 60], rows: 2), Self.stored(8, [b: 60], rows: 3), Self.stored(10, [a: 15], rows: 1)],
                                            incidents: [], entryRows: [:])
        #expect(same.rows.isEmpty && same.items.isEmpty && same.offsets.isEmpty)
        let noReturns = ContractCorrections.diff(customers: [1], target: target, stored: stored, incidents: [], entryRows: [7: 1, 8: 1, 9: 2], enabled: [])
        #expect(Self.rows(noReturns) == ["ce:charge:8:2 2 60 covered", "ce:charge:10:1 1 15 covered"])
    }

    //   ticket 5: item ce:incident:5 open, the ticket no longer needs one -> ce:incident:5:offset (-4500)
    //   ticket 6: item ce:incident:6 offset before, needed again          -> ce:incident:6:2
    //   ticket 7: item open and still needed                               -> nothing
    @Test("a per-incident item no longer needed is offset with the original's period; needed again, a new item under the next key")
    func incidents() {
        var target = ContractBatchPlan()
        target.incidents = [
            .init(customerID: 1, ticketID: 6, subject: "", month: Self.october.yearMonth, price: 4500, currency: F.usd),
            .init(customerID: 1, ticketID: 7, subject: "", month: Self.october.yearMonth, price: 4500, currency: F.usd),
        ]
        let items = [Self.item(5, key: "ce:incident:5"), Self.item(6, key: "ce:incident:6", offset: true), Self.item(7, key: "ce:incident:7")]
        let result = ContractCorrections.diff(customers: [1], target: target, stored: [], incidents: items, entryRows: [:])
        #expect(result.offsets.map(\.sourceKey) == ["ce:incident:5:offset"])
        let offset = result.offsets[0]
        #expect(offset.amount == -4500 && offset.quantity == -1 && offset.unitPrice == 4500)
        #expect(offset.periodStart == Self.october && offset.periodEnd == F.day("2026-11-01") && offset.offsets == "ce:incident:5")
        #expect(result.items.map(\.sourceKey) == ["ce:incident:6:2"])
        #expect(result.items[0].amount == 4500)

        // Offsets switched off; a customer outside the batch or skipped: nothing of theirs.
        #expect(ContractCorrections.diff(customers: [1], target: target, stored: [], incidents: items, entryRows: [:], enabled: [.returns]).offsets.isEmpty)
        #expect(ContractCorrections.diff(customers: [2], target: ContractBatchPlan(), stored: [], incidents: items, entryRows: [:]).offsets.isEmpty)
        var skipped = ContractBatchPlan()
        skipped.skipped = [.init(customerID: 1, reason: "no price")]
        #expect(ContractCorrections.diff(customers: [1], target: skipped, stored: [], incidents: items, entryRows: [:]).offsets.isEmpty)
    }
}
