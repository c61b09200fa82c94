import Foundation
import Testing
import SluicePcap
import SluicePcapFiles
import SluiceTesting

/// `sluice replay FILE --topology T.yaml --at NODE:PORT`: a capture injected into an emulated
/// network with its original spacing (or scaled), checked in the network's own pcaps.
@Suite struct ReplayTopologyTests {
    func frame(ttl: UInt8, payload: [UInt8]) -> [UInt8] {
        Packet.ethernet(dst: "02:00:00:00:00:f1", src: "02:00:00:00:00:01")
            .ipv4(src: "10.0.0.1", dst: "10.0.0.2", ttl: ttl).udp(sport: 7, dport: 9).payload(payload).bytes
    }

    /// h1 -- sw (ipv4-router, a route to h2 on port 2) -- h2; the sw-h2 link is captured.
    func topology(_ dir: String) throws -> String {
        try "table_add ipv4_lpm ipv4_forward 10.0.0.2/32 => 02:00:00:00:00:02 2\n".write(toFile: dir + "/routes.txt", atomically: true, encoding: .utf8)
        let yaml = """
            name: line
            topology:
              defaults:
                link: {rate: 10Gbps, delay: 1us}
              nodes:
                sw: {kind: switch, program: ipv4-router, entries: routes.txt}
                h1: {kind: host, ipv4: 10.0.0.1}
                h2: {kind: host, ipv4: 10.0.0.2}
              links:
                - endpoints: ["sw:p1", "h1:eth0"]
                - {endpoints: ["sw:p2", "h2:eth0"], capture: true}
            """
        try yaml.write(toFile: dir + "/line.yaml", atomically: true, encoding: .utf8)
        return dir + "/line.yaml"
    }

    @Test func aCaptureEntersASwitchPortAtItsScaledTimes() throws {
        let dir = try temporaryDirectory("replay-topo")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let t = try topology(dir)
        let frames = [frame(ttl: 64, payload: Array(repeating: 1, count: 100)), frame(ttl: 1, payload: [2]),
                      frame(ttl: 30, payload: Array(repeating: 3, count: 700))]
        let input = dir + "/in.pcap"
        try writePcap(input, zip(frames, [Int64(0), 10_000, 30_000]).map { CapturedPacket(timestamp: 1_700_000_000_000_000_000 + $1, bytes: $0) })

        let r = try sluice("replay", input, "--topology", t, "--at", "sw:1", "--speed", "2", "--pcap-dir", dir + "/pcaps", "--json")
        #expect(r.status == 0, "\(r.err)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        let inj = try #require((report["injections"] as? [[String: Any]])?.first)
        #expect(inj["node"] as? String == "sw" && inj["port"] as? Int == 1)
        #expect(inj["frames"] as? Int == 3 && inj["injected"] as? Int == 3 && inj["oversize"] as? Int == 0)
        #expect(inj["last"] as? Int == 15_000_000)   // 30 us at speed 2, in picoseconds

        // Out of port 2 when injected (the link is idle): the TTL-1 frame is dropped, the others
        // leave with MACs rewritten, TTL down by one and the checksum recomputed.
        let out = try PcapFileReader.readAll(path: dir + "/pcaps/sw-2--h2-0.pcapng")
        #expect(out.map(\.timestamp) == [0, 15_000])
        let expected = [(frames[0], UInt8(63)), (frames[2], UInt8(29))].map { f, ttl in
            Packet.ethernet(dst: "02:00:00:00:00:02", src: "02:00:00:00:00:f1")
                .ipv4(src: "10.0.0.1", dst: "10.0.0.2", ttl: ttl).udp(sport: 7, dport: 9).payload(Array(f[42...])).bytes
        }
        #expect(out.map(\.bytes) == expected)
    }

    @Test func badPlacesAndMixedModesAreRefused() throws {
        let dir = try temporaryDirectory("replay-topo-bad")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let t = try topology(dir)
        let input = dir + "/in.pcap"
        try writePcap(input, [CapturedPacket(timestamp: 0, bytes: frame(ttl: 9, payload: [1]))])
        let cases: [([String], String)] = [
            (["--topology", t], "Error: --topology needs --at NODE:PORT (where the frames enter), e.g. --at leaf1:1"),
            (["--topology", t, "--at", "sw"], "Error: --at 'sw': expected NODE:PORT with PORT in 0...511, e.g. leaf1:1 or h1:0"),
            (["--topology", t, "--at", "sw9:1"], "Error: --at: trace: no node named 'sw9'; nodes: sw, h1, h2"),
            (["--topology", t, "--at", "h1:4"], "Error: --at: trace: host 'h1' has one port, 0 (got 4); use h1:0"),
            (["--topology", t, "--at", "sw:1", "--program", "ipv4-router"], "Error: --program, --entries and --port are for offline replay"),
            (["--topology", t, "--at", "sw:1", "--port", "3"], "Error: --program, --entries and --port are for offline replay"),
            (["--at", "sw:1", "--program", "ipv4-router", "--pcap-dir", dir], "Error: --at, --speed, --until and --report need --topology"),
            (["--program", "ipv4-router", "--out", dir], "Error: --out is now --pcap-dir (one spelling across commands"),
        ]
        for (args, message) in cases {
            let r = try run(sluiceBinary, ["replay", input] + args)
            #expect(r.status != 0)
            #expect(r.err.hasPrefix(message), "\(args): \(r.err)")
        }
    }
}
