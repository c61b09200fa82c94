import Testing
import SluiceIR
import SluiceRuntime
import SluiceTesting
@testable import SluicePrograms

/// Behaviour of `conga`: the overlay added by the source leaf and removed by the destination
/// leaf (exact bytes), the rate estimator's lazy decay (exact register values), spines raising
/// `ce`, and leaves choosing the uplink of least `max(local, remote)` congestion.
@Suite struct CONGATests {
    static let leafMAC: MACAddress = "02:00:00:00:0a:01"
    /// Leaf 1: hosts on ports 1 and 2 (10.0.1.1, 10.0.1.2), uplinks 0 ... 3 on ports 3 ... 6 (group 1).
    static let leafEntries = """
        table_set_default switch_mac set_switch_mac 02:00:00:00:0a:01
        table_set_default conga_config set_conga 1 4 500000
        table_add ipv4_lpm forward 10.0.1.1/32 => 1 08:00:00:00:01:01
        table_add ipv4_lpm forward 10.0.1.2/32 => 2 08:00:00:00:01:02
        table_add ipv4_lpm ecmp 10.0.2.0/24 => 1 4
        table_add ecmp_nhop forward 1 0 => 3 08:00:00:00:0a:00
        table_add ecmp_nhop forward 1 1 => 4 08:00:00:00:0a:01
        table_add ecmp_nhop forward 1 2 => 5 08:00:00:00:0a:02
        table_add ecmp_nhop forward 1 3 => 6 08:00:00:00:0a:03
        table_add conga_leaf set_dst_leaf 10.0.1.0/24 => 1
        table_add conga_leaf set_dst_leaf 10.0.2.0/24 => 2
        register_write conga_uplink 3 1
        register_write conga_uplink 4 2
        register_write conga_uplink 5 3
        register_write conga_uplink 6 4
        register_write conga_member_port 16 3
        register_write conga_member_port 17 4
        register_write conga_member_port 18 5
        register_write conga_member_port 19 6
        """
    /// A spine: leaf 1 on port 1, leaf 2 on port 2 (default config: leaf 0).
    static let spineEntries = """
        table_set_default switch_mac set_switch_mac 02:00:00:00:0b:01
        table_add ipv4_lpm forward 10.0.1.0/24 => 1 02:00:00:00:0a:01
        table_add ipv4_lpm forward 10.0.2.0/24 => 2 02:00:00:00:0a:02
        """

    func leaf() throws -> SwitchHarness { try SwitchHarness(CONGA.program(slots: 1024).verified(), entries: Self.leafEntries) }
    func spine() throws -> SwitchHarness { try SwitchHarness(CONGA.program(slots: 1024).verified(), entries: Self.spineEntries) }

    typealias Flow = ECMPRouterTests.Flow

    /// `conga_t`, packed here bit by bit from the documented layout.
    struct Overlay {
        var lbTag: UInt8 = 0, ce: UInt8 = 0, fbLbTag: UInt8 = 0, fbMetric: UInt8 = 0, srcLeaf: UInt16 = 0
        var bytes: [UInt8] {
            let bits = UInt64(lbTag) << 44 | UInt64(ce) << 41 | UInt64(fbLbTag) << 37 | UInt64(fbMetric) << 34
                | UInt64(srcLeaf) << 16 | 17 << 8
            return (0..<6).map { UInt8(truncatingIfNeeded: bits >> (40 - 8 * $0)) }
        }
    }

    static func frame(_ f: Flow, dst: MACAddress = "00:00:00:00:00:01", src: MACAddress = "00:00:00:00:00:99", ttl: UInt8 = 64) -> Packet {
        Packet.ethernet(dst: dst, src: src).ipv4(src: f.src, dst: f.dst, ttl: ttl).udp(sport: f.sport, dport: f.dport).payload(count: 10)
    }

    /// `frame` with the overlay between IPv4 (protocol 253, total length + 6, its checksum
    /// computed by the packet builder) and UDP (unchanged, checksum included).
    static func encapsulated(_ f: Flow, _ o: Overlay, dst: MACAddress = "00:00:00:00:00:01", src: MACAddress = "00:00:00:00:00:99", ttl: UInt8 = 64) -> [UInt8] {
        let udp = Array(frame(f, dst: dst, src: src, ttl: ttl).bytes[34...])
        return Packet.ethernet(dst: dst, src: src).ipv4(src: f.src, dst: f.dst, ttl: ttl, protocol: 253).payload(o.bytes + udp).bytes
    }

    static let toLeaf2 = Flow(src: "10.0.1.1", dst: "10.0.2.7", proto: 17, sport: 0xC001, dport: 4791)

    func out(_ h: SwitchHarness) throws -> (port: UInt16, bytes: [UInt8]) {
        let o = h.drain()
        try #require(o.count == 1, "expected one output, got \(o.map(\.port))")
        return o[0]
    }

