import BillingCore
import Testing

@Suite("Time zones: an instant belongs to the customer's local date")
struct CustomerTimeZoneTests {
    private func i(_ text: String) -> Instant { try! Instant(rfc3339: text) }
    private func d(_ text: String) -> LocalDate { try! LocalDate(text) }

    //   one instant, 2026-11-01T06:30:00Z, on calendars from UTC-12 to UTC+14:
    //
    //   Etc/GMT+12 (UTC-12)     Oct 31 18:30
    //   America/Los_Angeles     Oct 31 23:30 (PDT, UTC-7: DST ends Nov 1 at 02:00 local)
    //   UTC                     Nov 1  06:30
    //   Asia/Kolkata (+5:30)    Nov 1  12:00
    //   Pacific/Kiritimati (+14) Nov 1 20:30
    @Test("the same instant on calendars from UTC-12 to UTC+14", arguments: [
        ("Etc/GMT+12", "2026-10-31", -12 * 3600),
        ("Pacific/Pago_Pago", "2026-10-31", -11 * 3600),
        ("Pacific/Honolulu", "2026-10-31", -10 * 3600),
        ("America/Los_Angeles", "2026-10-31", -7 * 3600),
        ("America/New_York", "2026-11-01", -5 * 3600),   // EST since 06:00Z
        ("UTC", "2026-11-01", 0),
        ("Europe/Berlin", "2026-11-01", 3600),
        ("Asia/Kolkata", "2026-11-01", 19_800),
        ("Asia/Kathmandu", "2026-11-01", 20_700),
        ("Asia/Tokyo", "2026-11-01", 9 * 3600),
        ("Pacific/Chatham", "2026-11-01", 13 * 3600 + 45 * 60),
        ("Pacific/Kiritimati", "2026-11-01", 14 * 3600),
    ] as [(String, String, Int)])
    func localDate(zone: String, expected: String, offset: Int) throws {
        let tz = try CustomerTimeZone(zone)
        let instant = i("2026-11-01T06:30:00Z")
        #expect(tz.localDate(of: instant) == d(expected))
        #expect(tz.utcOffsetSeconds(at: instant) == offset)
    }

    //   Los Angeles, DST ends Sunday Nov 1 2026 at 02:00 PDT -> 01:00 PST:
    //
    //   Oct 31 23:30 PDT = Nov 1 06:30Z   -> October (the seed case)
    //   Nov  1 01:30 PDT = Nov 1 08:30Z   -> November
    //   Nov  1 01:30 PST = Nov 1 09:30Z   -> November (the repeated hour)
    //   Nov 30 23:30 PST = Dec 1 07:30Z   -> November
    @Test("Los Angeles across the end of daylight saving time")
    func losAngelesDST() throws {
        let la = try CustomerTimeZone("America/Los_Angeles")
        #expect(la.localDate(of: i("2026-11-01T06:30:00Z")) == d("2026-10-31"))
        #expect(la.localDate(of: i("2026-11-01T06:59:59Z")) == d("2026-10-31"))
        #expect(la.localDate(of: i("2026-11-01T07:00:00Z")) == d("2026-11-01"))
        #expect(la.localDate(of: i("2026-11-01T08:30:00Z")) == d("2026-11-01"))
        #expect(la.localDate(of: i("2026-11-01T09:30:00Z")) == d("2026-11-01"))
        #expect(la.localDate(of: i("2026-12-01T07:30:00Z")) == d("2026-11-30"))
        #expect(la.utcOffsetSeconds(at: i("2026-11-01T08:30:00Z")) == -7 * 3600)
        #expect(la.utcOffsetSeconds(at: i("2026-11-01T09:30:00Z")) == -8 * 3600)
    }

    //   Berlin, DST starts Sunday Mar 29 2026 at 02:00 CET -> 03:00 CEST;
    //   ends Sunday Oct 25 2026 at 03:00 CEST -> 02:00 CET.
    //   Month boundaries: Mar 31 22:00Z = Apr 1 00:00 CEST; Oct 31 23:00Z = Nov 1 00:00 CET.
    @Test("month boundaries in Berlin on both sides of DST")
    func berlinMonthStarts() throws {
        let berlin = try CustomerTimeZone("Europe/Berlin")
        #expect(berlin.startOfDay(d("2026-04-01")) == i("2026-03-31T22:00:00Z"))
        #expect(berlin.startOfDay(d("2026-11-01")) == i("2026-10-31T23:00:00Z"))
        #expect(berlin.localDate(of: i("2026-10-31T22:59:59Z")) == d("2026-10-31"))
        #expect(berlin.localDate(of: i("2026-10-31T23:00:00Z")) == d("2026-11-01"))
    }

    //   A day that does not start at midnight: America/Santiago moved clocks from 24:00 to 01:00
    //   on 2026-09-06, so the first instant of Sep 6 is 01:00 local = 04:00Z.
    @Test("a day whose midnight does not exist starts after the gap")
    func skippedMidnight() throws {
        let santiago = try CustomerTimeZone("America/Santiago")
        let start = santiago.startOfDay(d("2026-09-06"))
        #expect(santiago.localDate(of: start) == d("2026-09-06"))
        #expect(santiago.localDate(of: start.adding(seconds: -1)) == d("2026-09-05"))
        #expect(start == i("2026-09-06T04:00:00Z"))
    }

    @Test("the local day starts at local midnight, from UTC-12 to UTC+14", arguments: [
        ("Etc/GMT+12", "2026-11-01T12:00:00Z"),
        ("America/Los_Angeles", "2026-11-01T07:00:00Z"),
        ("UTC", "2026-11-01T00:00:00Z"),
        ("Asia/Kolkata", "2026-10-31T18:30:00Z"),
        ("Pacific/Kiritimati", "2026-10-31T10:00:00Z"),
    ])
    func startOfDay(zone: String, expected: String) throws {
        let tz = try CustomerTimeZone(zone)
        #expect(tz.startOfDay(d("2026-11-01")) == i(expected))
        #expect(tz.localDate(of: i(expected)) == d("2026-11-01"))
        #expect(tz.localDate(of: i(expected).adding(seconds: -1)) == d("2026-10-31"))
    }

    @Test("only IANA names are accepted", arguments: ["Mars/Olympus", "GMT+3", "PST", "", "Europe/Berlin; DROP TABLE x", "utc", "UTC+3", "CET"])
    func unknown(name: String) {
        #expect(throws: BillingError.self) { try CustomerTimeZone(name) }
    }
}
