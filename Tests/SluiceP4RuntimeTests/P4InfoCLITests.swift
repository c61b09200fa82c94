import Foundation
import Testing
import SwiftProtobuf
import SluiceTesting
@testable import SluiceP4Runtime

/// `sluice compile --emit p4info|p4info-binary`, run as a process.
@Suite struct P4InfoCLITests {
    func compile(_ args: String...) throws -> ChildProcess.Result {
        try ChildProcess.run(sluiceBinaryPath, ["compile"] + args, seconds: 120)
    }

    /// Standard output is the snapshot, twice the same (ids are stable across runs).
    @Test func textIsTheSnapshotOnEveryRun() throws {
        let expected = try String(contentsOf: P4InfoSnapshotTests.snapshot.url("ipv4-router"), encoding: .utf8)
        for _ in 0..<2 {
            let r = try compile("ipv4-router", "--emit", "p4info")
            #expect(r.status == 0 && r.out == expected, "\(r.err)")
        }
    }

    /// `-o` gets the binary form, which decodes to what the text form says.
    @Test func binaryDecodesToTheText() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-p4info-\(getpid()).bin").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        let r = try compile("l2-switch", "--emit", "p4info-binary", "-o", file)
        #expect(r.status == 0 && r.out.isEmpty, "\(r.err)")
        let binary = try P4_Config_V1_P4Info(serializedBytes: [UInt8](Data(contentsOf: URL(fileURLWithPath: file))))
        let text = try P4_Config_V1_P4Info(textFormatString: String(contentsOf: P4InfoSnapshotTests.snapshot.url("l2-switch"), encoding: .utf8))
        #expect(binary == text)
    }

    @Test func anUnwritableOutputIsNamed() throws {
        let r = try compile("ipv4-router", "--emit", "p4info", "-o", "/nonexistent/x.txt")
        #expect(r.status != 0)
        #expect(r.err == "Error: -o /nonexistent/x.txt: cannot write: No such file or directory\n", "\(r.err)")
    }
}