    // MARK: the overlay

    @Test func theSourceLeafAddsTheOverlayWithTagFeedbackAndLeaf() throws {
        let h = try leaf()
        let f = Self.toLeaf2, t: UInt64 = 1_000_000
        try h.pipeline.writeRegister("conga_from_leaf", index: 2 << 4 | 0, 5)
        try h.pipeline.writeRegister("conga_from_leaf_time", index: 2 << 4 | 0, t - 500_000)
        try h.pipeline.writeRegister("conga_from_leaf", index: 2 << 4 | 1, 3)
        try h.pipeline.writeRegister("conga_from_leaf_time", index: 2 << 4 | 1, t - 100_000)
        // Nothing is congested: the scan's pseudo-random start wins (as flowlet's draw).
        let m = FlowletTests.newMember(f, at: t)
        try h.send(Self.frame(f).bytes, port: 1, timestamp: t)
        let expected = Self.encapsulated(f, Overlay(lbTag: UInt8(m), ce: 0, fbLbTag: 0, fbMetric: 5, srcLeaf: 1),
                                         dst: MACAddress(value: 0x0800_0000_0A00 | UInt64(m)), src: Self.leafMAC, ttl: 63)
        try h.expect(expected, port: 3 + m)
        try h.expectNoOtherPackets()
        #expect(expected.count == Self.frame(f).bytes.count + CONGA.headerBytes)
        #expect(expected[23] == 253 && Array(expected[16..<18]) == [0, 20 + 6 + 8 + 10], "protocol 253, total length + 6")
        #expect(Array(expected[34..<40]) == [UInt8(m) << 4, 0x14, 0x00, 0x01, 17, 0x00])
        // The next packet feeds back the next uplink's entry (round robin), same flowlet.
        try h.send(Self.frame(f).bytes, port: 1, timestamp: t + 1)
        let second = try out(h)
        #expect(second.port == 3 + m)
        #expect(second.bytes[34] & 1 == 0 && second.bytes[35] >> 5 == 1, "fb_lb_tag 1")
        #expect((second.bytes[35] >> 2) & 7 == 3, "fb_metric 3")
        // Two more: uplink 2 and 3 (never learned: 0), then uplink 0 again, now older than the
        // age (500 us and 4 ns): fed back as 0.
        for (i, tag) in [2, 3, 0].enumerated() {
            try h.send(Self.frame(f).bytes, port: 1, timestamp: t + 2 + UInt64(i + 1))
            let o = try out(h)
            #expect(o.bytes[34] & 1 == UInt8(tag >> 3) && o.bytes[35] >> 5 == UInt8(tag & 7), "fb_lb_tag \(tag)")
            #expect((o.bytes[35] >> 2) & 7 == 0, "fb_metric of uplink \(tag): 0")
        }
    }

    /// `fb_lb_tag` names one of the destination leaf's uplinks (its LBTag), so the round robin
    /// goes over that leaf's uplink count (`conga_leaf_uplinks`), not this leaf's: leaf 2 with
    /// three uplinks (one failed) hears about 0, 1, 2, 0, ... and never about a fourth.
    @Test func feedbackGoesRoundTheDestinationLeafsUplinks() throws {
        let h = try SwitchHarness(CONGA.program(slots: 1024).verified(), entries: Self.leafEntries + "\nregister_write conga_leaf_uplinks 2 3")
        for (i, tag) in [0, 1, 2, 0, 1, 2, 0].enumerated() {
            try h.send(Self.frame(Self.toLeaf2).bytes, port: 1, timestamp: 1_000_000 + UInt64(i))
            let o = try out(h)
            #expect(o.bytes[34] & 1 == UInt8(tag >> 3) && o.bytes[35] >> 5 == UInt8(tag & 7), "packet \(i): fb_lb_tag \(tag)")
        }
    }

