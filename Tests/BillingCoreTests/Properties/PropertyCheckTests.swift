import Testing

/// The property harness itself: a failing property must name the seed that replays it.
@Suite("property harness")
struct PropertyCheckTests {
    @Test("a counterexample is reported with its seed and the command that replays it")
    func reportsSeed() {
        withKnownIssue {
            PropertyCheck.forAll("always fails", cases: 3) { g in "drew \(g.int(0...9))" }
        } matching: { issue in
            let text = issue.comments.map(\.rawValue).joined() + "\(issue)"
            return text.contains("always fails fails for seed") && text.contains("SUPPORTBILL_PROPERTY_SEED=") && text.contains("drew ")
        }
    }

    @Test("the same seed draws the same values")
    func deterministic() {
        var a = SeededGenerator(seed: 42)
        var b = SeededGenerator(seed: 42)
        let first = (0..<20).map { _ in a.int(0...1_000_000) }
        #expect(first == (0..<20).map { _ in b.int(0...1_000_000) })
        var c = SeededGenerator(seed: 43)
        #expect(first != (0..<20).map { _ in c.int(0...1_000_000) })
    }
}
