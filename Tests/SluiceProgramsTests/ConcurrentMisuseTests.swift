import Foundation
import Testing
import SluiceTesting

/// Two commands on one port (issue 28, concurrent misuse): the second is refused with the
/// address and the likely cause, and the first keeps serving.
@Suite(.serialized) struct ConcurrentMisuseTests {
    /// A port above the kernel's ephemeral range, apart for each test process.
    static let port = 62_500 + Int(getpid() % 1000)

    @Test func aSecondAggregatorOnOnePortIsRefused() throws {
        let first = try ChildProcess(CLITests.binary.path, ["aggregator", "--worker", "127.0.0.1:41001", "--listen", "127.0.0.1:\(Self.port)", "--duration", "30"])
        defer { first.process.terminate(); _ = first.wait(seconds: 10) }
        // Its ready line says it is bound.
        try #require(first.waitForError(containing: "aggregator (socket backend) on port", seconds: 30), "the first aggregator did not start: \(first.errorText)")
        let second = try CLITests.run(["aggregator", "--worker", "127.0.0.1:41001", "--listen", "127.0.0.1:\(Self.port)", "--duration", "1"])
        #expect(second.status == 1)
        #expect(second.err == "Error: bind 127.0.0.1:\(Self.port): Address already in use (is another aggregator running there?)\n", "\(second.err)")
        #expect(first.process.isRunning, "the first aggregator stopped")
    }

    @Test func aSecondWorkerOfOneRankIsRefused() throws {
        let holder = try ChildProcess(CLITests.binary.path, ["aggregator", "--worker", "127.0.0.1:41001", "--listen", "127.0.0.1:\(Self.port + 1)", "--duration", "30"])
        defer { holder.process.terminate(); _ = holder.wait(seconds: 10) }
        try #require(holder.waitForError(containing: "aggregator (socket backend) on port", seconds: 30), "the aggregator did not start: \(holder.errorText)")
        // The worker's port is --port-base + rank: the aggregator's own port stands in for a worker already there.
        let r = try CLITests.run(["allreduce", "--aggregator", "127.0.0.1:\(Self.port + 1)", "--rank", "0", "--workers", "1",
                                  "--size", "4KB", "--local", "127.0.0.1", "--port-base", "\(Self.port + 1)"])
        #expect(r.status == 1)
        #expect(r.err.hasPrefix("Error: bind 127.0.0.1:\(Self.port + 1): Address already in use"), "\(r.err)")
    }
}
