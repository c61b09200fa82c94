import Foundation
import Testing
import SluiceTesting

/// `sluice fuzz --backends runtime,xdp`: the fuzzer's packets through the runtime and the kernel
/// with each conformance subject's entries, plus a default route so that random addresses are
/// forwarded too. No disagreement, and every frame long enough for the kernel compared.
@Suite(.serialized, .enabled(if: isRoot, "needs root: loads eBPF programs into the kernel (CI runs as root)"))
struct FuzzXDPTests {
    @Test(arguments: subjects.map(\.name))
    func fuzzedPacketsAgreeAtXDP(_ name: String) throws {
        let subject = try #require(subjects.first { $0.name == name })
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-fuzz-xdp-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var entries = subject.entries
        if ["ipv4-router", "acl-firewall"].contains(name) && !entries.contains("0.0.0.0/0") { entries += "\ntable_add ipv4_lpm ipv4_forward 0.0.0.0/0 => 08:00:00:00:09:09 6\n" }
        try entries.write(toFile: dir + "/entries.txt", atomically: true, encoding: .utf8)
        let r = try ChildProcess.run(sluiceBinary, ["fuzz", name, "--backends", "runtime,xdp", "--packets", "10000", "--seed", "0x5eed",
                                                    "--entries", dir + "/entries.txt", "--pcap-dir", dir + "/out", "--json"])
        #expect(r.status == 0, "\(name): \(r.err)\n\(r.out)")
        let o = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        #expect(o["disagreements"] as? Int == 0, "\(name): \(r.out)")
        #expect((o["xdp_compared"] as? Int ?? 0) > 9000, "\(name): \(r.out)")
        #expect((o["runtime_forwarded"] as? Int ?? 0) > 300, "\(name): the fuzzer's packets were hardly forwarded: \(r.out)")
    }
}
