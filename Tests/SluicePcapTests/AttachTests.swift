import Foundation
import Testing
import SluicePcap
import SluicePcapFiles
import SluiceTesting

/// A switch namespace with one veth pair to each of `hosts` host namespaces: host i's interface
/// is the peer of the switch's port i (1-based). Created for one test, removed by `remove()`
/// (call it in a `defer`). IPv6 is off everywhere, so the kernel sends nothing of its own.
final class SwitchLab {
    let network = NetworkLab(prefix: "st")
    let switchNS: String
    let around: HostsAroundSwitch

    init(hosts: Int) throws {
        do {
            switchNS = try network.addNamespace("sw")
            around = try network.addHosts(hosts, aroundSwitchIn: switchNS)
        } catch {
            network.remove()
            throw error
        }
    }

    func remove() { network.remove() }

    /// `sluice attach` in the switch namespace with port i on the switch's i-th interface.
    func attach(_ program: String, _ extra: [String] = []) throws -> Background {
        try network.startSluice(in: switchNS, ["attach", "--program", program] + around.portArguments + extra, ready: "Ctrl-C to stop")
    }

    /// Captures on host i (0-based) until `count` packets or `seconds`.
    func capture(host i: Int, count: Int? = nil, seconds: Int, into path: String) throws -> Background {
        var args = ["capture", "-Q", "in", "-i", around.hostInterfaces[i], "-w", path, "--duration", "\(seconds)s"]
        if let count { args += ["-c", "\(count)"] }
        return try network.startSluice(in: around.hosts[i], args, ready: "Ctrl-C to stop")
    }

    /// Sends a file's frames out of host i, 20 us apart.
    func send(host i: Int, _ file: String) throws -> ToolResult {
        try network.sluice(in: around.hosts[i], ["send", file, "-i", around.hostInterfaces[i], "--pps", "50000"])
    }
}

/// `sluice attach`: programs forwarding real packets between network namespaces the test
/// creates (and removes, even when it fails). Only the test's own namespaces carry traffic.
@Suite(.serialized, .enabled(if: isRoot, "needs root: creates network namespaces and veth pairs and captures with libpcap (CI runs as root)"))
struct AttachTests {
    static let macA: MACAddress = "02:00:00:00:00:0a", macB: MACAddress = "02:00:00:00:00:0b", macC: MACAddress = "02:00:00:00:00:0c"
    static let switchMAC: MACAddress = "02:00:00:00:00:f1"

    func udp(dst: MACAddress, src: MACAddress, ttl: UInt8 = 64, from: IPv4Address = "10.0.1.2", to: IPv4Address, checksum: UInt16? = nil,
             payload: [UInt8]) -> [UInt8] {
        Packet.ethernet(dst: dst, src: src).ipv4(src: from, dst: to, ttl: ttl, checksum: checksum).udp(sport: 4000, dport: 5000).payload(payload).bytes
    }

    func file(_ dir: String, _ name: String, _ frames: [[UInt8]]) throws -> String {
        let path = dir + "/" + name
        try writePcap(path, frames.enumerated().map { CapturedPacket(timestamp: 1_700_000_000_000_000_000 + Int64($0.offset) * 20_000, bytes: $0.element) })
        return path
    }

