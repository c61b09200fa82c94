import SluiceControlPlane
import Testing
import Sluice
import SluiceIR
import SluiceRuntime
import SluiceTesting
@testable import SluicePrograms

/// Behaviour of `int-md` on a chain of four switches, h1 -> S1 (source) -> S2 -> S3 -> S4
/// (sink) -> h2, the collector on S4: exact bytes at every hop against `INTReference` (built
/// from the wire formats) and packets built by the test's packet builder (which computes lengths
/// and checksums itself); the host's copy against what a chain of `ecmp-router`s delivers.
@Suite struct INTTests {
    static let h1MAC: MACAddress = "00:00:00:00:01:01"
    static let h2MAC: MACAddress = "00:00:00:00:02:02"
    static let collectorMAC: MACAddress = "02:00:00:00:0c:01"
    static let collectorIP: IPv4Address = "10.0.9.9"
    static let collectorPort: UInt16 = 32766

    /// A switch of the chain: its ports and the queue values its egress sees.
    struct Hop {
        var node: UInt32
        var inPort: UInt16
        var outPort: UInt16
        var nextMAC: MACAddress
        var arrival: UInt64
        var queue: Pipeline.QueueState
        var mtu = 1500
        var switchMAC: MACAddress { MACAddress(value: 0x0200_0000_0A00 | UInt64(node)) }
        var switchIP: IPv4Address { IPv4Address(value: 0x0A00_FF00 | node) }
    }

    /// S1 ... S4; S4's host port is 8, its collector port 9 (report queue values: `reportQueue`).
    static func chain(mtu2: Int = 1500) -> [Hop] {
        [Hop(node: 1, inPort: 1, outPort: 10, nextMAC: "02:00:00:00:0a:02", arrival: 1_000_000,
             queue: .init(enqTimestamp: 1_000_300, enqQdepth: 3_000, deqTimedelta: 5_000, deqQdepth: 100, deqBufferDepth: 9_000)),
         Hop(node: 2, inPort: 3, outPort: 4, nextMAC: "02:00:00:00:0a:03", arrival: 1_020_000,
             queue: .init(enqTimestamp: 1_020_300, enqQdepth: 12_345, deqTimedelta: 7_000, deqQdepth: 200, deqBufferDepth: 20_000_000), mtu: mtu2),
         Hop(node: 3, inPort: 5, outPort: 6, nextMAC: "02:00:00:00:0a:04", arrival: 1_040_000,
             queue: .init(enqTimestamp: 1_040_300, enqQdepth: 0, deqTimedelta: 0, deqQdepth: 0)),
         Hop(node: 4, inPort: 7, outPort: 8, nextMAC: h2MAC, arrival: 1_060_000,
             queue: .init(enqTimestamp: 1_060_300, enqQdepth: 1_500, deqTimedelta: 2_000, deqQdepth: 0))]
    }
    static let reportQueue = Pipeline.QueueState(enqTimestamp: 1_060_300, enqQdepth: 700, deqTimedelta: 900, deqQdepth: 0)

    /// Routing to h2 as the routing controller would install it, plus the INT roles.
    static func entries(_ hop: Hop, hops: Int = 8, bitmap: String = "0xFF80") -> String {
        var e = """
            table_set_default switch_mac set_switch_mac \(hop.switchMAC)
            table_add ipv4_lpm forward 10.0.2.2/32 => \(hop.outPort) \(hop.nextMAC)
            table_set_default int_config int_config \(hop.node) \(hop.switchIP) \(hop.mtu)

            """
        if hop.node == 1 {
            e += "table_add int_watchlist int_source 1&&&0x1FF 10.0.1.0&&&0xFFFFFF00 0&&&0 17&&&0xFF 0&&&0 0&&&0 => \(bitmap) \(hops) 10\n"
        }
        if hop.outPort == 8 {
            e += """
                table_add int_sink int_sink 8 => 1
                mc_group_set 1 8:0 9:32768
                table_add int_report int_report 32768 => \(collectorMAC) \(collectorIP) \(collectorPort) 0 128

                """
        }
        return e
    }

