import SluiceControlPlane
import Foundation
import Testing
import Sluice
import SluiceIR
import SluicePcap
import SluicePcapFiles
import SluiceRuntime
import SluiceTesting
import SluiceXDP

/// Multicast in the kernel: a packet for a group is broadcast through the group's DEVMAP and
/// every copy runs egress (its port and replica id) in the per-copy program. Three hosts in
/// namespaces around switch ports in this namespace: what h2 and h3 capture is what the
/// runtime sends to their ports, byte for byte, and h1 gets nothing back.
@Suite(.serialized, .enabled(if: isRoot, "needs root: creates network namespaces and attaches XDP programs (CI runs as root)"))
struct MulticastXDPTests {
    static func program() -> SwitchProgram {
        SwitchProgram("flood") {
            HeaderType("eth_t") { Field("dst", 48); Field("src", 48); Field("type", 16) }
            HeaderType("tag_t") { Field("rid", 16); Field("port", 16) }
            Header("eth", "eth_t")
            Header("tag", "tag_t")
            Parser {
                State("start") {
                    Extract(hdr.eth)
                    Select(hdr.eth.type) {
                        Case(Keyset(UInt128(0x88B5)), next: "parse_tag")
                        Default(next: "accept")
                    }
                }
                State("parse_tag") { Extract(hdr.tag) }
            }
            Ingress {
                If(hdr.tag.isValid) { Assign(standard.mcastGrp, .bits(1, 16)) } else: { Drop() }
            }
            Egress {
                If(standard.egressPort == standard.ingressPort) { Drop() }
                Assign(hdr.tag.rid, standard.egressRid)
                Assign(hdr.tag.port, standard.egressPort.cast(16))
            }
            Deparser { Emit(hdr.eth); Emit(hdr.tag) }
        }
    }

    @Test(arguments: ["generic", "native"])
    func copiesLeaveEveryMemberPortWithTheirEgress(_ mode: String) throws {
        let network = NetworkLab(prefix: "sm")
        defer { network.remove() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-mc-\(network.tag)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let lab = try network.addHosts(3, aroundSwitchIn: nil)
        let hosts = lab.hosts
        if mode == "native" {
            let pass = dir + "/pass.o"
            try XDPPassProgram.compile(to: pass)
            for (h, e) in zip(hosts, lab.hostInterfaces) { try network.ip(in: h, ["link", "set", e, "xdpdrv", "obj", pass, "sec", "xdp"]) }
        }
        let ir = try Self.program().verified()
        let members = [MulticastMember(port: 1, rid: 10), MulticastMember(port: 2, rid: 20), MulticastMember(port: 3, rid: 30)]
        let runtime = try SwitchHarness(ir)
        try runtime.pipeline.setMulticastGroup(1, members)
        let xdp = try XDPProgram(ir)
        let cp = try XDPControlPlane(xdp)
        try cp.setMulticastGroup(1, members)
        defer { xdp.detachAll() }
        for (i, port) in lab.switchPorts.enumerated() { _ = try xdp.attach(interface: port, port: UInt16(i + 1), mode: mode == "native" ? .native : .generic) }

        var frames: [[UInt8]] = []
        for i in 0..<5 { frames.append([0x02, 0, 0, 0, 0, 0x0A, 0x02, 0, 0, 0, 0, UInt8(i), 0x88, 0xB5] + [UInt8](repeating: UInt8(i), count: 50)) }
        var expected: [UInt16: [[UInt8]]] = [:]
        for f in frames { try runtime.send(f, port: 1); for o in runtime.drain() { expected[o.port, default: []].append(o.bytes) } }
        #expect(expected[1] == nil && expected[2]?.count == 5 && expected[3]?.count == 5)
        let w = try PcapWriter(path: dir + "/in.pcap")
        for (i, f) in frames.enumerated() { f.withUnsafeBytes { w.write(timestampNanoseconds: Int64(i) * 1000, bytes: $0) } }
        w.close()
        let captures = try (2...3).map { i in
            try network.start(in: hosts[i - 1], [sluiceBinary, "capture", "-Q", "in", "-i", lab.hostInterfaces[i - 1], "-c", "5",
                                                 "--duration", "4", "-f", "ether proto 0x88b5", "-w", dir + "/out\(i).pcap"])
        }
        let back = try network.start(in: hosts[0], [sluiceBinary, "capture", "-Q", "in", "-i", lab.hostInterfaces[0], "--duration", "3",
                                                    "-f", "ether proto 0x88b5", "-w", dir + "/back.pcap"])
        usleep(800_000)
        try network.execChecked(in: hosts[0], [sluiceBinary, "send", dir + "/in.pcap", "-i", lab.hostInterfaces[0]])
        for (k, c) in captures.enumerated() {
            #expect(c.wait(seconds: 10) == 0, "capture \(k + 2): \(c.errorText)")
            let got = try PcapFileReader.readAll(path: dir + "/out\(k + 2).pcap").map(\.bytes)
            #expect(got == expected[UInt16(k + 2)]!, "port \(k + 2): got \(got.count) frames \(got.first.map { Array($0.prefix(20)) } ?? [])")
        }
        _ = back.wait(seconds: 10)
        let echoed = try PcapFileReader.readAll(path: dir + "/back.pcap").count
        #expect(echoed == 0, "h1 got \(echoed) copies of its own frames back")
        let o = try xdp.outcomes()
        #expect(o[8] ?? 0 >= 5, "multicast outcomes \(o)")
    }
}
