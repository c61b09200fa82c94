import SluiceControlPlane
import Testing
import SluiceIR
import SluiceRuntime
import SluiceTesting
@testable import SluicePrograms

/// Behaviour of `acl-firewall`: 5-tuple rules (ternary addresses and protocol, port ranges)
/// with priorities and per-rule counters, in front of the IPv4 router.
@Suite struct ACLFirewallTests {
    static let routes = """
        table_add ipv4_lpm ipv4_forward 10.0.1.0/24 => 08:00:00:00:01:11 1
        table_add ipv4_lpm ipv4_forward 10.0.2.0/24 => 08:00:00:00:02:22 2
        table_add ipv4_lpm ipv4_forward 0.0.0.0/0 => 08:00:00:00:03:33 3
        """

    /// acl keys: srcAddr (ternary), dstAddr (ternary), protocol (ternary), srcPort (range), dstPort (range).
    static let rules = """
        # deny UDP from 10.0.9.0/24 to port 53
        table_add acl deny 10.0.9.0&&&0xffffff00 0&&&0 17&&&0xff 0->65535 53->53 => 10
        # deny TCP to 10.0.2.0/24, destination ports 1000..2000, from source ports 1024 and up
        table_add acl deny 0&&&0 10.0.2.0&&&0xffffff00 6&&&0xff 1024->65535 1000->2000 => 20
        # deny anything (any protocol, any ports) from 192.168.0.0/16
        table_add acl deny 192.168.0.0&&&0xffff0000 0&&&0 0&&&0 0->65535 0->65535 => 5
        # but allow 192.168.7.0/24 to 10.0.1.1, whatever the protocol
        table_add acl allow 192.168.7.0&&&0xffffff00 10.0.1.1&&&0xffffffff 0&&&0 0->65535 0->65535 => 30
        """

    func harness(_ entries: String = Self.routes + "\n" + Self.rules) throws -> SwitchHarness {
        try SwitchHarness(ACLFirewall.program().verified(), entries: entries)
    }

    static let hostMAC: MACAddress = "00:00:00:00:00:99"
    static let routerMAC: MACAddress = "00:00:00:00:00:01"

    func udp(_ src: IPv4Address, _ dst: IPv4Address, sport: UInt16 = 5000, dport: UInt16 = 80, ttl: UInt8 = 64, dmac: MACAddress = Self.routerMAC) -> Packet {
        Packet.ethernet(dst: dmac, src: Self.hostMAC)
            .ipv4(src: src, dst: dst, ttl: ttl)
            .udp(sport: sport, dport: dport)
            .payload(count: 12)
    }

    func tcp(_ src: IPv4Address, _ dst: IPv4Address, sport: UInt16, dport: UInt16) -> Packet {
        Packet.ethernet(dst: Self.routerMAC, src: Self.hostMAC)
            .ipv4(src: src, dst: dst)
            .tcp(sport: sport, dport: dport)
            .payload(count: 6)
    }

    func icmp(_ src: IPv4Address, _ dst: IPv4Address) -> Packet {
        // ICMP echo request (type 8, code 0), checksum over the message.
        Packet.ethernet(dst: Self.routerMAC, src: Self.hostMAC)
            .ipv4(src: src, dst: dst, protocol: 1)
            .payload([8, 0, 0xF7, 0xFC, 0, 1, 0, 2])
    }

    /// Which port a route sends `dst` to, and the next hop's MAC.
    func route(_ dst: IPv4Address) -> (UInt16, MACAddress) {
        switch dst.value >> 8 {
        case 0x0A0001: (1, "08:00:00:00:01:11")
        case 0x0A0002: (2, "08:00:00:00:02:22")
        default: (3, "08:00:00:00:03:33")
        }
    }

    /// Send and expect the routed packet: MACs rewritten, TTL one less, a valid checksum, and
    /// every other byte as sent.
    func expectRouted(_ h: SwitchHarness, _ p: Packet, port inPort: UInt16 = 0) throws {
        try h.send(p.bytes, port: inPort)
        guard case .ethernet(let eth) = p.layers[0], case .ipv4(var ip) = p.layers[1] else {
            Issue.record("not an IPv4 packet: \(p)")
            return
        }
        let (port, nextHop) = route(ip.dst)
        var expected = p
        expected.layers[0] = .ethernet(.init(dst: nextHop, src: eth.dst))
        ip.ttl -= 1
        ip.checksum = nil
        expected.layers[1] = .ipv4(ip)
        try h.expect(expected.bytes, port: port)
        try h.expectNoOtherPackets()
    }

