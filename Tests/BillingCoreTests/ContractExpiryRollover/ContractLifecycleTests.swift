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

    // Every limit a contract sets counts, whatever its kind (docs/design.md §8):
    //
    //     support_hours 600 min, ends_on Feb 1:   Jan 1 [==== 599 used ====) Feb 1 ...... as of 2030
    //                                             -> expired by date (minutes were left)
    //     subscription, minutes_total 10:         Jan 1 [== 999 used ==> ...... as of 2030 (no end)
    //                                             -> expired by minutes (no end date to pass)
    @Test("support_hours lapse by a set ends_on, a subscription by a set minutes_total; staff-expired and defective contracts never move")
    func kindsAndStatus() throws {
        let late = F.day("2030-01-01")
        let hours = F.contract(1, .customer(1), .supportHours, starts: "2026-01-01", ends: "2026-02-01", minutes: 600, used: 599)
        let h = try #require(ContractLifecycle.transition(of: hours, earliest: late, latest: late))
        #expect(h.reason == .ended && h.to == .expired && h.sourceKey == "ce:expired:1:ends:2026-02-01")
        // Before its end, with minutes left, it stays.
        #expect(ContractLifecycle.transition(of: hours, earliest: F.day("2026-01-31"), latest: F.day("2026-01-31")) == nil)
        let subscription = F.contract(2, .customer(1), .subscription, starts: "2026-01-01", minutes: 10, used: 999)
        let s = try #require(ContractLifecycle.transition(of: subscription, earliest: late, latest: late))
        #expect(s.reason == .usedUp && s.to == .expired && s.sourceKey == "ce:expired:2:minutes:10")
        // A support_hours contract without ends_on and a subscription without minutes_total: one limit each.
        #expect(ContractLifecycle.transition(of: F.contract(5, .customer(1), .supportHours, starts: "2026-01-01", minutes: 600, used: 10), earliest: late, latest: late) == nil)
        #expect(ContractLifecycle.transition(of: F.contract(6, .customer(1), .subscription, starts: "2026-01-01", used: 99_999), earliest: late, latest: late) == nil)
        let endedByStaff = F.contract(3, .customer(1), starts: "2026-01-01", ends: "2031-02-01", status: .expired, chargeable: false)
        #expect(ContractLifecycle.transition(of: endedByStaff, earliest: late, latest: late) == nil)
        let defective = F.contract(4, .customer(1), .supportHours, starts: "2026-01-01", status: .pending)
        #expect(defective.defect != nil)
        #expect(ContractLifecycle.transition(of: defective, earliest: late, latest: late) == nil)
        // ends_on on or before starts_on is a defect for every kind now.
        #expect(F.contract(7, .customer(1), .supportHours, starts: "2026-01-01", ends: "2026-01-01", minutes: 60).defect != nil)
    }

    //     600 min, ends_on Mar 1, expired by this job when its 600 minutes were used:
    //     Jan 20: 90 minutes returned (510 used), Mar 1 ahead -> active again (generation 1)
    //     then used up again                                -> expired again, its key carries :1
    //     Mar 1 passed, minutes left                         -> stays expired
    @Test("a contract this job expired becomes active again when minutes return and its end is ahead; expiring again is recorded again")
    func reactivation() throws {
        let day = F.day("2026-01-20")
        let returned = F.contract(1, .customer(1), .supportHours, starts: "2026-01-01", ends: "2026-03-01", minutes: 600, used: 510, status: .expired)
        let r = try #require(ContractLifecycle.transition(of: returned, earliest: day, latest: day))
        #expect(r.from == .expired && r.to == .active && r.reason == .reactivated && r.event == "contract_reactivated")
        #expect(r.sourceKey == "ce:reactivated:1:1")
        let again = F.contract(1, .customer(1), .supportHours, starts: "2026-01-01", ends: "2026-03-01", minutes: 600, used: 600)
        let e = try #require(ContractLifecycle.transition(of: again, earliest: day, latest: day, generation: 1))
        #expect(e.event == "contract_expired" && e.sourceKey == "ce:expired:1:minutes:600:1")
        #expect(ContractLifecycle.transition(of: returned, earliest: F.day("2026-03-01"), latest: F.day("2026-03-01")) == nil)
        // Still used up: nothing.
        let usedUp = F.contract(1, .customer(1), .supportHours, starts: "2026-01-01", ends: "2026-03-01", minutes: 600, used: 600, status: .expired)
        #expect(ContractLifecycle.transition(of: usedUp, earliest: day, latest: day) == nil)
        // Its ends_on corrected to later: active again although the old end passed.
        let extended = F.contract(2, .customer(1), .timeLimited, starts: "2026-01-01", ends: "2026-06-01", minutes: 600, used: 100, status: .expired)
        #expect(ContractLifecycle.transition(of: extended, earliest: F.day("2026-04-01"), latest: F.day("2026-04-01"))?.to == .active)
        // Expired before it started (used up in advance), minutes returned: pending again.
        let early = F.contract(3, .customer(1), .supportHours, starts: "2026-05-01", minutes: 60, used: 0, status: .expired)
        #expect(ContractLifecycle.transition(of: early, earliest: day, latest: day)?.to == .pending)
    }
}