    @Test func ipv4RouterForwardsRealPacketsWithTTLAndChecksumRewritten() throws {
        let lab = try SwitchLab(hosts: 2)
        defer { lab.remove() }
        let dir = try temporaryDirectory("attach")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let entries = dir + "/routes.txt"
        try """
            table_add ipv4_lpm ipv4_forward 10.0.2.0/24 => \(Self.macB) 2
            table_add ipv4_lpm ipv4_forward 10.0.1.0/24 => \(Self.macA) 1
            """.write(toFile: entries, atomically: true, encoding: .utf8)
        let switchAttach = try lab.attach("ipv4-router", ["--entries", entries])
        defer { switchAttach.terminate() }

        // To host B: 20 good frames of varied sizes, then one with TTL 1 and one with a bad
        // header checksum (both dropped by the router), then a last good one.
        var frames = (0..<20).map { i in udp(dst: Self.switchMAC, src: Self.macA, ttl: UInt8(2 + i), to: "10.0.2.7", payload: Array(repeating: UInt8(i), count: 18 + 61 * i)) }
        frames.append(udp(dst: Self.switchMAC, src: Self.macA, ttl: 1, to: "10.0.2.7", payload: [1, 2, 3]))
        frames.append(udp(dst: Self.switchMAC, src: Self.macA, to: "10.0.2.7", checksum: 0x1234, payload: [4, 5, 6]))
        frames.append(udp(dst: Self.switchMAC, src: Self.macA, ttl: 200, to: "10.0.2.9", payload: Array(repeating: 0xEE, count: 1400)))
        let good = Array(frames[0..<20]) + [frames[22]]
        let expected = good.map { f -> [UInt8] in
            // What the router makes of it: MACs rewritten, TTL down by one, checksum recomputed.
            let ttl = f[22] - 1
            return udp(dst: Self.macB, src: Self.switchMAC, ttl: ttl, to: f[33] == 9 ? "10.0.2.9" : "10.0.2.7", payload: Array(f[42...]))
        }

        let capturedB = dir + "/b.pcap"
        let capB = try lab.capture(host: 1, count: expected.count, seconds: 20, into: capturedB)
        defer { capB.terminate() }
        let sent = try lab.send(host: 0, try file(dir, "a.pcap", frames))
        #expect(sent.status == 0, "send: \(sent.err)")
        #expect(capB.wait(seconds: 25) == 0, "capture: \(capB.errorText)")
        let got = try PcapFileReader.readAll(path: capturedB)
        #expect(got.map(\.bytes) == expected)

        // SIGUSR1 prints the counters while it runs; SIGINT prints them again and stops.
        switchAttach.signal(SIGUSR1)
        let deadline = Date().addingTimeInterval(10)
        while !switchAttach.outputText.contains("pipeline: received 23, sent 21;") && Date() < deadline { usleep(20_000) }
        #expect(switchAttach.outputText.contains("pipeline: received 23, sent 21;"), "after SIGUSR1: \(switchAttach.outputText)")
        #expect(switchAttach.process.isRunning)
        switchAttach.signal(SIGINT)
        #expect(switchAttach.wait(seconds: 10) == 0, "attach: \(switchAttach.errorText)")
        let out = switchAttach.outputText
        #expect(out.components(separatedBy: "pipeline: received 23, sent 21;").count == 3, "two counter reports: \(out)")
        #expect(out.contains("pipeline: received 23, sent 21; drops: parser 0, ingress 2,"), "\(out)")
        // The table printed at exit (the last one).
        let rows = Array(out.split(separator: "\n").filter { $0.hasPrefix("   1  ") || $0.hasPrefix("   2  ") }.map { $0.split(separator: " ") }.suffix(2))
        #expect(rows.count == 2)
        if rows.count == 2 {
            #expect(rows[0][2] == "23" && rows[0][4] == "0", "port 1: \(rows[0])")   // 23 in, nothing out
            #expect(rows[1][2] == "0" && rows[1][4] == "21", "port 2: \(rows[1])")   // 21 out
        }
    }

    /// `attach --trace` traces live packets: the trace of each is the one `sluice run --trace`
    /// prints for the same bytes on the same port (but for the capture time in its first line),
    /// and `--trace-filter` keeps to the packets it matches.
    @Test func attachTracesLivePacketsAsRunTracesThem() throws {
        let lab = try SwitchLab(hosts: 2)
        defer { lab.remove() }
        let dir = try temporaryDirectory("attach-trace")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let entries = dir + "/routes.txt"
        try "table_add ipv4_lpm ipv4_forward 10.0.2.0/24 => \(Self.macB) 2\n".write(toFile: entries, atomically: true, encoding: .utf8)
        let routed = udp(dst: Self.switchMAC, src: Self.macA, ttl: 9, to: "10.0.2.7", payload: [1, 2, 3, 4])
        let expired = udp(dst: Self.switchMAC, src: Self.macA, ttl: 1, to: "10.0.2.7", payload: [5, 6])
        let unrouted = udp(dst: Self.switchMAC, src: Self.macA, to: "10.0.9.1", payload: [7])
        let switchAttach = try lab.attach("ipv4-router", ["--entries", entries, "--trace", "--trace-filter", "ipv4.dst == 10.0.2.7"])
        defer { switchAttach.terminate() }
        let sent = try lab.send(host: 0, try file(dir, "a.pcap", [routed, expired, unrouted]))
        #expect(sent.status == 0, "send: \(sent.err)")
        let deadline = Date().addingTimeInterval(10)
        while Self.traces(switchAttach.outputText).count < 2 && Date() < deadline { usleep(20_000) }
        switchAttach.signal(SIGINT)
        #expect(switchAttach.wait(seconds: 10) == 0, "attach: \(switchAttach.errorText)")
        let live = Self.traces(switchAttach.outputText)
        #expect(live.count == 2, "the filter keeps the two packets to 10.0.2.7: \(switchAttach.outputText)")
        for (i, frame) in [routed, expired].enumerated() where i < live.count {
            let hex = frame.map { String(format: "%02x", $0) }.joined()
            let offline = try sluice("run", "ipv4-router", "--entries", entries, "--packet", "1:\(hex)", "--trace")
            #expect(offline.status == 0, "run: \(offline.err)")
            let reference = Self.traces(offline.out)
            #expect(reference.count == 1 && live[i] == reference.first, "packet \(i + 1):\n\(live[i])\nrun --trace:\n\(reference.first ?? offline.out)")
        }
        #expect(live.first?.contains("table ipv4_lpm: hdr.ipv4.dstAddr=10.0.2.7 -> hit entry 0 (10.0.2.0/24)") == true, "\(live)")
        #expect(live.last?.contains("dropped in ingress") == true, "\(live)")
    }