    /// A switch with queues: ingress, then egress per copy with the hop's queue values (the
    /// report copy with `reportQueue`), as a traffic manager would run them.
    final class Switch {
        let hop: Hop
        let pipeline: Pipeline
        let bridge: UnsafeMutablePointer<UInt64>
        init(_ hop: Hop, program: SwitchProgram = INTProgram.program(), entries: String) throws {
            self.hop = hop
            pipeline = try Pipeline(program.verified(), queues: true)
            _ = try EntriesFile(file: "<s\(hop.node)>", text: entries).apply(to: pipeline)
            bridge = .allocate(capacity: pipeline.bridgeWords)
        }
        deinit { bridge.deallocate() }

        func run(_ bytes: [UInt8]) -> [(port: UInt16, bytes: [UInt8])] {
            let buf = PacketBuffer()
            buf.load(bytes)
            switch pipeline.runIngress(buf, port: hop.inPort, timestamp: hop.arrival, bridge: bridge) {
            case .drop:
                return []
            case .unicast(let port):
                guard pipeline.runEgress(buf, port: port, bridge: bridge, queue: hop.queue) == .send else { return [] }
                return [(port, buf.bytes)]
            case .multicast(let group):
                return Array(pipeline.multicastMembers(group: group)).compactMap { m in
                    let copy = PacketBuffer()
                    copy.copy(from: buf)
                    let q = m.rid >= 0x8000 ? INTTests.reportQueue : hop.queue
                    guard pipeline.runEgress(copy, port: m.port, rid: m.rid, replica: true, bridge: bridge, queue: q) == .send else { return nil }
                    return (m.port, copy.bytes)
                }
            }
        }
    }

    static let payload = (0..<64).map { UInt8($0) }
    /// h1's packet: DSCP 10 and ECN 1 (the sink must restore both), UDP with a checksum.
    static func original(ttl: UInt8 = 64) -> Packet {
        Packet.ethernet(dst: "02:00:00:00:0a:01", src: h1MAC)
            .ipv4(src: "10.0.1.1", dst: "10.0.2.2", dscp: 10, ecn: 1, id: 7, ttl: ttl)
            .udp(sport: 5000, dport: 6000)
            .payload(payload)
    }

    /// A packet on the chain after `hop` (MACs and TTL as routed there) carrying `block` (INT).
    static func onWire(after hop: Hop, ttl: UInt8, block: [UInt8]) -> Packet {
        Packet.ethernet(dst: hop.nextMAC, src: hop.switchMAC)
            .ipv4(src: "10.0.1.1", dst: "10.0.2.2", dscp: UInt8(INTProgram.dscp), ecn: 1, id: 7, ttl: ttl)
            .udp(sport: 5000, dport: 6000)
            .payload(block + payload)
    }

    /// What hop `h` records for a packet of `length` bytes entering its egress.
    static func metadata(_ h: Hop, length: Int, egressPort: UInt16? = nil, queue: Pipeline.QueueState? = nil) -> INTReference.Hop {
        let q = queue ?? h.queue
        let latency = UInt32(truncatingIfNeeded: q.enqTimestamp) &- UInt32(truncatingIfNeeded: h.arrival) &+ UInt32(q.deqTimedelta)
        return INTReference.Hop(node: h.node, ingressPort: h.inPort, egressPort: egressPort ?? h.outPort, latency: latency,
                                occupancy: UInt32(q.enqQdepth), ingressTimestamp: h.arrival,
                                egressTimestamp: h.arrival + UInt64(latency), txUtilization: UInt32(length),
                                buffer: UInt32(min(q.deqBufferDepth, 0xFF_FFFF)))
    }

