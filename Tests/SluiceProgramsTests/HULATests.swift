import Testing
import SluiceIR
import SluiceRuntime
import SluiceTesting
@testable import SluicePrograms

/// Behaviour of `hula`: ToRs turn agent datagrams into probes, spines raise a probe's
/// utilization to their port's and spread it, ToRs keep the best hop per ToR (better, refresh,
/// aging), and new flowlets follow the best hop.
@Suite struct HULATests {
    static let torMAC: MACAddress = "02:00:00:00:0a:01"
    /// ToR 1: hosts on ports 1, 2; uplinks 0, 1, 2 on ports 3, 4, 5 (group 1); aging 200 us.
    static let torEntries = """
        table_set_default switch_mac set_switch_mac 02:00:00:00:0a:01
        table_set_default hula_config set_hula 1 200000
        table_add ipv4_lpm forward 10.0.1.1/32 => 1 08:00:00:00:01:01
        table_add ipv4_lpm ecmp 10.0.2.0/24 => 1 3
        table_add ipv4_lpm ecmp 10.0.3.0/24 => 1 3
        table_add ecmp_nhop forward 1 0 => 3 08:00:00:00:0a:00
        table_add ecmp_nhop forward 1 1 => 4 08:00:00:00:0a:01
        table_add ecmp_nhop forward 1 2 => 5 08:00:00:00:0a:02
        table_add hula_tor set_dst_tor 10.0.1.0/24 => 1
        table_add hula_tor set_dst_tor 10.0.2.0/24 => 2
        register_write hula_uplink 3 1
        register_write hula_uplink 4 2
        register_write hula_uplink 5 3
        register_write hula_member 16 1
        register_write hula_member 17 2
        register_write hula_member 18 3
        mc_group_set 18517 3 4 5
        """
    /// A spine: ToRs on ports 1 and 2.
    static let spineEntries = """
        table_set_default switch_mac set_switch_mac 02:00:00:00:0b:01
        mc_group_set 18517 1 2
        """

    func tor() throws -> SwitchHarness { try SwitchHarness(HULA.program(slots: 1024, tors: 64).verified(), entries: Self.torEntries) }
    func spine() throws -> SwitchHarness { try SwitchHarness(HULA.program(slots: 1024, tors: 64).verified(), entries: Self.spineEntries) }

    static func probe(tor: UInt16, util: UInt8, checksum: UInt16 = 0) -> [UInt8] {
        Packet.ethernet(dst: torMAC, src: "00:00:00:00:00:01")
            .ipv4(src: "10.0.1.1", dst: "255.255.255.255", ttl: 64)
            .udp(sport: HULA.probePort, dport: HULA.probePort, checksum: checksum)
            .payload([UInt8(tor >> 8), UInt8(tor & 0xFF), util, 0]).bytes
    }

    typealias Flow = ECMPRouterTests.Flow

    @Test func theToRTurnsTheAgentsDatagramIntoAProbeOnEveryUplink() throws {
        let h = try tor()
        try h.send(Self.probe(tor: 0, util: 0, checksum: 0x1234), port: 1, timestamp: 1_000_000)
        for port: UInt16 in [3, 4, 5] { try h.expect(Self.probe(tor: 1, util: 0), port: port) }
        try h.expectNoOtherPackets()
    }

    @Test func aSpineRaisesTheUtilizationToItsPortsAndSpreadsTheProbe() throws {
        let t: UInt64 = 3_000_000
        // Port 1's estimate: an 8-bit metric of 100 (X >> (metric shift + 3 - 8)).
        let q = RateEstimator.defaultMetricShift - 5
        for (utilIn, utilOut) in [(UInt8(30), UInt8(100)), (120, 120)] {
            let h = try spine()
            try h.pipeline.writeRegister("dre_bytes", index: 1, 100 << q)
            try h.pipeline.writeRegister("dre_time", index: 1, t)
            try h.send(Self.probe(tor: 1, util: utilIn), port: 1, timestamp: t)
            for port: UInt16 in [1, 2] { try h.expect(Self.probe(tor: 1, util: utilOut), port: port) }
            try h.expectNoOtherPackets()
        }
    }