    /// The traces in `output`: each from its "packet N in port P: L bytes, time T ns" line to
    /// the last indented line after it, the packet number and time taken out.
    static func traces(_ output: String) -> [String] {
        var traces: [[String]] = []
        var open = false
        for line in output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("packet "), line.contains(" bytes, time ") {
                let port = line.split(separator: ":")[0].split(separator: " ").dropFirst(2).joined(separator: " ")
                traces.append([port + ":" + line.split(separator: ":")[1].split(separator: ",")[0]])
                open = true
            } else if open && line.hasPrefix("  ") {
                traces[traces.count - 1].append(line)
            } else {
                open = false
            }
        }
        return traces.map { $0.joined(separator: "\n") }
    }

    @Test func l2SwitchFloodsUnknownDestinationsThenLearns() throws {
        let lab = try SwitchLab(hosts: 3)
        defer { lab.remove() }
        let dir = try temporaryDirectory("attach-l2")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sw = try lab.attach("l2-switch")
        defer { sw.terminate() }

        // A to B, before the switch knows B: flooded to B and C (never back to A).
        let aToB = (0..<3).map { udp(dst: Self.macB, src: Self.macA, to: "10.0.2.7", payload: [UInt8($0), 0x11, 0x22, 0x33]) }
        let b1 = dir + "/b1.pcap", c1 = dir + "/c1.pcap"
        let capB = try lab.capture(host: 1, count: 3, seconds: 20, into: b1)
        defer { capB.terminate() }
        let capC = try lab.capture(host: 2, count: 3, seconds: 20, into: c1)
        defer { capC.terminate() }
        #expect(try lab.send(host: 0, try file(dir, "a.pcap", aToB)).status == 0)
        #expect(capB.wait(seconds: 25) == 0 && capC.wait(seconds: 25) == 0)
        #expect(try PcapFileReader.readAll(path: b1).map(\.bytes) == aToB)
        #expect(try PcapFileReader.readAll(path: c1).map(\.bytes) == aToB)

        // B to A: the switch learned A on port 1, so only A gets these; C sees nothing.
        let bToA = (0..<4).map { udp(dst: Self.macA, src: Self.macB, from: "10.0.2.7", to: "10.0.1.2", payload: [UInt8($0), 0x44]) }
        let a2 = dir + "/a2.pcap", c2 = dir + "/c2.pcap"
        let capA = try lab.capture(host: 0, count: 4, seconds: 20, into: a2)
        defer { capA.terminate() }
        let capC2 = try lab.capture(host: 2, seconds: 3, into: c2)
        defer { capC2.terminate() }
        #expect(try lab.send(host: 1, try file(dir, "b.pcap", bToA)).status == 0)
        #expect(capA.wait(seconds: 25) == 0 && capC2.wait(seconds: 10) == 0)
        #expect(try PcapFileReader.readAll(path: a2).map(\.bytes) == bToA)
        #expect(try PcapFileReader.readAll(path: c2).isEmpty)

        sw.signal(SIGTERM)
        #expect(sw.wait(seconds: 10) == 0, "attach: \(sw.errorText)")
        #expect(sw.outputText.contains("pipeline: received 7,"), "\(sw.outputText)")
    }

    @Test func badPortsAreRefusedBeforeAnythingOpens() throws {
        let r1 = try sluice("attach", "--program", "ipv4-router", "--port", "1=lo", "--port", "1=lo2")
        #expect(r1.status != 0)
        #expect(r1.err.contains("--port '1=lo2': port 1 is already lo; each port has one interface"), "\(r1.err)")
        let r2 = try sluice("attach", "--program", "ipv4-router", "--port", "veth1")
        #expect(r2.err.contains("--port 'veth1': expected N=IFACE with N in 0...511, e.g. --port 1=veth1"), "\(r2.err)")
        let lab = try SwitchLab(hosts: 1)
        defer { lab.remove() }
        let r3 = try lab.network.sluice(in: lab.switchNS, ["attach", "--program", "ipv4-router", "--port", "1=nosuch0"])
        #expect(r3.status != 0)
        #expect(r3.err.contains("interface 'nosuch0'") && r3.err.contains("available:"), "\(r3.err)")
    }
}
