import Testing
import SluiceIR
import SluiceRuntime
import SluiceTesting
@testable import SluicePrograms

/// Behaviour of `ecmp-router`: single next hops, ECMP groups picked by a CRC-32 of the 5-tuple
/// scaled onto the group size, `(crc[15:0] * count) >> 16` (checked against a bit-by-bit CRC
/// written here), and `ipv4-router`'s drops.
@Suite struct ECMPRouterTests {
    static let switchMAC: MACAddress = "02:00:00:00:0a:01"

    /// Group 1 (4 members) sends member i out of port 10 + i, group 2 (3 members) out of 20 + i.
    static let entries = Fixtures.ecmpGroups + "table_add ipv4_lpm forward 10.0.1.1/32 => 1 08:00:00:00:01:11\n"

    func harness() throws -> SwitchHarness {
        try SwitchHarness(ECMPRouter.program().verified(), entries: Self.entries)
    }

    // MARK: the reference

    /// CRC-32/ISO-HDLC, one bit at a time (reflected polynomial 0xEDB88320, init and final
    /// xor 0xFFFFFFFF), independent of the runtime's table-driven CRC.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 {
                crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1
            }
        }
        return ~crc
    }

    struct Flow: Hashable, CustomStringConvertible {
        var src: IPv4Address, dst: IPv4Address, proto: UInt8, sport: UInt16, dport: UInt16

        /// The 13 bytes the program hashes: srcAddr, dstAddr, protocol, srcPort, dstPort.
        func tuple(portsHashed: Bool = true) -> [UInt8] {
            func be32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - 8 * $0)) } }
            func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(truncatingIfNeeded: v)] }
            let (s, d) = portsHashed ? (sport, dport) : (0, 0)
            return be32(src.value) + be32(dst.value) + [proto] + be16(s) + be16(d)
        }

        /// The member the program must pick: the CRC's low 16 bits scaled onto 0 ..< count.
        func member(count: UInt32, portsHashed: Bool = true) -> UInt32 {
            ((ECMPRouterTests.crc32(tuple(portsHashed: portsHashed)) & 0xFFFF) * count) >> 16
        }

        func packet(ttl: UInt8 = 64, id: UInt16 = 1, payload: Int = 10) -> Packet {
            let p = Packet.ethernet(dst: "00:00:00:00:00:01", src: "00:00:00:00:00:99")
                .ipv4(src: src, dst: dst, id: id, ttl: ttl)
            let l4 = proto == 6 ? p.tcp(sport: sport, dport: dport) : p.udp(sport: sport, dport: dport)
            return l4.payload(count: payload)
        }

        var description: String { "\(src):\(sport) -> \(dst):\(dport) proto \(proto)" }
    }

    static func randomFlows(_ n: Int, dstNet: UInt32, seed: UInt64) -> [Flow] {
        var rng = SplitMix64(seed: seed)
        var flows: [Flow] = [], seen: Set<Flow> = []
        while flows.count < n {
            let f = Flow(src: IPv4Address(value: 0x0A00_0000 | UInt32.random(in: 0...0xFFFF, using: &rng)),
                         dst: IPv4Address(value: dstNet | UInt32.random(in: 1...254, using: &rng)),
                         proto: Bool.random(using: &rng) ? 6 : 17,
                         sport: UInt16.random(in: 1024...65535, using: &rng), dport: UInt16.random(in: 1...1023, using: &rng))
            if seen.insert(f).inserted { flows.append(f) }
        }
        return flows
    }

    /// Send one packet and return the port it left by (exactly one output is required).
    func route(_ h: SwitchHarness, _ p: Packet) throws -> UInt16 {
        try h.send(p.bytes, port: 0)
        let out = h.drain()
        try #require(out.count == 1, "expected one output, got \(out.map(\.port))")
        return out[0].port
    }

    @Test func referenceCRCIsCRC32ISOHDLC() {
        #expect(Self.crc32(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(Self.crc32(Array("123456789".utf8)) == CRC32.compute(Array("123456789".utf8)))
    }

    // MARK: forwarding

    @Test func forwardRewritesMACsDecrementsTTLAndFixesChecksum() throws {
        let h = try harness()
        let input = Packet.ethernet(dst: "00:00:00:00:00:01", src: "00:00:00:00:00:99")
            .ipv4(src: "10.0.9.9", dst: "10.0.1.1", ttl: 64)
            .tcp(sport: 40000, dport: 80)
            .payload(count: 10)
        try h.send(input.bytes, port: 0)
        let expected = Packet.ethernet(dst: "08:00:00:00:01:11", src: Self.switchMAC)
            .ipv4(src: "10.0.9.9", dst: "10.0.1.1", ttl: 63)
            .tcp(sport: 40000, dport: 80)
            .payload(count: 10)
        try h.expect(expected.bytes, port: 1)
        try h.expectNoOtherPackets()
        // The exact bytes that matter, spelled out: MACs, TTL 63 and the recomputed checksum.
        let out = expected.bytes
        #expect(Array(out[0..<12]) == [0x08, 0, 0, 0, 0x01, 0x11, 0x02, 0, 0, 0, 0x0a, 0x01])
        #expect(out[22] == 63)
        #expect(parse(out).ipv4?.checksumValid == true)
        let inputSum = UInt16(input.bytes[24]) << 8 | UInt16(input.bytes[25])
        let outputSum = UInt16(out[24]) << 8 | UInt16(out[25])
        #expect(outputSum == inputSum &+ 0x0100, "TTL - 1 raises the ones'-complement checksum by 0x0100")
    }

    @Test func ecmpMemberIsRewrittenLikeAForward() throws {
        let h = try harness()
        let f = Flow(src: "10.0.9.9", dst: "10.0.2.7", proto: 17, sport: 1234, dport: 80)
        let m = f.member(count: 4)
        try h.send(f.packet().bytes, port: 0)
        let expected = Packet.ethernet(dst: MACAddress(value: 0x0800_0000_0A00 | UInt64(m)), src: Self.switchMAC)
            .ipv4(src: f.src, dst: f.dst, ttl: 63)
            .udp(sport: f.sport, dport: f.dport)
            .payload(count: 10)
        try h.expect(expected.bytes, port: 10 + UInt16(m))
        try h.expectNoOtherPackets()
    }

    @Test func theSwitchMACIsZeroUntilSet() throws {
        let h = try SwitchHarness(ECMPRouter.program().verified(),
                                  entries: "table_add ipv4_lpm forward 10.0.1.1/32 => 1 08:00:00:00:01:11")
        try h.send(Flow(src: "10.0.9.9", dst: "10.0.1.1", proto: 17, sport: 1, dport: 2).packet().bytes, port: 0)
        let out = h.drain()
        #expect(out.map(\.port) == [1])
        #expect(parse(out[0].bytes).ethernet?.src == .zero)
    }

    // MARK: hashing

    @Test func aFlowAlwaysTakesTheSameMember() throws {
        let h = try harness()
        let f = Flow(src: "10.0.9.9", dst: "10.0.2.7", proto: 6, sport: 40001, dport: 443)
        var ports: Set<UInt16> = []
        for i in 0..<50 {
            // Different IP ids, TTLs and payloads: only the 5-tuple counts.
            ports.insert(try route(h, f.packet(ttl: UInt8(10 + i), id: UInt16(i), payload: i)))
        }
        #expect(ports == [10 + UInt16(f.member(count: 4))])
    }

    @Test func flowsSpreadOverAFourMemberGroup() throws {
        let h = try harness()
        let flows = Self.randomFlows(1000, dstNet: 0x0A00_0200, seed: testSeed("ECMPRouterTests.flowsSpreadOverAFourMemberGroup"))
        var perPort: [UInt16: Int] = [:]
        for f in flows { perPort[try route(h, f.packet()), default: 0] += 1 }
        #expect(Set(perPort.keys) == [10, 11, 12, 13])
        for (port, n) in perPort.sorted(by: { $0.key < $1.key }) {
            #expect((150...350).contains(n), "port \(port) got \(n) of 1000 flows (\(perPort))")
        }
    }

    /// Flows that differ only in a few low bits of the source port (consecutive ephemeral
    /// ports) must spread too: the CRC bits that feed the choice are the ones that vary.
    @Test func consecutiveSourcePortsSpreadOverAllMembers() throws {
        let h = try harness()
        for proto: UInt8 in [6, 17] {
            var perPort: [UInt16: Int] = [:]
            for i in 0..<64 {
                let f = Flow(src: "10.0.0.1", dst: "10.0.2.3", proto: proto, sport: 49152 + UInt16(i), dport: 443)
                perPort[try route(h, f.packet()), default: 0] += 1
            }
            #expect(Set(perPort.keys) == [10, 11, 12, 13] && perPort.values.allSatisfy { (8...24).contains($0) },
                    "protocol \(proto): 64 consecutive source ports took \(perPort.sorted { $0.key < $1.key })")
        }
    }

    @Test(arguments: [(0x0A00_0200, 4), (0x0A00_0300, 3)] as [(UInt32, UInt32)])
    func theMemberIsTheCRC32OfThe5TupleScaledOntoTheGroup(dstNet: UInt32, count: UInt32) throws {
        let h = try harness()
        let base: UInt16 = count == 4 ? 10 : 20
        let flows = Self.randomFlows(300, dstNet: dstNet, seed: testSeed("ECMPRouterTests.theMemberIsTheCRC32 count \(count)"))
        for f in flows {
            let port = try route(h, f.packet())
            #expect(port == base + UInt16(f.member(count: count)), "\(f)")
        }
    }

    @Test func tcpAndUDPPortsAreBothHashed() throws {
        let h = try harness()
        // For each protocol, flows that differ only in the source port, and whose reference
        // members differ: a program that ignored the ports (or the protocol) would send them
        // to one member.
        for proto: UInt8 in [6, 17] {
            let flows = (0..<64).map { Flow(src: "10.0.9.9", dst: "10.0.3.3", proto: proto, sport: 5000 + UInt16($0), dport: 80) }
            var seen: Set<UInt16> = []
            for f in flows {
                let port = try route(h, f.packet())
                #expect(port == 20 + UInt16(f.member(count: 3)), "\(f)")
                seen.insert(port)
            }
            #expect(seen == [20, 21, 22], "protocol \(proto): 64 source ports reached \(seen.sorted())")
        }
        // Same addresses and ports, TCP vs UDP: the protocol is part of the hash.
        let differ = (0..<64).filter { i in
            let t = Flow(src: "10.0.9.9", dst: "10.0.3.3", proto: 6, sport: 7000 + UInt16(i), dport: 80)
            var u = t
            u.proto = 17
            return t.member(count: 3) != u.member(count: 3)
        }
        #expect(!differ.isEmpty)
        for i in differ.prefix(8) {
            let t = Flow(src: "10.0.9.9", dst: "10.0.3.3", proto: 6, sport: 7000 + UInt16(i), dport: 80)
            var u = t
            u.proto = 17
            #expect(try route(h, t.packet()) != route(h, u.packet()))
        }
    }

    @Test func laterFragmentsHashPortsAsZero() throws {
        let h = try harness()
        var checked = 0
        for i in 0..<64 {
            let f = Flow(src: "10.0.9.9", dst: "10.0.3.3", proto: 17, sport: 6000 + UInt16(i), dport: 53)
            // Only flows where hashing the ports would pick another member tell the cases apart.
            guard f.member(count: 3) != f.member(count: 3, portsHashed: false) else { continue }
            checked += 1
            // A later fragment: its first payload bytes look like the flow's ports but are data.
            let later = Packet.ethernet(dst: "00:00:00:00:00:01", src: "00:00:00:00:00:99")
                .ipv4(src: f.src, dst: f.dst, id: 7, flags: [], fragmentOffset: 100, protocol: 17)
                .payload([UInt8(f.sport >> 8), UInt8(f.sport & 0xFF), 0, 53] + Array(repeating: 0xAB, count: 20))
            #expect(try route(h, later) == 20 + UInt16(f.member(count: 3, portsHashed: false)), "\(f), offset 100")
            // The first fragment (more-fragments set, offset 0) has the UDP header: ports count.
            let first = Packet.ethernet(dst: "00:00:00:00:00:01", src: "00:00:00:00:00:99")
                .ipv4(src: f.src, dst: f.dst, id: 7, flags: .moreFragments, protocol: 17)
                .udp(sport: f.sport, dport: f.dport, length: 200)
                .payload(count: 16)
            #expect(try route(h, first) == 20 + UInt16(f.member(count: 3)), "\(f), first fragment")
        }
        #expect(checked >= 20)
    }

    @Test func otherProtocolsHashPortsAsZero() throws {
        let h = try harness()
        for i in 0..<32 {
            let f = Flow(src: IPv4Address(value: 0x0A00_0900 + UInt32(i)), dst: "10.0.3.3", proto: 1, sport: 0, dport: 0)
            let icmp = Packet.ethernet(dst: "00:00:00:00:00:01", src: "00:00:00:00:00:99")
                .ipv4(src: f.src, dst: f.dst, protocol: 1)
                .payload([8, 0, 0xF7, 0xFF, 0x12, 0x34, 0x56, 0x78])
            #expect(try route(h, icmp) == 20 + UInt16(f.member(count: 3)), "\(f)")
        }
    }

    // MARK: drops

    @Test func dropsTTLOneBadChecksumOptionsNoRouteAndEmptyGroups() throws {
        let h = try harness()
        let f = Flow(src: "10.0.9.9", dst: "10.0.2.7", proto: 17, sport: 1234, dport: 80)
        try h.expectDropped(f.packet(ttl: 1).bytes, port: 0)
        try h.expectDropped(f.packet(ttl: 0).bytes, port: 0)
        var direct = f
        direct.dst = "10.0.1.1"
        try h.expectDropped(direct.packet(ttl: 1).bytes, port: 0)
        var bad = f.packet().bytes
        bad[24] ^= 0xFF
        try h.expectDropped(bad, port: 0)
        let options = Packet.ethernet(dst: "00:00:00:00:00:01", src: "00:00:00:00:00:99")
            .ipv4(src: f.src, dst: f.dst, options: [1, 1, 1, 0]).udp(sport: 1, dport: 2)
        try h.expectDropped(options.bytes, port: 0)
        var noRoute = f
        noRoute.dst = "192.168.0.1"
        try h.expectDropped(noRoute.packet().bytes, port: 0)
        var emptyGroup = f
        emptyGroup.dst = "10.0.4.4"       // ecmp(3, count 0)
        try h.expectDropped(emptyGroup.packet().bytes, port: 0)
        let arp = Packet.ethernet(dst: .broadcast, src: "00:00:00:00:00:99")
            .arp(senderMAC: "00:00:00:00:00:99", senderIP: "10.0.9.9", targetIP: "10.0.1.1")
        try h.expectDropped(arp.bytes, port: 0)
        #expect(h.pipeline.stats.ingressDrops == 8)
        // TTL 2 still leaves, with 1.
        try h.send(f.packet(ttl: 2).bytes, port: 0)
        let out = h.drain()
        #expect(out.count == 1)
        #expect(parse(out[0].bytes).ipv4?.ttl == 1)
        #expect(parse(out[0].bytes).ipv4?.checksumValid == true)
    }

    @Test func aMissInTheNextHopTableDrops() throws {
        let h = try SwitchHarness(ECMPRouter.program().verified(), entries: """
            table_add ipv4_lpm ecmp 10.0.2.0/24 => 9 2
            table_add ecmp_nhop forward 9 0 => 5 08:00:00:00:0c:00
            """)
        var ports: [UInt16] = []
        for i in 0..<40 {
            let f = Flow(src: "10.0.9.9", dst: "10.0.2.7", proto: 17, sport: 2000 + UInt16(i), dport: 80)
            try h.send(f.packet().bytes, port: 0)
            let out = h.drain()
            #expect(out.map(\.port) == (f.member(count: 2) == 0 ? [5] : []))
            ports += out.map(\.port)
        }
        #expect(!ports.isEmpty && ports.count < 40)
    }

    @Test func truncatedPacketsAreRejected() throws {
        let h = try harness()
        let full = Flow(src: "10.0.9.9", dst: "10.0.2.7", proto: 6, sport: 1, dport: 2).packet().bytes
        // Ethernet alone, a short IPv4 header, IPv4 with part of the ports.
        for n in [0, 13, 20, 33, 35, 37] {
            try h.expectDropped(Array(full[..<n]), port: 0)
        }
        #expect(h.pipeline.stats.parserDrops == 6)
    }
}