    func handle(_ h: SwitchHarness, priority: Int) throws -> EntryHandle {
        try #require(try h.pipeline.entries("acl").first { $0.1.priority == priority }?.0)
    }

    // MARK: allow and deny

    @Test func allowedPacketsAreRoutedWithExactBytes() throws {
        let h = try harness()
        let p = udp("10.0.9.9", "10.0.1.1", sport: 1234, dport: 80)
        try h.send(p.bytes, port: 0)
        let expected = Packet.ethernet(dst: "08:00:00:00:01:11", src: Self.routerMAC)
            .ipv4(src: "10.0.9.9", dst: "10.0.1.1", ttl: 63)
            .udp(sport: 1234, dport: 80)
            .payload(count: 12)
        try h.expect(expected.bytes, port: 1)
        try h.expectNoOtherPackets()
        let out = parse(expected.bytes)
        #expect(out.ipv4?.ttl == 63)
        #expect(out.ipv4?.checksumValid == true)
        #expect(out.udp?.checksumValid == true)
    }

    @Test func denyDrops() throws {
        let h = try harness()
        try h.expectDropped(udp("10.0.9.9", "10.0.1.1", dport: 53).bytes, port: 0)
        try h.expectDropped(udp("10.0.9.200", "8.8.8.8", dport: 53).bytes, port: 0)
        try h.expectDropped(tcp("10.0.5.5", "10.0.2.7", sport: 40000, dport: 1500).bytes, port: 0)
        try h.expectDropped(udp("192.168.1.1", "10.0.1.1").bytes, port: 0)
        #expect(h.pipeline.stats.ingressDrops == 4)
        #expect(h.pipeline.stats.sent == 0)
    }

    @Test func ternaryMasksSelectAddressesAndProtocol() throws {
        let h = try harness()
        // Same port 53, but from outside 10.0.9.0/24: allowed.
        try expectRouted(h, udp("10.0.8.9", "10.0.1.1", dport: 53))
        try expectRouted(h, udp("10.0.10.9", "10.0.1.1", dport: 53))
        // TCP to port 53 from 10.0.9.0/24: the rule is UDP only.
        try expectRouted(h, tcp("10.0.9.9", "10.0.1.1", sport: 5000, dport: 53))
        // 192.168.0.0/16 is denied everywhere...
        try h.expectDropped(udp("192.168.255.1", "10.0.2.1").bytes, port: 0)
        try h.expectDropped(tcp("192.168.7.1", "10.0.1.2", sport: 1, dport: 2).bytes, port: 0)
        // ...but 192.168.7.0/24 may reach exactly 10.0.1.1.
        try expectRouted(h, udp("192.168.7.1", "10.0.1.1"))
        try expectRouted(h, tcp("192.168.7.200", "10.0.1.1", sport: 1, dport: 2))
        // 193.168.x.x is outside the /16.
        try expectRouted(h, udp("193.168.7.1", "10.0.1.9"))
    }

    @Test func valueBitsOutsideTheMaskAreIgnored() throws {
        // 10.0.9.77&&&0xffffff00 is 10.0.9.0/24, written carelessly.
        let h = try harness(Self.routes + "\ntable_add acl deny 10.0.9.77&&&0xffffff00 0&&&0 0&&&0 0->65535 0->65535 => 1")
        try h.expectDropped(udp("10.0.9.1", "10.0.1.1").bytes, port: 0)
        try h.expectDropped(udp("10.0.9.254", "10.0.1.1").bytes, port: 0)
        try expectRouted(h, udp("10.0.8.77", "10.0.1.1"))
    }

    @Test func portRangesIncludeBothEnds() throws {
        let h = try harness()
        func probe(sport: UInt16, dport: UInt16) -> Packet { tcp("10.0.5.5", "10.0.2.7", sport: sport, dport: dport) }
        try expectRouted(h, probe(sport: 40000, dport: 999))
        try h.expectDropped(probe(sport: 40000, dport: 1000).bytes, port: 0)
        try h.expectDropped(probe(sport: 40000, dport: 2000).bytes, port: 0)
        try expectRouted(h, probe(sport: 40000, dport: 2001))
        // Source port range 1024..65535.
        try expectRouted(h, probe(sport: 1023, dport: 1500))
        try h.expectDropped(probe(sport: 1024, dport: 1500).bytes, port: 0)
        try h.expectDropped(probe(sport: 65535, dport: 1500).bytes, port: 0)
        // Destination outside 10.0.2.0/24.
        try expectRouted(h, tcp("10.0.5.5", "10.0.3.7", sport: 40000, dport: 1500))
    }

