/// The performance targets of issue 20, checked on the full-scale results of every shape:
/// - every job's first run within 2x its honest floor;
/// - a rerun with nothing to change at most 0.3x the first run;
/// - peak RSS at most 100 MB, and within 1.2x the figure at a fifth of the data (when measured).
/// Ratios are compared in hundredths (integers, no floating point).
enum Targets {
    static let maxTimesHonestFloor: Int64 = 200
    static let maxRerunOverFirst: Int64 = 30
    static let maxRSSKilobytes: Int64 = 100 * 1024
    static let maxRSSGrowth: Int64 = 120

    /// One line per target missed.
    static func missed(_ results: [BenchResult]) -> [String] {
        var missed: [String] = []
        for r in results where r.scale == "full" {
            let name = "\(r.job.rawValue) (\(r.shape))"
            if let x = BenchResult.hundredths(r.first.wallMilliseconds, r.honest.milliseconds), x > maxTimesHonestFloor {
                missed.append("\(name): first run \(r.first.wallMilliseconds) ms is \(BenchResult.ratio(r.first.wallMilliseconds, r.honest.milliseconds))x its honest floor (\(r.honest.milliseconds) ms), target 2x")
            }
            if let x = BenchResult.hundredths(r.second.wallMilliseconds, r.first.wallMilliseconds), x > maxRerunOverFirst {
                missed.append("\(name): rerun \(r.second.wallMilliseconds) ms is \(BenchResult.ratio(r.second.wallMilliseconds, r.first.wallMilliseconds))x the first run, target 0.3x")
            }
            if r.first.peakRSSKilobytes > maxRSSKilobytes {
                missed.append("\(name): peak RSS \(r.first.peakRSSKilobytes / 1024) MB, target 100 MB")
            }
            if let small = results.first(where: { $0.job == r.job && $0.shape == r.shape && $0.scale == "fifth" }),
               let x = BenchResult.hundredths(r.first.peakRSSKilobytes, small.first.peakRSSKilobytes), x > maxRSSGrowth {
                missed.append("\(name): peak RSS \(r.first.peakRSSKilobytes / 1024) MB is \(BenchResult.ratio(r.first.peakRSSKilobytes, small.first.peakRSSKilobytes))x the figure at a fifth of the data (\(small.first.peakRSSKilobytes / 1024) MB), target 1.2x")
            }
        }
        return missed
    }
}
