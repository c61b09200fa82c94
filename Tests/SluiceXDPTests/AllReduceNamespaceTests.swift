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
        let tag = "sa\(getpid() % 100_000)"
        let agg = tag + "ag", n = 3
        let workers = (0..<n).map { "\(tag)w\($0)" }
        defer { for ns in [agg] + workers { _ = try? ChildProcess.run("/usr/sbin/ip", ["netns", "del", ns]) } }
        for ns in [agg] + workers {
            try sh("/usr/sbin/ip", ["netns", "add", ns])
            try sh("/usr/sbin/ip", ["-n", ns, "link", "set", "lo", "up"])
        }
        for w in 0..<n {
            let a = "\(tag)a\(w)", b = "\(tag)b\(w)"
            try sh("/usr/sbin/ip", ["link", "add", a, "netns", agg, "type", "veth", "peer", "name", b, "netns", workers[w]])
            try sh("/usr/sbin/ip", ["-n", agg, "addr", "add", "10.7.\(w).1/24", "dev", a])
            try sh("/usr/sbin/ip", ["-n", workers[w], "addr", "add", "10.7.\(w).2/24", "dev", b])
            try sh("/usr/sbin/ip", ["-n", agg, "link", "set", a, "up"])
            try sh("/usr/sbin/ip", ["-n", workers[w], "link", "set", b, "up"])
        }
        try injectLoss(namespace: workers[0], interface: "\(tag)b0", udpPort: 0xBEE1)
        let server = try ChildProcess("/usr/sbin/ip", ["netns", "exec", agg, sluiceBinary, "aggregator", "--backend", "socket",
                                                      "--worker", "10.7.0.2", "--worker", "10.7.1.2", "--worker", "10.7.2.2", "--duration", "60"])
        defer { server.terminate() }
        #expect(server.waitForError(containing: "Ctrl-C to stop", seconds: 20), "\(server.errorText)")
        let runs = try (0..<n).map { w in
            try ChildProcess("/usr/sbin/ip", ["netns", "exec", workers[w], sluiceBinary, "allreduce", "--transport", "udp",
                                              "--aggregator", "10.7.\(w).1", "--rank", "\(w)", "--workers", "\(n)", "--size", "1MB",
                                              "--seed", "9", "--timeout", "60", "--json"])
        }
        for (w, r) in runs.enumerated() {
            #expect(r.wait(seconds: 90) == 0, "worker \(w): \(r.errorText)")
            #expect(allReduceCorrect(r.outputText), "worker \(w): \(r.outputText)")
        }
        #expect((jsonFields(runs[0].outputText)?["retransmissions"] as? Int ?? 0) > 0,
                "the lossy worker must have retransmitted: \(runs[0].outputText)")
    }
}

/// The JSON object a command printed with --json (from its first '{').
func jsonFields(_ output: String) -> [String: Any]? {
    guard let start = output.firstIndex(of: "{") else { return nil }
    return (try? JSONSerialization.jsonObject(with: Data(output[start...].utf8))) as? [String: Any]
}

/// Whether `sluice allreduce --json` printed `"correct": true`.
func allReduceCorrect(_ output: String) -> Bool { jsonFields(output)?["correct"] as? Bool == true }
