import SluiceControlPlane
import Foundation
import Testing
import SluiceIR
import SluicePcapFiles
import SluiceRuntime
import SluicePrograms
import SluiceTesting
@testable import SluiceEmulator

/// `int-md` in the emulator: a leaf-spine whose switches run it (routes from the routing
/// controller, INT roles from entries), UDP flows from leaf1's hosts to h3 on leaf2, every
/// packet reported to a collector on leaf2. The queue occupancies the reports carry, per switch
/// and egress port, reach exactly the largest depth the emulator's own queue observer recorded
/// there; the reports are one per delivered packet, with consecutive sequence numbers.
@Suite struct INTEmulatorTests {
    /// INT node ids: spines 1 and 2, leaves 11 and 12.
    static let nodeIDs = ["spine1": 1, "spine2": 2, "leaf1": 11, "leaf2": 12]

    /// h1, h2 on leaf1 (ports 1, 2), h3 and the collector c on leaf2 (ports 1, 2); leaf port 3
    /// to spine1, 4 to spine2. Hosts at 100 Gb/s, the fabric at 10 Gb/s, queues of 256 KB
    /// (within the 19 bits of a queue depth).
    static func topology(flows: [FlowSpec]) -> TopologySpec {
        func host(_ name: String, _ n: UInt32) -> NodeSpec { Net.host(name, n) }
        func sw(_ name: String, _ mac: UInt64) -> NodeSpec {
            NodeSpec(name: name, kind: .switch(SwitchSpec(program: INTProgram.name, routing: true)), mac: mac)
        }
        let q = QueueSpec(limitBytes: 256_000)
        func link(_ a: Int, _ ap: UInt16, _ b: Int, _ bp: UInt16, rate: UInt64, capture: Bool = false) -> LinkSpec {
            var l = LinkSpec(a: Endpoint(node: a, port: ap), b: Endpoint(node: b, port: bp), rate: rate, delay: 1_000_000, queue: q)
            l.capture = capture
            return l
        }
        return TopologySpec(name: "int-leaf-spine", nodes: [
            host("h1", 1), host("h2", 2), host("h3", 3), host("c", 9),
            sw("spine1", 0x0200_0000_0A01), sw("spine2", 0x0200_0000_0A02), sw("leaf1", 0x0200_0000_0B01), sw("leaf2", 0x0200_0000_0B02),
        ], links: [
            link(0, 0, 6, 1, rate: 100_000_000_000), link(1, 0, 6, 2, rate: 100_000_000_000),
            link(2, 0, 7, 1, rate: 100_000_000_000), link(3, 0, 7, 2, rate: 100_000_000_000, capture: true),
            link(6, 3, 4, 1, rate: 10_000_000_000), link(6, 4, 5, 1, rate: 10_000_000_000),
            link(7, 3, 4, 2, rate: 10_000_000_000), link(7, 4, 5, 2, rate: 10_000_000_000),
        ], flows: flows)
    }

    /// The INT roles: leaf1 watches UDP from its host ports, leaf2 is the sink for h3's port.
    static func installINT(_ emu: Emulator) throws {
        for (name, id) in nodeIDs {
            let cp = try #require(emu.controlPlane(switch: name))
            var text = "table_set_default int_config int_config \(id) 10.0.255.\(id) 1500\n"
            if name == "leaf1" {
                text += """
                    table_add int_watchlist int_source 1&&&0x1FF 0&&&0 0&&&0 17&&&0xFF 0&&&0 0&&&0 => 0xFF80 8 10
                    table_add int_watchlist int_source 2&&&0x1FF 0&&&0 0&&&0 17&&&0xFF 0&&&0 0&&&0 => 0xFF80 8 10

                    """
            }
            if name == "leaf2" {
                text += """
                    table_add int_sink int_sink 1 => 1
                    mc_group_set 1 1:0 2:32768
                    table_add int_report int_report 32768 => 02:00:00:00:00:09 10.0.0.9 32766 0 256

                    """
            }
            _ = try EntriesFile(file: "<\(name)>", text: text).apply(to: cp)
        }
    }

