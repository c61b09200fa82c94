import Testing
import SluiceIR
import SluiceRuntime
import SluiceTesting
@testable import SluicePrograms

/// Behaviour of `ipv4-router`, with the semantics of the p4lang tutorials' basic exercise.
@Suite struct IPv4RouterTests {
    static let entries = """
        # two hosts, as in the tutorial's s1
        table_add ipv4_lpm ipv4_forward 10.0.1.1/32 => 08:00:00:00:01:11 1
        table_add ipv4_lpm ipv4_forward 10.0.2.0/24 => 08:00:00:00:02:22 2
        table_add ipv4_lpm ipv4_forward 10.0.0.0/8 => 08:00:00:00:03:00 3
        """

    func harness() throws -> SwitchHarness {
        try SwitchHarness(IPv4Router.program().verified(), entries: Self.entries)
    }

    func packet(dst: IPv4Address, ttl: UInt8 = 64, dmac: MACAddress = "00:00:00:00:00:01") -> Packet {
        Packet.ethernet(dst: dmac, src: "00:00:00:00:00:99")
            .ipv4(src: "10.0.9.9", dst: dst, ttl: ttl)
            .udp(sport: 1234, dport: 80)
            .payload(count: 10)
    }

    @Test func forwardsRewritesMACsDecrementsTTLAndFixesChecksum() throws {
        let h = try harness()
        try h.send(packet(dst: "10.0.1.1").bytes, port: 0)
        let expected = Packet.ethernet(dst: "08:00:00:00:01:11", src: "00:00:00:00:00:01")
            .ipv4(src: "10.0.9.9", dst: "10.0.1.1", ttl: 63)
            .udp(sport: 1234, dport: 80)
            .payload(count: 10)
        try h.expect(expected.bytes, port: 1)
        try h.expectNoOtherPackets()
        let out = parse(expected.bytes)
        #expect(out.ipv4?.checksumValid == true)
    }

    @Test func longestPrefixWins() throws {
        let h = try harness()
        try h.send(packet(dst: "10.0.2.7").bytes, port: 0)
        try h.send(packet(dst: "10.0.3.7").bytes, port: 0)
        let outs = h.drain()
        #expect(outs.map(\.port) == [2, 3])
        for o in outs { #expect(parse(o.bytes).ipv4?.checksumValid == true) }
        #expect(parse(outs[0].bytes).ethernet?.dst == "08:00:00:00:02:22")
    }

    @Test func dropsWithoutRouteTTLAndNonIPv4() throws {
        let h = try harness()
        try h.expectDropped(packet(dst: "192.168.0.1").bytes, port: 0)
        try h.expectDropped(packet(dst: "10.0.1.1", ttl: 1).bytes, port: 0)
        try h.expectDropped(packet(dst: "10.0.1.1", ttl: 0).bytes, port: 0)
        let arp = Packet.ethernet(dst: .broadcast, src: "00:00:00:00:00:99")
            .arp(senderMAC: "00:00:00:00:00:99", senderIP: "10.0.9.9", targetIP: "10.0.1.1")
        try h.expectDropped(arp.bytes, port: 0)
        var bad = packet(dst: "10.0.1.1").bytes
        bad[24] ^= 0xFF  // corrupt the header checksum
        try h.expectDropped(bad, port: 0)
        #expect(h.pipeline.stats.ingressDrops == 5)
    }

    @Test func ttlTwoLeavesWithOne() throws {
        let h = try harness()
        try h.send(packet(dst: "10.0.1.1", ttl: 2).bytes, port: 0)
        let out = h.drain()
        #expect(out.count == 1)
        #expect(parse(out[0].bytes).ipv4?.ttl == 1)
        #expect(parse(out[0].bytes).ipv4?.checksumValid == true)
    }

    @Test func truncatedPacketsAreRejectedAndCounted() throws {
        let h = try harness()
        let full = packet(dst: "10.0.1.1").bytes
        for n in [0, 1, 13, 14, 20, 33] {
            try h.expectDropped(Array(full[..<n]), port: 0)
        }
        // 14..33 bytes: Ethernet parses, IPv4 is too short -> parser reject.
        #expect(h.pipeline.stats.parserDrops == 6)
    }
}
