import TestSupport
import Testing

@Suite("shell completion scripts")
struct CompletionTests {
    @Test("bash, zsh and fish scripts name every command", arguments: ["bash", "zsh", "fish"])
    func script(shell: String) throws {
        let result = try ChildProcess.supportbill(["--generate-completion-script", shell])
        #expect(result.status == 0)
        for command in ["run", "migrate", "runs", "simulate", "report", "incidents", "contracts", "demo", "monthly-rollup"] {
            #expect(result.stdout.contains(command), "\(shell) completion lacks \(command)")
        }
    }
}