    /// One report as the collector got it: its sequence number and the stack's hops (node id,
    /// egress port, queue occupancy), decoded here from the wire formats.
    struct Report {
        var sequence: UInt32
        var hops: [(node: UInt32, egress: UInt16, occupancy: UInt32)]
    }

    static func decode(_ b: [UInt8]) throws -> Report {
        func u32(_ i: Int) -> UInt32 { b[i..<i + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) } }
        func u16(_ i: Int) -> UInt16 { UInt16(b[i]) << 8 | UInt16(b[i + 1]) }
        try #require(b.count > 62 && u16(12) == 0x0800 && b[23] == 17 && u16(36) == 32766, "not a report")
        let group = 42, individual = 50
        try #require(u32(group) >> 28 == 2 && b[individual] == 0x13, "group version 2, INT report with an Ethernet inner packet")
        let mdWords = Int(b[individual + 2])
        let inner = individual + 4 + 8 + 4 * mdWords
        // Inner: Ethernet, IPv4 (DSCP 0x17), UDP, shim, INT-MD header, stack.
        try #require(b[inner + 15] >> 2 == 0x17)
        let shim = inner + 14 + 20 + 8, md = shim + 4
        let words = Int(b[shim + 1]), hopML = Int(b[md + 2] & 0x1F)
        try #require(u16(md + 4) == 0xFF81 && hopML == 13)
        var hops: [(UInt32, UInt16, UInt32)] = []
        var at = md + 12
        for _ in 0..<(words - 3) / hopML {
            hops.append((u32(at), u16(at + 6), u32(at + 12) & 0xFF_FFFF))
            at += 4 * hopML
        }
        return Report(sequence: u32(group) & 0x3F_FFFF, hops: hops)
    }

    @Test func reportedQueueOccupanciesMatchTheQueueObserver() throws {
        // Six flows of 300 KB at 6 Gb/s each into 10 Gb/s uplinks: queues build on leaf1's
        // uplinks (the source hop) and on the spines' downlinks (transit).
        let flows = (0..<6).map { i in
            FlowSpec(kind: .udp(rate: 6_000_000_000), src: i % 2, dst: 2, bytes: 300_000, payload: 1000, srcPort: UInt16(10_000 + 7 * i))
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-int-emu-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var options = EmulatorOptions()
        options.pcapDirectory = dir
        let emu = try Emulator(Self.topology(flows: flows), options: options, programs: .builtIn)
        try Self.installINT(emu)
        emu.run()
        #expect(emu.pcapErrors.isEmpty)

        var reports: [Report] = []
        let reader = try PcapFileReader(path: (dir as NSString).appendingPathComponent("c-0--leaf2-2.pcapng"))
        try reader.forEach { p in reports.append(try Self.decode(Array(p.bytes))) }
        let h3 = try #require(emu.hosts.first { $0.name == "h3" })
        #expect(reports.count == Int(h3.rxPackets) && reports.count > 1000, "\(reports.count) reports, h3 received \(h3.rxPackets)")
        #expect(reports.map(\.sequence) == (0..<UInt32(reports.count)).map { $0 })
        #expect(reports.allSatisfy { $0.hops.count == 2 && $0.hops[1].node == 11 && [1, 2].contains($0.hops[0].node) })

        var largest: [String: UInt32] = [:]
        for r in reports {
            for h in r.hops {
                let name = Self.nodeIDs.first { $0.value == h.node }!.key
                largest["\(name):\(h.egress)", default: 0] = max(largest["\(name):\(h.egress)", default: 0], h.occupancy)
            }
        }
        print("INT largest queue occupancy per port (bytes): \(largest.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")); \(reports.count) reports")
        // Every queue that carried the flows: leaf1's uplinks and the spines' ports to leaf2.
        #expect(Set(largest.keys) == ["leaf1:3", "leaf1:4", "spine1:2", "spine2:2"])
        for (port, occupancy) in largest {
            let parts = port.split(separator: ":")
            let observed = try #require(emu.ports.first { $0.node == parts[0] && $0.port == UInt16(parts[1])! })
            #expect(Int(occupancy) == observed.maxQueueBytes, "\(port): INT says \(occupancy) bytes, the queue observer \(observed.maxQueueBytes)")
        }
        #expect(largest.values.contains { $0 > 50_000 }, "queues built up: \(largest)")
    }
}
