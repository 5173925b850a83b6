import BillingCore
import Testing

@Suite("Local dates and months")
struct LocalDateTests {
    @Test("dates parse strictly and round-trip through days since the epoch")
    func parsing() throws {
        #expect(try LocalDate("2026-10-31").description == "2026-10-31")
        #expect(try LocalDate("2024-02-29").day == 29)
        for bad in ["2026-02-29", "2026-13-01", "2026-00-10", "2026-10-32", "26-10-01", "2026-1-01", "2026/10/01", "", "2026-10-01x"] {
            #expect(throws: BillingError.self, "\(bad)") { try LocalDate(bad) }
        }
        for text in ["1970-01-01", "1969-12-31", "2000-02-29", "2026-10-31", "2100-03-01", "0001-01-01", "9999-12-31"] {
            let date = try LocalDate(text)
            #expect(LocalDate(daysSinceEpoch: date.daysSinceEpoch) == date)
        }
        #expect(try LocalDate("1970-01-01").daysSinceEpoch == 0)
        #expect(try LocalDate("2026-10-01").daysSinceEpoch == 20_727)
    }

    @Test("month lengths and leap years (1900 no, 2000 yes, 2024 yes, 2100 no)")
    func monthLengths() {
        #expect(LocalDate.daysIn(year: 2026, month: 2) == 28)
        #expect(LocalDate.daysIn(year: 2024, month: 2) == 29)
        #expect(LocalDate.daysIn(year: 2000, month: 2) == 29)
        #expect(LocalDate.daysIn(year: 1900, month: 2) == 28)
        #expect(LocalDate.daysIn(year: 2100, month: 2) == 28)
        #expect(LocalDate.daysIn(year: 2026, month: 4) == 30)
        #expect(LocalDate.daysIn(year: 2026, month: 12) == 31)
    }

    @Test("adding days crosses month and year ends")
    func addingDays() throws {
        #expect(try LocalDate("2026-10-31").adding(days: 1) == LocalDate("2026-11-01"))
        #expect(try LocalDate("2026-12-31").adding(days: 1) == LocalDate("2027-01-01"))
        #expect(try LocalDate("2024-02-28").adding(days: 1) == LocalDate("2024-02-29"))
        #expect(try LocalDate("2026-03-01").adding(days: -1) == LocalDate("2026-02-28"))
        #expect(try LocalDate("2026-11-01").adding(days: 14) == LocalDate("2026-11-15"))
    }

    //   Jan 31 ──+1 month──> Feb 28 (29 in leap years): clamped to the month's end
    //   Jan 31 ──+2 months─> Mar 31: from the anchor, not Feb 28 + 1 = Mar 28
    @Test("adding months clamps to the end of shorter months", arguments: [
        ("2026-01-31", 1, "2026-02-28"), ("2024-01-31", 1, "2024-02-29"), ("2026-01-31", 2, "2026-03-31"),
        ("2026-01-31", 3, "2026-04-30"), ("2026-03-31", -1, "2026-02-28"), ("2024-02-29", 12, "2025-02-28"),
        ("2024-02-29", 48, "2028-02-29"), ("2026-01-30", 1, "2026-02-28"), ("2026-01-29", 1, "2026-02-28"),
        ("2024-01-29", 1, "2024-02-29"), ("2026-12-15", 1, "2027-01-15"), ("2026-01-15", -1, "2025-12-15"),
        ("2026-08-31", 1, "2026-09-30"), ("2026-04-11", 3, "2026-07-11"),
    ] as [(String, Int, String)])
    func addingMonths(start: String, months: Int, expected: String) throws {
        #expect(try LocalDate(start).adding(months: months) == LocalDate(expected))
    }

    @Test("months parse as YYYY-MM and span [first, first of next)")
    func yearMonth() throws {
        let october = try YearMonth("2026-10")
        #expect(october.dateRange == DateRange(start: try LocalDate("2026-10-01"), end: try LocalDate("2026-11-01")))
        #expect(october.dateRange.lastDay == (try LocalDate("2026-10-31")))
        #expect(october.dateRange.dayCount == 31)
        #expect(try YearMonth("2026-12").next == YearMonth("2027-01"))
        #expect(try YearMonth("2026-01").previous == YearMonth("2025-12"))
        #expect(try YearMonth("2024-02").dateRange.dayCount == 29)
        #expect(try YearMonth("2025-02").dateRange.dayCount == 28)
        #expect(try YearMonth("2026-01").months(until: YearMonth("2027-03")) == 14)
        for bad in ["2026-13", "2026-00", "2026-1", "202610", "2026-10-01", "", "x"] {
            #expect(throws: BillingError.self, "\(bad)") { try YearMonth(bad) }
        }
    }

    @Test("ranges are half-open and print their inclusive end")
    func ranges() throws {
        let range = DateRange(start: try LocalDate("2026-04-11"), end: try LocalDate("2026-05-11"))
        #expect(range.contains(try LocalDate("2026-04-11")))
        #expect(range.contains(try LocalDate("2026-05-10")))
        #expect(!range.contains(try LocalDate("2026-05-11")))
        #expect(range.description == "2026-04-11..2026-05-10")
        #expect(range.overlaps(DateRange(start: try LocalDate("2026-05-10"), end: try LocalDate("2026-06-01"))))
        #expect(!range.overlaps(DateRange(start: try LocalDate("2026-05-11"), end: try LocalDate("2026-06-01"))))
    }
}