    @Test func theBestHopIsBetterRefreshedOrAged() throws {
        let h = try tor()
        func entry() throws -> [UInt64] {
            try ["hula_best_hop", "hula_path_util", "hula_updated"].map { try h.pipeline.readRegister($0, index: 2) }
        }
        func probe(util: UInt8, port: UInt16, at t: UInt64, tor: UInt16 = 2) throws {
            try h.send(Self.probe(tor: tor, util: util), port: port, timestamp: t)
            #expect(h.drain().isEmpty, "probes end at the ToR")
        }
        let t: UInt64 = 1_000_000
        try probe(util: 40, port: 4, at: t)
        #expect(try entry() == [2, 40, t], "first probe: uplink 1")
        try probe(util: 60, port: 3, at: t + 10_000)
        #expect(try entry() == [2, 40, t], "worse, another hop, fresh: ignored")
        try probe(util: 20, port: 5, at: t + 20_000)
        #expect(try entry() == [3, 20, t + 20_000], "better: uplink 2")
        try probe(util: 90, port: 5, at: t + 30_000)
        #expect(try entry() == [3, 90, t + 30_000], "from the best hop: refreshed, even upwards")
        try probe(util: 95, port: 3, at: t + 30_000 + 200_000)
        #expect(try entry() == [3, 90, t + 30_000], "worse, not aged yet (exactly the aging time)")
        try probe(util: 99, port: 3, at: t + 30_000 + 200_001)
        #expect(try entry() == [1, 99, t + 230_001], "aged: any probe replaces it")
        try probe(util: 0, port: 4, at: t + 240_000, tor: 1)
        #expect(try h.pipeline.readRegister("hula_best_hop", index: 1) == 0, "its own probe teaches a ToR nothing")
        // The ToR's own uplink counts: a probe of util 10 over a busy port 4 (metric 50).
        try h.pipeline.writeRegister("dre_bytes", index: 4, 50 << (RateEstimator.defaultMetricShift - 5))
        try h.pipeline.writeRegister("dre_time", index: 4, t + 250_000)
        try probe(util: 10, port: 4, at: t + 250_000, tor: 3)
        #expect(try h.pipeline.readRegister("hula_path_util", index: 3) == 50)
    }

    @Test func newFlowletsFollowTheBestHop() throws {
        let h = try tor()
        let flows = ECMPRouterTests.randomFlows(10, dstNet: 0x0A00_0200, seed: 11)
        // No probe yet: the ECMP hash.
        var t: UInt64 = 1_000_000
        for f in flows {
            try h.send(f.packet().bytes, port: 1, timestamp: t)
            #expect(h.drain().map(\.port) == [3 + UInt16(f.member(count: 3))], "\(f)")
            t += 1000
        }
        // A probe makes uplink 2 the best hop to ToR 2; after a gap every flow moves there.
        t += 200_000
        try h.send(Self.probe(tor: 2, util: 5), port: 5, timestamp: t)
        _ = h.drain()
        for f in flows {
            try h.send(f.packet().bytes, port: 1, timestamp: t)
            #expect(h.drain().map(\.port) == [5], "\(f)")
        }
        // The best hop changes; within the flowlet a flow stays, after the timeout it moves.
        try h.send(Self.probe(tor: 2, util: 1), port: 3, timestamp: t + 10_000)
        _ = h.drain()
        try h.send(flows[0].packet().bytes, port: 1, timestamp: t + 20_000)
        #expect(h.drain().map(\.port) == [5])
        try h.send(flows[0].packet().bytes, port: 1, timestamp: t + 20_000 + 100_001)
        #expect(h.drain().map(\.port) == [3])
        // ToR 3 has no best hop: still the hash.
        let other = Flow(src: "10.0.1.1", dst: "10.0.3.3", proto: 17, sport: 5, dport: 6)
        try h.send(other.packet().bytes, port: 1, timestamp: t + 500_000)
        #expect(h.drain().map(\.port) == [3 + UInt16(other.member(count: 3))])
    }
}
