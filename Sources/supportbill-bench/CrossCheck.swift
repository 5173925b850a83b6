import BillingCore

/// The floor's figures against a job's report summary (`counts` and `totals`): a job that is
/// fast but computes other figures than the hand-written SQL is reported loudly.
///
/// Figure names: `counts.X`; `totals.CUR.X`; `sum:counts.a,counts.b` (the sum of several of the
/// job's figures); `uncompared:NAME` (shown, not compared: the floor cannot compute NAME exactly
/// on this data). A per-currency total of the job with no figure of the floor for its currency,
/// where the floor computes that total for another currency, is a mismatch as well.
struct CrossCheck {
    struct Line {
        let name: String
        let floor: Int64
        let job: Int64
        let compared: Bool
        var matches: Bool { !compared || floor == job }
    }

    let lines: [Line]

    var mismatches: [Line] { lines.filter { !$0.matches } }
    var passed: Bool { mismatches.isEmpty }

    init(floor figures: [(name: String, value: Int64)], summary: JSONValue) {
        var lines: [Line] = []
        var named = Set<String>()
        for (name, value) in figures {
            let uncompared = name.hasPrefix("uncompared:")
            let figure = uncompared ? String(name.dropFirst("uncompared:".count)) : name
            lines.append(Line(name: figure, floor: value, job: CrossCheck.value(of: figure, in: summary), compared: !uncompared))
            if !uncompared { named.insert(figure) }
        }
        let totalNames = Set(named.compactMap { name -> String? in
            let parts = name.split(separator: ".")
            return parts.count == 3 && parts[0] == "totals" ? String(parts[2]) : nil
        })
        for (currency, values) in summary["totals"]?.objectValue ?? [] {
            for (total, value) in values.objectValue ?? [] where totalNames.contains(total) {
                let name = "totals.\(currency).\(total)"
                if !named.contains(name) { lines.append(Line(name: name, floor: 0, job: value.intValue ?? 0, compared: true)) }
            }
        }
        self.lines = lines
    }

    /// The job's value of a figure; what the report leaves out is 0.
    static func value(of figure: String, in summary: JSONValue) -> Int64 {
        if figure.hasPrefix("sum:") {
            return figure.dropFirst(4).split(separator: ",").reduce(0) { $0 + value(of: String($1), in: summary) }
        }
        let parts = figure.split(separator: ".").map(String.init)
        if parts.count == 2, parts[0] == "counts" { return summary["counts"]?[parts[1]]?.intValue ?? 0 }
        if parts.count == 3, parts[0] == "totals" { return summary["totals"]?[parts[1]]?[parts[2]]?.intValue ?? 0 }
        return 0
    }

    /// One line per figure, mismatches marked.
    var description: String {
        lines.map { line in
            let mark = !line.compared ? "  (not compared)" : line.matches ? "" : "  MISMATCH"
            return "    \(line.name): floor \(line.floor), job \(line.job)\(mark)"
        }.joined(separator: "\n")
    }
}
