import BillingCore

/// The subset of systemd `OnCalendar` expressions the simulation understands, which covers the
/// jobs' schedules: `*-*-* HH:MM:SS UTC` (daily), `*-*-DD HH:MM:SS UTC` (monthly) and
/// `*-*-* *:MM:SS UTC` (hourly, simulated once a day at the first hour).
public struct DailySchedule: Sendable, Equatable {
    /// nil: every day.
    public let dayOfMonth: Int?
    public let hour: Int
    public let minute: Int
    public let second: Int

    public init(parsing expression: String) throws {
        let parts = expression.split(separator: " ").map(String.init)
        guard parts.count == 3, parts[2] == "UTC" else {
            throw BillingError.invalidInput("schedule \(expression.debugDescription): simulate understands '*-*-* HH:MM:SS UTC', '*-*-DD HH:MM:SS UTC' and '*-*-* *:MM:SS UTC'")
        }
        let date = parts[0].split(separator: "-").map(String.init)
        let time = parts[1].split(separator: ":").map(String.init)
        guard date.count == 3, date[0] == "*", date[1] == "*", time.count == 3,
              let minute = Int(time[1]), let second = Int(time[2]), (0..<60).contains(minute), (0..<60).contains(second) else {
            throw BillingError.invalidInput("schedule \(expression.debugDescription) is not of a form simulate understands")
        }
        if date[2] == "*" {
            dayOfMonth = nil
        } else {
            guard let day = Int(date[2]), (1...28).contains(day) else {
                throw BillingError.invalidInput("schedule \(expression.debugDescription): simulate understands days of month 01 to 28")
            }
            dayOfMonth = day
        }
        if time[0] == "*" {
            hour = 0
        } else {
            guard let hour = Int(time[0]), (0..<24).contains(hour) else {
                throw BillingError.invalidInput("schedule \(expression.debugDescription) has an invalid hour")
            }
            self.hour = hour
        }
        self.minute = minute
        self.second = second
    }

    /// The instant the job runs on `date`, or nil if it does not run that day.
    public func instant(on date: LocalDate) -> Instant? {
        if let dayOfMonth, date.day != dayOfMonth { return nil }
        return Instant(utc: date, hour: hour, minute: minute, second: second)
    }
}
