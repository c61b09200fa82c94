import Foundation
import Testing
import SluiceTesting

/// `sluice allreduce --transport udp` workers in their own network namespaces, each with a
/// veth to the aggregator's namespace where `sluice aggregator --backend socket` serves; one
/// worker's link loses 2% of its updates (tc netem, or an nftables random drop on kernels built
/// without netem). Every worker's int32 sum is exact.
@Suite(.serialized, .enabled(if: isRoot, "needs root: creates network namespaces, veth pairs and netem qdiscs (CI runs as root)"))
struct AllReduceNamespaceTests {
    @Test func workersInNamespacesSumExactlyThroughTheSocketAggregatorUnderLoss() throws {
        let network = NetworkLab(prefix: "sa"), n = 3
        defer { network.remove() }
        let agg = try network.addNamespace("ag")
        let lab = try network.addHosts(n, aroundSwitchIn: agg)
        let workers = lab.hosts
        for w in 0..<n {
            try network.addAddress("10.7.\(w).1/24", to: lab.switchPorts[w], in: agg)
            try network.addAddress("10.7.\(w).2/24", to: lab.hostInterfaces[w], in: workers[w])
        }
        try injectLoss(network, namespace: workers[0], interface: lab.hostInterfaces[0], udpPort: 0xBEE1)
        let server = try network.start(in: agg, [sluiceBinary, "aggregator", "--backend", "socket",
                                                 "--worker", "10.7.0.2", "--worker", "10.7.1.2", "--worker", "10.7.2.2", "--duration", "60", "--json"])
        defer { server.terminate() }
        #expect(server.waitForError(containing: "Ctrl-C to stop", seconds: 20), "\(server.errorText)")
        let runs = try (0..<n).map { w in
            try network.start(in: workers[w], [sluiceBinary, "allreduce", "--transport", "udp",
                                               "--aggregator", "10.7.\(w).1", "--rank", "\(w)", "--workers", "\(n)", "--size", "1MB",
                                               "--seed", "9", "--timeout", "60", "--json"])
        }
        for (w, r) in runs.enumerated() {
            #expect(r.wait(seconds: 90) == 0, "worker \(w): \(r.errorText)")
            #expect(allReduceCorrect(r.outputText), "worker \(w): \(r.outputText)")
        }
        #expect((jsonFields(runs[0].outputText)?["retransmissions"] as? Int ?? 0) > 0,
                "the lossy worker must have retransmitted: \(runs[0].outputText)")
        // Stopped, the aggregator prints its counts: every worker's updates reached it.
        server.signal(SIGTERM)
        #expect(server.wait(seconds: 10) == 0, "\(server.errorText)")
        let counts = jsonFields(server.outputText)
        #expect(counts?["backend"] as? String == "socket" && counts?["program"] as? String == "switchml", "\(server.outputText)")
        // Every update of the two lossless workers (1 MB of 4-byte values, 64 a packet) at least;
        // worker 0's lost updates may be answered by a result before they are sent again.
        #expect((counts?["updates"] as? Int ?? 0) >= 2 * (1 << 20) / 4 / 64, "\(server.outputText)")
    }
}

/// The JSON object a command printed with --json (from its first '{').
func jsonFields(_ output: String) -> [String: Any]? {
    guard let start = output.firstIndex(of: "{") else { return nil }
    return (try? JSONSerialization.jsonObject(with: Data(output[start...].utf8))) as? [String: Any]
}

/// Whether `sluice allreduce --json` printed `"correct": true`.
func allReduceCorrect(_ output: String) -> Bool { jsonFields(output)?["correct"] as? Bool == true }
