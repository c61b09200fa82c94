import Foundation
import Testing
import SluicePcap
import SluicePcapFiles
import SluicePrograms
import SluiceRuntime
import SluiceTesting

/// `sluice attach --backend xdp --program l2-switch` between three hosts: the switch floods what
/// it does not know, learns from the digests its controller drains from the kernel, then
/// forwards to learnt ports only. What each host captures is what the runtime with the same
/// controller sends to its port, frame for frame.
@Suite(.serialized, .enabled(if: isRoot, "needs root: creates network namespaces and attaches XDP programs (CI runs as root)"))
struct LearningXDPTests {
    @Test func l2SwitchLearnsThenForwardsOnlyToLearntPorts() throws {
        let network = NetworkLab(prefix: "sl")
        defer { network.remove() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-learn-\(network.tag)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let lab = try network.addHosts(3, aroundSwitchIn: nil)
        let hosts = lab.hosts
        func mac(_ h: Int) -> MACAddress { MACAddress(value: 0x0200_0000_0000 + UInt64(h)) }
        func frame(from a: Int, to b: MACAddress, _ n: Int) -> [UInt8] {
            Packet.ethernet(dst: b, src: mac(a), etherType: 0x88B5).payload(count: 46 + n).bytes
        }
        // Stages (host, frame), a pause between them for the controller to learn:
        // h1 -> h2 unknown: flooded; h2 -> h1: h1 learnt, to port 1 only; h1 -> h2: to port 2
        // only; h3 broadcasts: flooded to 1 and 2.
        let stages: [(Int, [UInt8])] = [(1, frame(from: 1, to: mac(2), 0)), (2, frame(from: 2, to: mac(1), 1)),
                                        (1, frame(from: 1, to: mac(2), 2)), (3, frame(from: 3, to: "ff:ff:ff:ff:ff:ff", 3))]
        let runtime = try SwitchHarness(L2Switch.program().verified(), controller: L2Switch.Controller(ports: [1, 2, 3]))
        var expected: [UInt16: [[UInt8]]] = [:]
        for (h, f) in stages { try runtime.send(f, port: UInt16(h)); for o in runtime.drain() { expected[o.port, default: []].append(o.bytes) } }
        #expect(expected[1]?.count == 2 && expected[2]?.count == 3 && expected[3]?.count == 1, "runtime: \(expected.mapValues(\.count))")

        let attach = try ChildProcess(sluiceBinary, ["attach", "--backend", "xdp", "--mode", "generic", "--program", "l2-switch"]
                                      + lab.portArguments + ["--duration", "12", "--json"])
        defer { attach.terminate() }
        #expect(attach.waitForError(containing: "attached at XDP", seconds: 60), "\(attach.errorText)")
        let captures = try (1...3).map { i in
            try network.start(in: hosts[i - 1], [sluiceBinary, "capture", "-Q", "in", "-i", lab.hostInterfaces[i - 1], "--duration", "6",
                                                  "-f", "ether proto 0x88b5", "-w", dir + "/out\(i).pcap"])
        }
        usleep(800_000)
        for (k, (h, f)) in stages.enumerated() {
            let w = try PcapWriter(path: dir + "/in\(k).pcap")
            f.withUnsafeBytes { w.write(timestampNanoseconds: 0, bytes: $0) }
            w.close()
            try network.execChecked(in: hosts[h - 1], [sluiceBinary, "send", dir + "/in\(k).pcap", "-i", lab.hostInterfaces[h - 1]])
            usleep(400_000)   // the controller drains digests every 20 ms
        }
        for (i, c) in captures.enumerated() {
            _ = c.wait(seconds: 15)
            let got = try PcapFileReader.readAll(path: dir + "/out\(i + 1).pcap").map(\.bytes)
            #expect(got == expected[UInt16(i + 1)] ?? [], "h\(i + 1) captured \(got.count) frames, the runtime sent \(expected[UInt16(i + 1)]?.count ?? 0)")
        }
        attach.signal(SIGTERM)
        #expect(attach.wait(seconds: 20) == 0, "\(attach.errorText)")
        for port in lab.switchPorts { #expect(try !network.xdpAttached(port), "left attached") }
    }
}
