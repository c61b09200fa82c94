import Foundation
import Testing

/// Hostile or extreme input to the command-line tool: a clear error naming the input and what
/// would be valid, never a trap, a hang or a silent wrong result (issue 28).
@Suite struct HostileInputCLITests {
    static func temporaryFile(_ name: String, _ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-hostile-\(getpid())-\(name)").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Two hosts on two switches with no link between them, and a flow from one to the other:
    /// refused when read, instead of retransmitting until virtual time overflowed.
    @Test func emulateRefusesAFlowBetweenUnconnectedHosts() throws {
        let path = try Self.temporaryFile("islands.yaml", """
            topology:
              defaults:
                switch: {program: ecmp-router}
              nodes:
                s1: {kind: switch}
                s2: {kind: switch}
                h1: {kind: host}
                h2: {kind: host}
              links:
                - endpoints: ["s1:p1", "h1:eth0"]
                - endpoints: ["s2:p1", "h2:eth0"]
            traffic:
              - {kind: bulk, from: h1, to: h2, size: 1MB}
            """)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try CLITests.run(["emulate", path])
        #expect(r.status == 1)
        #expect(r.err == "Error: \(path):13: traffic[0]: flow 0 (h1 -> h2): h2 cannot be reached from h1: no path of links between them (valid: hosts connected through switches)\n")
    }
}