    // MARK: priorities

    static let overlapping = [
        "table_add acl allow 10.0.0.0&&&0xff000000 0&&&0 0&&&0 0->65535 0->65535 => ALLOW",
        "table_add acl deny 10.0.0.0&&&0xffff0000 0&&&0 17&&&0xff 0->65535 80->80 => DENY",
    ]

    /// Both rules match a UDP packet from 10.0.3.3 to port 80; the higher priority decides,
    /// whichever rule was installed first.
    @Test(arguments: [(allow: 20, deny: 10), (allow: 10, deny: 20)], [false, true])
    func higherPriorityWins(priorities: (allow: Int, deny: Int), denyFirst: Bool) throws {
        var lines = Self.overlapping.map {
            $0.replacingOccurrences(of: "ALLOW", with: "\(priorities.allow)").replacingOccurrences(of: "DENY", with: "\(priorities.deny)")
        }
        if denyFirst { lines.reverse() }
        let h = try harness(Self.routes + "\n" + lines.joined(separator: "\n"))
        let both = udp("10.0.3.3", "10.0.1.1", dport: 80)
        if priorities.allow > priorities.deny {
            try expectRouted(h, both)
        } else {
            try h.expectDropped(both.bytes, port: 0)
        }
        // Only the allow rule matches these: always routed.
        try expectRouted(h, udp("10.1.3.3", "10.0.1.1", dport: 80))
        try expectRouted(h, udp("10.0.3.3", "10.0.1.1", dport: 81))
        // The winner, and only the winner, counted the packet.
        let allowCount = try h.pipeline.directCounter(try handle(h, priority: priorities.allow))
        let denyCount = try h.pipeline.directCounter(try handle(h, priority: priorities.deny))
        #expect(allowCount.packets == (priorities.allow > priorities.deny ? 3 : 2))
        #expect(denyCount.packets == (priorities.allow > priorities.deny ? 0 : 1))
    }

    @Test func insertingAHigherPriorityRuleLaterTakesOver() throws {
        let h = try harness(Self.routes)
        let p = udp("10.0.3.3", "10.0.1.1", dport: 80)
        try expectRouted(h, p)  // no rule: default allow
        try h.pipeline.insert("acl", TableEntry([.ternary(0x0A00_0000, mask: 0xFF00_0000), .ternary(0, mask: 0), .ternary(0, mask: 0), .range(0, 0xFFFF), .range(0, 0xFFFF)],
                                                ActionCall("deny"), priority: 1))
        try h.expectDropped(p.bytes, port: 0)
        try h.pipeline.insert("acl", TableEntry([.ternary(0x0A00_0303, mask: 0xFFFF_FFFF), .ternary(0, mask: 0), .ternary(17, mask: 0xFF), .range(0, 0xFFFF), .range(80, 80)],
                                                ActionCall("allow"), priority: 2))
        try expectRouted(h, p)
        try h.expectDropped(udp("10.0.3.4", "10.0.1.1", dport: 80).bytes, port: 0)
    }

    // MARK: counters

    @Test func directCountersCountPacketsAndBytesPerRule() throws {
        let h = try harness()
        let dns1 = udp("10.0.9.9", "10.0.1.1", dport: 53).bytes
        let dns2 = udp("10.0.9.10", "10.0.2.1", dport: 53).payload(count: 100).bytes
        let tcpDeny = tcp("10.0.5.5", "10.0.2.7", sport: 40000, dport: 1500).bytes
        let lan = udp("192.168.1.1", "10.0.1.1").bytes
        let lanAllowed = icmp("192.168.7.1", "10.0.1.1").bytes
        let noRule = udp("10.0.8.8", "10.0.1.1").bytes
        for (p, n) in [(dns1, 3), (dns2, 2), (tcpDeny, 1), (lan, 4), (lanAllowed, 2), (noRule, 5)] {
            for _ in 0..<n { try h.send(p, port: 0) }
        }
        _ = h.drain()
        let expected: [(priority: Int, packets: Int, bytes: Int)] = [
            (10, 5, 3 * dns1.count + 2 * dns2.count),
            (20, 1, tcpDeny.count),
            (5, 4, 4 * lan.count),
            (30, 2, 2 * lanAllowed.count),
        ]
        for e in expected {
            let c = try h.pipeline.directCounter(try handle(h, priority: e.priority))
            #expect(c.packets == UInt64(e.packets), "rule with priority \(e.priority): packets")
            #expect(c.bytes == UInt64(e.bytes), "rule with priority \(e.priority): bytes")
        }
        #expect(h.pipeline.stats.received == 17)
        #expect(h.pipeline.stats.sent == 7)
        #expect(h.pipeline.stats.ingressDrops == 10)
    }