    static func be32(_ b: [UInt8], at i: Int) -> UInt32 {
        b[i..<i + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }

    /// Both checksums of an IPv4/UDP packet are right.
    static func checksumsValid(_ bytes: [UInt8]) -> Bool {
        let p = parse(bytes)
        return p.ipv4?.checksumValid == true && p.udp?.checksumValid == true
    }

    /// Run the original through S1 ... S4; the packet on each link, then S4's outputs.
    func runChain(_ hops: [Hop], entries: (Hop) -> String) throws -> (links: [[UInt8]], sink: [(port: UInt16, bytes: [UInt8])]) {
        var bytes = Self.original().bytes
        var links: [[UInt8]] = []
        for hop in hops.dropLast() {
            let out = try Switch(hop, entries: entries(hop)).run(bytes)
            try #require(out.count == 1 && out[0].port == hop.outPort, "switch \(hop.node): \(out.map(\.port))")
            bytes = out[0].bytes
            links.append(bytes)
        }
        let sink = try Switch(hops.last!, entries: entries(hops.last!)).run(bytes)
        return (links, sink)
    }

    // MARK: source, transit, sink

    @Test func sourceTransitAndSinkExactBytes() throws {
        let hops = Self.chain()
        let (links, sink) = try runChain(hops) { Self.entries($0) }
        let original = Self.original().bytes
        // After S1: shim, header (RHC 8 - 1) and S1's metadata; S1's egress saw the packet with
        // the 16 header bytes.
        var stack: [[UInt8]] = []
        var length = original.count + 16
        for (i, hop) in hops.dropLast().enumerated() {
            stack.insert(Self.metadata(hop, length: length).bytes(bitmap: INTReference.fullBitmap), at: 0)
            let block = INTReference.intBlock(dscp: 10, remaining: UInt8(8 - stack.count), stack: stack)
            let expected = Self.onWire(after: hop, ttl: UInt8(63 - i), block: block).bytes
            #expect(links[i] == expected, "link after S\(hop.node)")
            #expect(Self.checksumsValid(links[i]), "checksums after S\(hop.node)")
            length = expected.count
        }
        // S4: the host's copy is the original as routers deliver it; the collector's is a report.
        try #require(sink.map(\.port) == [8, 9])
        let delivered = Packet.ethernet(dst: Self.h2MAC, src: hops[3].switchMAC)
            .ipv4(src: "10.0.1.1", dst: "10.0.2.2", dscp: 10, ecn: 1, id: 7, ttl: 60)
            .udp(sport: 5000, dport: 6000)
            .payload(Self.payload).bytes
        #expect(sink[0].bytes == delivered)
        let inner = Self.onWire(after: Hop(node: 4, inPort: 7, outPort: 8, nextMAC: Self.h2MAC, arrival: 0, queue: .init()), ttl: 60,
                                block: INTReference.intBlock(dscp: 10, remaining: 5, stack: stack)).bytes
        let sinkMD = Self.metadata(hops[3], length: inner.count, egressPort: 9, queue: Self.reportQueue)
        let report = Packet.ethernet(dst: Self.collectorMAC, src: hops[3].switchMAC)
            .ipv4(src: hops[3].switchIP, dst: Self.collectorIP, id: 0, ttl: 64)
            .udp(sport: Self.collectorPort, dport: Self.collectorPort, checksum: 0)
            .payload(INTReference.reportPayload(sequence: 0, node: 4, sink: sinkMD, inner: inner, keep: 128)).bytes
        #expect(sink[1].bytes == report)
        #expect(parse(sink[1].bytes).ipv4?.checksumValid == true)
    }

    /// The host's copy equals what four `ecmp-router`s with the same routes deliver.
    @Test func sinkRestoresWhatRoutersDeliver() throws {
        let hops = Self.chain()
        let (_, sink) = try runChain(hops) { Self.entries($0) }
        var bytes = Self.original().bytes
        for hop in hops {
            let h = try SwitchHarness(ECMPRouter.program().verified(), entries: """
                table_set_default switch_mac set_switch_mac \(hop.switchMAC)
                table_add ipv4_lpm forward 10.0.2.2/32 => \(hop.outPort) \(hop.nextMAC)
                """)
            try h.send(bytes, port: hop.inPort)
            let out = h.drain()
            try #require(out.count == 1)
            bytes = out[0].bytes
        }
        #expect(sink.first { $0.port == 8 }?.bytes == bytes)
    }

    @Test func remainingHopCountExhaustedSetsE() throws {
        let hops = Self.chain()
        let (links, sink) = try runChain(hops) { Self.entries($0, hops: 2) }
        let s1 = Self.metadata(hops[0], length: Self.original().bytes.count + 16).bytes(bitmap: INTReference.fullBitmap)
        let afterS2 = links[1]
        let s2 = Self.metadata(hops[1], length: links[0].count).bytes(bitmap: INTReference.fullBitmap)
        #expect(afterS2 == Self.onWire(after: hops[1], ttl: 62, block: INTReference.intBlock(dscp: 10, remaining: 0, stack: [s2, s1])).bytes)
        // S3 has no hops left: E set, nothing pushed, the count stays 0.
        let afterS3 = Self.onWire(after: hops[2], ttl: 61, block: INTReference.intBlock(dscp: 10, remaining: 0, e: true, stack: [s2, s1])).bytes
        #expect(links[2] == afterS3)
        #expect(Self.checksumsValid(links[2]))
        #expect(sink.first { $0.port == 8 }?.bytes == Packet.ethernet(dst: Self.h2MAC, src: hops[3].switchMAC)
            .ipv4(src: "10.0.1.1", dst: "10.0.2.2", dscp: 10, ecn: 1, id: 7, ttl: 60)
            .udp(sport: 5000, dport: 6000).payload(Self.payload).bytes)
    }