    @Test func theDestinationLeafLearnsAndRemovesTheOverlay() throws {
        let h = try leaf()
        let f = Flow(src: "10.0.2.7", dst: "10.0.1.2", proto: 17, sport: 0xC002, dport: 4791)
        let o = Overlay(lbTag: 2, ce: 5, fbLbTag: 1, fbMetric: 6, srcLeaf: 2)
        try h.send(Self.encapsulated(f, o, dst: Self.leafMAC, src: "02:00:00:00:0b:01"), port: 4, timestamp: 1_000_000)
        let expected = Self.frame(f, dst: "08:00:00:00:01:02", src: Self.leafMAC, ttl: 63)
        try h.expect(expected.bytes, port: 2)
        try h.expectNoOtherPackets()
        #expect(try h.pipeline.readRegister("conga_from_leaf", index: 2 << 4 | 2) == 5)
        #expect(try h.pipeline.readRegister("conga_to_leaf", index: 2 << 4 | 1) == 6)
        #expect(try h.pipeline.readRegister("conga_from_leaf_time", index: 2 << 4 | 2) == 1_000_000)
        #expect(try h.pipeline.readRegister("conga_to_leaf_time", index: 2 << 4 | 1) == 1_000_000)
        // Nothing else was learned.
        for i in 0..<(64 * 16) where i != 2 << 4 | 2 { #expect(try h.pipeline.readRegister("conga_from_leaf", index: i) == 0) }
    }

    @Test func trafficWithinTheLeafIsNotEncapsulated() throws {
        let h = try leaf()
        let f = Flow(src: "10.0.1.1", dst: "10.0.1.2", proto: 17, sport: 1, dport: 2)
        try h.send(Self.frame(f).bytes, port: 1, timestamp: 1000)
        try h.expect(Self.frame(f, dst: "08:00:00:00:01:02", src: Self.leafMAC, ttl: 63).bytes, port: 2)
    }

    // MARK: the rate estimator

    @Test func theEstimatorHalvesOncePerWholePeriodAndKeepsThePhase() throws {
        let h = try leaf()
        let f = Flow(src: "10.0.1.2", dst: "10.0.1.1", proto: 17, sport: 1, dport: 2)
        let len = UInt64(Self.frame(f).bytes.count)
        let period: UInt64 = 1 << RateEstimator.defaultPeriodShift
        func send(_ t: UInt64) throws -> (UInt64, UInt64) {
            try h.send(Self.frame(f).bytes, port: 2, timestamp: t)
            _ = h.drain()
            return (try h.pipeline.readRegister("dre_bytes", index: 1), try h.pipeline.readRegister("dre_time", index: 1))
        }
        let t0: UInt64 = 10_000_000
        #expect(try send(t0) == (len, t0), "first packet: the bytes, now")
        #expect(try send(t0 + 1000) == (2 * len, t0), "within the period: added, no decay")
        let t2 = t0 + 3 * period + 5
        #expect(try send(t2) == ((2 * len) >> 3 + len, t0 + 3 * period), "three periods: halved three times, phase kept")
        let t3 = t2 + 40 * period
        #expect(try send(t3) == (len, t3), "after more than 31 periods nothing is left")
    }

    // MARK: spines

    @Test func aSpineRaisesCEToTheEgressPortsMetric() throws {
        let f = Flow(src: "10.0.1.1", dst: "10.0.2.7", proto: 17, sport: 0xC001, dport: 4791)
        let t: UInt64 = 2_000_000
        let overlay = Overlay(lbTag: 3, ce: 2, fbLbTag: 1, fbMetric: 4, srcLeaf: 1)
        // (X before, periods since, rate shift, ce in) -> ce out; metric = min(7, X' >> (q - shift)).
        let q = RateEstimator.defaultMetricShift
        let cases: [(UInt64, UInt64, UInt64, UInt8, UInt8)] = [
            (5 << q, 0, 0, 2, 5),       // 5: above the packet's 2
            (5 << q, 0, 0, 6, 6),       // below: unchanged
            (5 << q, 1, 0, 2, 2),       // halved first: 2.5 -> 2
            (5 << q, 0, 2, 2, 7),       // a quarter-rate port: 20 -> 7
            (0, 0, 0, 0, 0),
        ]
        for (x, periods, shift, ceIn, ceOut) in cases {
            let h = try spine()
            try h.pipeline.writeRegister("dre_bytes", index: 2, x)
            try h.pipeline.writeRegister("dre_time", index: 2, t - periods * (1 << RateEstimator.defaultPeriodShift))
            try h.pipeline.writeRegister("dre_rate_shift", index: 2, shift)
            var input = overlay, output = overlay
            input.ce = ceIn
            output.ce = ceOut
            try h.send(Self.encapsulated(f, input, dst: "02:00:00:00:0b:01", src: Self.leafMAC), port: 1, timestamp: t)
            let expected = Self.encapsulated(f, output, dst: "02:00:00:00:0a:02", src: "02:00:00:00:0b:01", ttl: 63)
            try h.expect(expected, port: 2)
            try h.expectNoOtherPackets()
        }
    }

    // MARK: choosing

    /// Feedback from leaf 2 says which of leaf 1's uplinks are congested towards it; every new
    /// flowlet takes the least congested one, and moves when the feedback changes, only after a
    /// gap above the timeout.
    @Test func feedbackSteersNewFlowletsToTheLeastCongestedUplink() throws {
        let h = try leaf()
        let back = Flow(src: "10.0.2.7", dst: "10.0.1.2", proto: 17, sport: 0xC002, dport: 4791)
        func feedback(_ metrics: [UInt8], at t: UInt64) throws {
            for (u, m) in metrics.enumerated() {
                try h.send(Self.encapsulated(back, Overlay(lbTag: 0, ce: 0, fbLbTag: UInt8(u), fbMetric: m, srcLeaf: 2), dst: Self.leafMAC),
                           port: 3, timestamp: t)
                _ = h.drain()
            }
        }
        try feedback([6, 6, 1, 6], at: 1_900_000)
        let flows = ECMPRouterTests.randomFlows(12, dstNet: 0x0A00_0200, seed: 3).map { Flow(src: "10.0.1.1", dst: $0.dst, proto: 17, sport: $0.sport, dport: 4791) }
        var t: UInt64 = 2_000_000
        for f in flows {
            try h.send(Self.frame(f).bytes, port: 1, timestamp: t)
            #expect(try out(h).port == 5, "\(f): uplink 2 has metric 1, the others 6")
            t += 1000
        }
        // The path through uplink 2 fills up, uplink 0 empties.
        try feedback([0, 6, 7, 6], at: t)
        let f = flows[0]
        try h.send(Self.frame(f).bytes, port: 1, timestamp: t + 10_000)
        #expect(try out(h).port == 5, "within the flowlet: stays (no reordering)")
        try h.send(Self.frame(f).bytes, port: 1, timestamp: t + 10_000 + 100_001)
        #expect(try out(h).port == 3, "a new flowlet takes uplink 0")
        // Uplink 0 fills up too (7); the others were last heard of at `t`. Once that is more
        // than the age (500 us) ago they count as 0 again.
        try feedback([7], at: t + 200_000)
        for (at, metrics) in [(t + 400_000, [7, 6, 7, 6]), (t + 600_000, [7, 0, 0, 0])] {
            try h.send(Self.frame(f).bytes, port: 1, timestamp: at)
            let start = Int(FlowletTests.newMember(f, at: at))
            #expect(try out(h).port == 3 + UInt16(Self.choice(metrics, start: start)), "metrics \(metrics), scan from \(start)")
        }
    }

    /// The documented choice: the least metric, ties to the first in scan order from `start`.
    static func choice(_ metrics: [Int], start: Int) -> Int {
        let order = (0..<metrics.count).map { (start + $0) % metrics.count }
        return order.min { metrics[$0] < metrics[$1] || (metrics[$0] == metrics[$1] && order.firstIndex(of: $0)! < order.firstIndex(of: $1)!) }!
    }

    /// Four flows start at the same instant with every uplink idle and no remote metric: each
    /// new flowlet sees the packet the one before it just sent (the local estimate compared at
    /// 8 bits, where one 4 KB packet reads 3; at 3 bits it reads 0, like an idle port), so the
    /// four take four different uplinks instead of four pseudo-random ones.
    @Test func flowletsStartingTogetherTakeDifferentUplinks() throws {
        let h = try leaf()
        let t: UInt64 = 3_000_000
        let flows = ECMPRouterTests.randomFlows(4, dstNet: 0x0A00_0200, seed: 11).map { Flow(src: "10.0.1.1", dst: $0.dst, proto: 17, sport: $0.sport, dport: 4791) }
        var ports: [UInt16] = []
        for f in flows {
            let frame = Packet.ethernet(dst: "00:00:00:00:00:01", src: "00:00:00:00:00:99").ipv4(src: f.src, dst: f.dst)
                .udp(sport: f.sport, dport: f.dport).payload(count: 4000)
            try h.send(frame.bytes, port: 1, timestamp: t)
            ports.append(try out(h).port)
        }
        #expect(ports.sorted() == [3, 4, 5, 6], "\(ports)")
        // Their draws alone would have put two of them on one uplink (what a 3-bit comparison did).
        #expect(Set(flows.map { FlowletTests.newMember($0, at: t) }).count < 4)
    }

    @Test func theLocalEstimateCountsAsMuchAsTheRemoteMetric() throws {
        let h = try leaf()
        let t: UInt64 = 5_000_000, q = RateEstimator.defaultMetricShift
        // Remote metrics all 0; ports 3, 5 and 6 busy locally (metric 7, 4, 7), port 4 idle.
        for (port, x) in [(3, UInt64(7) << q), (4, 0), (5, 4 << q), (6, 9 << q)] {
            try h.pipeline.writeRegister("dre_bytes", index: port, x)
            try h.pipeline.writeRegister("dre_time", index: port, t)
        }
        for (i, f) in ECMPRouterTests.randomFlows(8, dstNet: 0x0A00_0200, seed: 5).enumerated() {
            let flow = Flow(src: "10.0.1.1", dst: f.dst, proto: 17, sport: f.sport, dport: 4791)
            try h.send(Self.frame(flow).bytes, port: 1, timestamp: t + UInt64(i))
            #expect(try out(h).port == 4, "\(flow)")
        }
    }
}