    @Test func countersStartAtZeroAndResetWithTheEntry() throws {
        let h = try harness()
        let hd = try handle(h, priority: 10)
        #expect(try h.pipeline.directCounter(hd) == (0, 0))
        try h.send(udp("10.0.9.9", "10.0.1.1", dport: 53).bytes, port: 0)
        #expect(try h.pipeline.directCounter(hd).packets == 1)
        // A rule installed again starts from zero.
        let entry = try #require(try h.pipeline.entries("acl").first { $0.0 == hd }?.1)
        try h.pipeline.delete(hd)
        let again = try h.pipeline.insert("acl", entry)
        #expect(try h.pipeline.directCounter(again) == (0, 0))
    }

    // MARK: non-TCP/UDP and IPv4 options

    @Test func icmpMatchesRulesWithAFullPortRangeOnly() throws {
        // ICMP has no ports: the port keys are 0, which only full (or 0-including) ranges match.
        let entries = Self.routes + """

            table_add acl deny 10.0.4.0&&&0xffffff00 0&&&0 0&&&0 1->65535 0->65535 => 50
            table_add acl deny 10.0.5.0&&&0xffffff00 0&&&0 1&&&0xff 0->65535 0->65535 => 40
            """
        let h = try harness(entries)
        try h.expectDropped(icmp("10.0.5.1", "10.0.1.1").bytes, port: 0)
        #expect(try h.pipeline.directCounter(try handle(h, priority: 40)).packets == 1)
        // ICMP from elsewhere matches neither rule.
        try expectRouted(h, icmp("10.0.6.1", "10.0.1.1"))
        // Source ports 1..65535 never match ICMP.
        try expectRouted(h, icmp("10.0.4.1", "10.0.1.1"))
        #expect(try h.pipeline.directCounter(try handle(h, priority: 50)).packets == 0)
        // ...but do match UDP from that network.
        try h.expectDropped(udp("10.0.4.1", "10.0.1.1").bytes, port: 0)
        // The protocol-1 rule does not match UDP.
        try expectRouted(h, udp("10.0.5.1", "10.0.1.1"))
    }

    @Test func portsOfLaterFragmentsAreNotRead() throws {
        // A non-first fragment's payload is not a UDP header; the port keys stay 0.
        let h = try harness()
        var frag = udp("10.0.9.9", "10.0.1.1", dport: 53)
        guard case .ipv4(var ip) = frag.layers[1] else {
            Issue.record("layer 1 of the packet should be IPv4, got \(frag.layers[1])")
            return
        }
        ip.fragmentOffset = 10
        frag.layers[1] = .ipv4(ip)
        try expectRouted(h, frag)
    }

    @Test func packetsWithIPv4OptionsAreDroppedByTheRouter() throws {
        let h = try harness()
        // Explicitly allowed by the priority-30 rule, routable, but with options (IHL 6).
        let withOptions = Packet.ethernet(dst: Self.routerMAC, src: Self.hostMAC)
            .ipv4(src: "192.168.7.1", dst: "10.0.1.1", options: [1, 1, 1, 1])
            .udp(sport: 1, dport: 2)
            .payload(count: 8)
        #expect(parse(withOptions.bytes).ipv4?.ihl == 6)
        #expect(parse(withOptions.bytes).ipv4?.checksumValid == true)
        try h.expectDropped(withOptions.bytes, port: 0)
        // The same without options is routed.
        try expectRouted(h, udp("192.168.7.1", "10.0.1.1", sport: 1, dport: 2))
        #expect(h.pipeline.stats.ingressDrops == 1)
    }

    @Test func ttlAndChecksumAreStillChecked() throws {
        let h = try harness()
        try h.expectDropped(udp("10.0.8.8", "10.0.1.1", ttl: 1).bytes, port: 0)
        var bad = udp("10.0.8.8", "10.0.1.1").bytes
        bad[25] ^= 0x01
        try h.expectDropped(bad, port: 0)
        let arp = Packet.ethernet(dst: .broadcast, src: Self.hostMAC).arp(senderMAC: Self.hostMAC, senderIP: "10.0.8.8", targetIP: "10.0.1.1")
        try h.expectDropped(arp.bytes, port: 0)
    }
}