    @Test func mtuHeadroomSetsM() throws {
        // After S1 the IPv4 packet is 92 + 16 + 52 = 160 bytes; S2 may grow it to 200 only.
        let hops = Self.chain(mtu2: 200)
        let (links, sink) = try runChain(hops) { Self.entries($0) }
        let s1 = Self.metadata(hops[0], length: Self.original().bytes.count + 16).bytes(bitmap: INTReference.fullBitmap)
        #expect(links[1] == Self.onWire(after: hops[1], ttl: 62, block: INTReference.intBlock(dscp: 10, remaining: 7, m: true, stack: [s1])).bytes)
        #expect(Self.checksumsValid(links[1]))
        // S3 has headroom again and pushes (a hop that pushed nothing did not decrement).
        let s3 = Self.metadata(hops[2], length: links[1].count).bytes(bitmap: INTReference.fullBitmap)
        #expect(links[2] == Self.onWire(after: hops[2], ttl: 61, block: INTReference.intBlock(dscp: 10, remaining: 6, m: true, stack: [s3, s1])).bytes)
        #expect(Self.checksumsValid(links[2]))
        #expect(sink.first { $0.port == 8 }?.bytes.count == Self.original().bytes.count)
    }

    /// Per-hop checksums on random payloads, lengths and DSCPs (odd lengths included), and the
    /// host's copy the original as routed, byte for byte.
    @Test func checksumsRightAtEveryHopOnRandomPackets() throws {
        let seed = testSeed("INTTests.checksums")
        var rng = SplitMix64(seed: seed)
        let hops = Self.chain()
        let switches = try hops.map { try Switch($0, entries: Self.entries($0)) }
        for n in 0..<200 {
            let body = (0..<Int.random(in: 0...300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            var dscp = UInt8.random(in: 0...63, using: &rng)
            if dscp == UInt8(INTProgram.dscp) { dscp = 0 }   // the domain's INT marker
            let sport = UInt16.random(in: 1...65535, using: &rng)
            let p = Packet.ethernet(dst: "02:00:00:00:0a:01", src: Self.h1MAC)
                .ipv4(src: "10.0.1.1", dst: "10.0.2.2", dscp: dscp, id: UInt16(n), ttl: 64)
                .udp(sport: sport, dport: 6000).payload(body)
            var bytes = p.bytes
            for s in switches.dropLast() {
                let out = s.run(bytes)
                try #require(out.count == 1)
                bytes = out[0].bytes
                #expect(Self.checksumsValid(bytes), "packet \(n) after S\(s.hop.node)")
            }
            let sink = switches[3].run(bytes)
            let expected = Packet.ethernet(dst: Self.h2MAC, src: hops[3].switchMAC)
                .ipv4(src: "10.0.1.1", dst: "10.0.2.2", dscp: dscp, id: UInt16(n), ttl: 60)
                .udp(sport: sport, dport: 6000).payload(body).bytes
            #expect(sink.first { $0.port == 8 }?.bytes == expected, "packet \(n)")
        }
    }

    @Test func unwatchedAndNonUDPTrafficIsOnlyRouted() throws {
        let hop = Self.chain()[0]
        let s = try Switch(hop, entries: Self.entries(hop))
        // From another port (not on the watchlist) and TCP: routed as ecmp-router routes them.
        let fromSpine = Self.original().bytes
        let other = try Switch(Hop(node: 1, inPort: 2, outPort: 10, nextMAC: hop.nextMAC, arrival: 0, queue: .init()), entries: Self.entries(hop))
        let routed = Packet.ethernet(dst: hop.nextMAC, src: hop.switchMAC)
            .ipv4(src: "10.0.1.1", dst: "10.0.2.2", dscp: 10, ecn: 1, id: 7, ttl: 63)
            .udp(sport: 5000, dport: 6000).payload(Self.payload).bytes
        #expect(other.run(fromSpine).map(\.bytes) == [routed])
        let tcp = Packet.ethernet(dst: "02:00:00:00:0a:01", src: Self.h1MAC)
            .ipv4(src: "10.0.1.1", dst: "10.0.2.2", id: 7, ttl: 64).tcp(sport: 5000, dport: 6000).payload(Self.payload)
        #expect(s.run(tcp.bytes).map(\.bytes) == [Packet.ethernet(dst: hop.nextMAC, src: hop.switchMAC)
            .ipv4(src: "10.0.1.1", dst: "10.0.2.2", id: 7, ttl: 63).tcp(sport: 5000, dport: 6000).payload(Self.payload).bytes])
    }

