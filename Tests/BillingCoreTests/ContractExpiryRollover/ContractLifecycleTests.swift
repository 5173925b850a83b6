import BillingCore
import Testing

private typealias F = ContractPlannerFixture

@Suite("Contract status: activation and expiry")
struct ContractLifecycleTests {
    //   starts_on 2026-10-10
    //   as of 2026-10-09: pending stays pending
    //   as of 2026-10-10: activated
    @Test("a pending contract becomes active when its starts_on has come", arguments: [("2026-10-09", false), ("2026-10-10", true), ("2026-10-11", true)])
    func activation(asOf: String, activated: Bool) throws {
        let contract = F.contract(1, .customer(1), starts: "2026-10-10", ends: "2026-11-10", status: .pending)
        let transition = ContractLifecycle.transition(of: contract, earliest: F.day(asOf), latest: F.day(asOf))
        if activated {
            let t = try #require(transition)
            #expect(t.from == .pending && t.to == .active && t.reason == .started)
            #expect(t.event == "contract_activated")
            #expect(t.sourceKey == "ce:activated:1:2026-10-10")
            #expect(t.detail["local_as_of"]?.stringValue == asOf)
        } else {
            #expect(transition == nil)
        }
    }

    //   [2026-10-01, 2026-11-01): as of 2026-10-31 active; as of 2026-11-01 the end has passed
    @Test("an active contract expires when its end date has passed", arguments: [("2026-10-31", false), ("2026-11-01", true)])
    func expiryByDate(asOf: String, expired: Bool) throws {
        let contract = F.contract(1, .customer(1), .timeLimited, starts: "2026-10-01", ends: "2026-11-01", minutes: 600, used: 120)
        let transition = ContractLifecycle.transition(of: contract, earliest: F.day(asOf), latest: F.day(asOf))
        if expired {
            let t = try #require(transition)
            #expect(t.to == .expired && t.reason == .ended && t.event == "contract_expired")
            #expect(t.sourceKey == "ce:expired:1:ends:2026-11-01")
            #expect(t.detail["minutes_used"]?.intValue == 120)
        } else {
            #expect(transition == nil)
        }
    }

    // An org unit's contract ending 2026-11-01 serves customers in Tokyo and New York.
    // As of 2026-11-01T05:00Z it is Nov 1 in Tokyo (earliest/latest span) but Oct 31 in New
    // York: the end has not passed for all of them, so the contract stays active.
    // A contract starting 2026-11-01 is activated then: its start has come for Tokyo.
    @Test("a contract serving several time zones: activated when the start has come for the first, expired when the end has passed for all")
    func severalZones() throws {
        let ending = F.contract(1, .orgUnit(20), starts: "2026-10-01", ends: "2026-11-01")
        let starting = F.contract(2, .orgUnit(20), starts: "2026-11-01", status: .pending)
        let newYork = F.day("2026-10-31"), tokyo = F.day("2026-11-01")
        #expect(ContractLifecycle.transition(of: ending, earliest: newYork, latest: tokyo) == nil)
        #expect(ContractLifecycle.transition(of: ending, earliest: tokyo, latest: tokyo)?.to == .expired)
        #expect(ContractLifecycle.transition(of: starting, earliest: newYork, latest: tokyo)?.to == .active)
    }

    @Test("minutes used up expire it, time_limited whichever comes first; a pending contract used up expires directly")
    func expiryByUsage() throws {
        let limited = F.contract(1, .customer(1), .timeLimited, starts: "2026-10-01", ends: "2027-01-01", minutes: 600, used: 600)
        let t = try #require(ContractLifecycle.transition(of: limited, earliest: F.day("2026-10-15"), latest: F.day("2026-10-15")))
        #expect(t.reason == .usedUp && t.to == .expired)
        #expect(t.sourceKey == "ce:expired:1:minutes:600")
        let pending = F.contract(2, .customer(1), .supportHours, starts: "2026-12-01", minutes: 60, used: 60, status: .pending)
        let p = try #require(ContractLifecycle.transition(of: pending, earliest: F.day("2026-10-15"), latest: F.day("2026-10-15")))
        #expect(p.from == .pending && p.to == .expired)
        #expect(ContractLifecycle.usedUp(F.contract(3, .customer(1), .supportHours, minutes: 60), minutesUsed: 59) == nil)
        #expect(ContractLifecycle.usedUp(F.contract(3, .customer(1), .supportHours, minutes: 60), minutesUsed: 60)?.detail["minutes_used"]?.intValue == 60)
    }

    @Test("support_hours never lapse by date; a subscription's minutes never run out; expired and defective contracts never move")
    func kindsAndStatus() {
        let late = F.day("2030-01-01")
        let hours = F.contract(1, .customer(1), .supportHours, starts: "2026-01-01", ends: "2026-02-01", minutes: 600, used: 599)
        #expect(ContractLifecycle.transition(of: hours, earliest: late, latest: late) == nil)
        let subscription = F.contract(2, .customer(1), .subscription, starts: "2026-01-01", minutes: 10, used: 999)
        #expect(ContractLifecycle.transition(of: subscription, earliest: late, latest: late) == nil)
        let expired = F.contract(3, .customer(1), starts: "2026-01-01", ends: "2026-02-01", status: .expired)
        #expect(ContractLifecycle.transition(of: expired, earliest: late, latest: late) == nil)
        let defective = F.contract(4, .customer(1), .supportHours, starts: "2026-01-01", status: .pending)
        #expect(defective.defect != nil)
        #expect(ContractLifecycle.transition(of: defective, earliest: late, latest: late) == nil)
    }
}