    /// Without queues (the software runtime alone) hop latency, queue occupancy and the egress
    /// timestamp read all ones; everything else is observed.
    @Test func withoutQueuesTheQueueValuesReadAllOnes() throws {
        let hop = Self.chain()[0]
        let h = try SwitchHarness(INTProgram.program().verified(), entries: Self.entries(hop))
        let original = Self.original().bytes
        try h.send(original, port: 1, timestamp: 5_000)
        let md = INTReference.Hop(node: 1, ingressPort: 1, egressPort: 10, latency: 0xFFFF_FFFF, occupancy: 0xFF_FFFF,
                                  ingressTimestamp: 5_000, egressTimestamp: ~0, txUtilization: UInt32(original.count + 16))
        try h.expect(Self.onWire(after: hop, ttl: 63, block: INTReference.intBlock(dscp: 10, remaining: 7,
                                                                                 stack: [md.bytes(bitmap: INTReference.fullBitmap)])).bytes, port: 10)
        try h.expectNoOtherPackets()
    }

    /// Report sequence numbers count per destination; the tx counter halves with time.
    @Test func reportSequenceAndTxUtilization() throws {
        let hops = Self.chain()
        var bytes = Self.original().bytes
        for hop in hops.dropLast() { bytes = try Switch(hop, entries: Self.entries(hop)).run(bytes)[0].bytes }
        let sink = try Switch(hops[3], entries: Self.entries(hops[3]))
        var sequences: [UInt32] = []
        var tx: [UInt32] = []
        for _ in 0..<3 {
            let out = sink.run(bytes)
            let r = try #require(out.first { $0.port == 9 }?.bytes)
            // The group header follows Ethernet, IPv4 and UDP; tx utilization follows l1 ports,
            // latency, queue, both timestamps and l2 ports in the sink's metadata.
            sequences.append(Self.be32(r, at: 42))
            let txAt = 42 + 8 + 4 + 8 + 4 * 9
            tx.append(Self.be32(r, at: txAt))
        }
        #expect(sequences.map { $0 & 0x3F_FFFF } == [0, 1, 2])
        #expect(sequences.allSatisfy { $0 >> 28 == 2 })
        // Same timestamp: no halving, the counter adds each report copy's length.
        let len = UInt32(bytes.count)
        #expect(tx == [len, 2 * len, 3 * len])
    }
}
