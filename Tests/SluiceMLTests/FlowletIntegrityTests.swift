import Foundation
import Testing
import SluiceEmulator
import SluicePcapFiles
import SluicePrograms
@testable import SluiceML

/// "No scheme reorders packets within a flowlet", checked from the wire rather than from the
/// programs' own state: leaf1's links are captured while synchronized elephants cross the
/// fabric (`LoadBalancingTests`' topology, one spine link at a quarter rate so that queues
/// differ between the paths), and every data packet that entered leaf1 is found again on the
/// uplink it left by. A flow that changes uplink less than the flowlet timeout after its
/// previous packet reached leaf1 moved within a flowlet; packets of one flowlet then take two
/// paths and can overtake each other. ECMP must never move a flow, `flowlet`, `conga` and
/// `hula` must move flows only between flowlets (and must move some: else the check proves
/// nothing), DRILL, which chooses per packet, moves flows within flowlets all the time (the
/// audit sees it: it can fail).
@Suite struct FlowletIntegrityTests {
    /// What the audit saw at one leaf.
    struct Audit: CustomStringConvertible {
        /// Data packets that entered the leaf from its hosts, and those found on an uplink.
        var entered = 0, forwarded = 0
        /// Flows seen, moves to another uplink, moves less than the timeout after the flow's
        /// previous packet, moves within 2 ns of the timeout (the capture's nanosecond floor
        /// cannot tell which side they fall on).
        var flows = 0, moves = 0, movesWithinFlowlet = 0, movesAtTheTimeout = 0
        /// Gaps between a flow's packets longer than the timeout (where new flowlets start), and
        /// between half the timeout and the timeout (where a program whose timeout is too short
        /// would start one).
        var newFlowlets = 0, gapsUnderTheTimeout = 0
        /// The shortest gap before a move, ns.
        var shortestGapBeforeMove = Double.infinity
        var description: String {
            "\(entered) data packets entered, \(forwarded) found on uplinks, \(flows) flows, \(newFlowlets) gaps over the timeout, \(gapsUnderTheTimeout) between it and half of it, \(moves) moves, \(movesWithinFlowlet) within a flowlet, \(movesAtTheTimeout) at the timeout, shortest gap before a move \(shortestGapBeforeMove.isFinite ? "\(Int(shortestGapBeforeMove)) ns" : "-")"
        }
    }

    /// A RoCEv2 data packet's identity: addresses, the queue pair's source port, the PSN
    /// (unique per packet, retransmissions included).
    struct PacketKey: Hashable { var src: UInt32, dst: UInt32, port: UInt16, psn: UInt32 }
    struct FlowKey: Hashable { var src: UInt32, dst: UInt32, port: UInt16 }

    /// Parses Ethernet / IPv4 / (CONGA's 6-byte shim after IPv4, protocol 253) / UDP 4791 / BTH;
    /// nil for anything else and for RoCE acknowledgements.
    static func dataKey(_ b: [UInt8]) -> PacketKey? {
        guard b.count >= 14 + 20, b[12] == 0x08, b[13] == 0x00 else { return nil }
        let ip = 14, ihl = Int(b[ip] & 0x0F) * 4
        var udp = ip + ihl
        switch b[ip + 9] {
        case 17: break
        case UInt8(CONGA.ipProtocol): udp += CONGA.headerBytes
        default: return nil
        }
        guard b.count >= udp + 8 + 12, b[udp + 2] == 0x12, b[udp + 3] == 0xB7 else { return nil }
        let bth = udp + 8
        guard b[bth] != 0x11 else { return nil }     // ACKNOWLEDGE
        func u32(_ i: Int) -> UInt32 { UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3]) }
        return PacketKey(src: u32(ip + 12), dst: u32(ip + 16), port: UInt16(b[udp]) << 8 | UInt16(b[udp + 1]),
                         psn: UInt32(b[bth + 9]) << 16 | UInt32(b[bth + 10]) << 8 | UInt32(b[bth + 11]))
    }

    /// Audits `leaf` after a run that captured its links into `dir`: arrival times at the leaf
    /// from its host links (transmission start + serialization + delay: the clock the
    /// program's flowlet table reads, up to a constant), uplinks from its spine links.
    static func audit(_ spec: TopologySpec, leaf: String, dir: String, timeoutNs: Double) throws -> Audit {
        let leafNode = try #require(spec.node(named: leaf))
        struct Arrival { var time: Double; var key: PacketKey }
        var arrivals: [Arrival] = []
        var uplinkOf: [PacketKey: Int] = [:]
        var uplinks: [(file: String, index: Int)] = []
        for l in spec.links where l.a.node == leafNode || l.b.node == leafNode {
            let file = (dir as NSString).appendingPathComponent(
                "\(spec.nodes[l.a.node].name)-\(l.a.port)--\(spec.nodes[l.b.node].name)-\(l.b.port).pcapng")
            let far = l.a.node == leafNode ? l.b.node : l.a.node
            if spec.nodes[far].isHost {
                // Host to leaf: frames whose source MAC is the host's.
                let mac = spec.nodes[far].mac
                for p in try PcapFileReader.readAll(path: file) {
                    let src = p.bytes[6..<12].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
                    guard src == mac, let k = dataKey(p.bytes) else { continue }
                    let serialization = Double(p.bytes.count * 8) / Double(l.rate) * 1e9
                    arrivals.append(Arrival(time: Double(p.timestamp) + serialization + Double(l.delay) / 1000, key: k))
                }
            } else {
                uplinks.append((file, uplinks.count))
            }
        }
        let entered = Set(arrivals.map(\.key))
        for (file, index) in uplinks {
            for p in try PcapFileReader.readAll(path: file) {
                guard let k = dataKey(p.bytes), entered.contains(k) else { continue }
                #expect(uplinkOf[k] == nil, "\(leaf): packet \(k) left by two uplinks")
                uplinkOf[k] = index
            }
        }
        var a = Audit()
        a.entered = arrivals.count
        a.forwarded = uplinkOf.count
        var last: [FlowKey: (time: Double, uplink: Int?)] = [:]
        for x in arrivals.sorted(by: { $0.time < $1.time }) {
            let f = FlowKey(src: x.key.src, dst: x.key.dst, port: x.key.port)
            let up = uplinkOf[x.key]
            if let prev = last[f] {
                let gap = x.time - prev.time
                if gap > timeoutNs + 2 { a.newFlowlets += 1 } else if gap > timeoutNs / 2 && gap < timeoutNs - 2 { a.gapsUnderTheTimeout += 1 }
                if let u = up, let v = prev.uplink, u != v {
                    a.moves += 1
                    a.shortestGapBeforeMove = min(a.shortestGapBeforeMove, gap)
                    if abs(gap - timeoutNs) <= 2 { a.movesAtTheTimeout += 1 } else if gap < timeoutNs { a.movesWithinFlowlet += 1 }
                }
                // A packet dropped at the leaf's egress still passed the flowlet table.
                last[f] = (x.time, up ?? prev.uplink)
            } else {
                last[f] = (x.time, up)
            }
        }
        a.flows = last.count
        return a
    }

    /// Runs the elephants of `LoadBalancingTests` (4 pairs leaf1 -> leaf2, 8 chunks of 1 MiB,
    /// each `gap` after the last one's acknowledgement, spine1 -- leaf2 at 25 Gb/s) under
    /// `program` with leaf1's links captured.
    static func run(_ program: String, seed: UInt64, gap: Int64 = 120_000_000) throws -> Audit {
        var spec = try LoadBalancingTests.spec(slowSpineLink: true)
        let leaf1 = try #require(spec.node(named: "leaf1"))
        for i in spec.links.indices where spec.links[i].a.node == leaf1 || spec.links[i].b.node == leaf1 {
            spec.links[i].capture = true
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-flowlet-audit-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try ElephantRun.run(spec, program: program, pairs: LoadBalancingTests.pairs, chunks: 8, chunkBytes: 1 << 20,
                                    gap: gap, seed: seed, until: 50_000_000_000, pcapDirectory: dir)
        #expect(!r.finish.contains(.max), "\(program) seed \(seed): every pair finishes")
        let a = try audit(spec, leaf: "leaf1", dir: dir, timeoutNs: Double(FlowletParts.defaultTimeout))
        print("FlowletIntegrityTests \(program) seed \(seed) gap \(gap / 1_000_000) us: \(a)")
        // Every chunk's packets entered leaf1 (8 chunks of 1 MiB, 4 pairs; at most 4096 bytes
        // a packet, so at least 256 a chunk).
        #expect(a.flows == 4 && a.entered >= 4 * 8 * 256, "\(program) seed \(seed): \(a)")
        return a
    }

    static let seeds: [UInt64] = [1, 2, 3]

    @Test(arguments: [Flowlet.name, CONGA.name, HULA.name])
    func flowletSchemesMoveFlowsOnlyBetweenFlowlets(_ program: String) throws {
        var moves = 0
        for seed in Self.seeds {
            let a = try Self.run(program, seed: seed)
            #expect(a.movesWithinFlowlet == 0, "\(program) seed \(seed): \(a)")
            #expect(a.forwarded == a.entered, "\(program) seed \(seed): no drops at leaf1 here: \(a)")
            #expect(a.moves <= a.newFlowlets + a.movesAtTheTimeout, "\(program) seed \(seed): \(a)")
            moves += a.moves
        }
        #expect(moves > 0, "\(program): flows never moved over \(Self.seeds.count) seeds, so the audit checked nothing")
    }

    /// Chunks 85 us apart: a chunk's first packet reaches leaf1 85 us plus a round trip after
    /// the last one's last packet, so the gaps fall on both sides of the 100 us timeout
    /// (queueing on the slow path lengthens the round trip). Flows must keep their uplink over
    /// the gaps under it; a program whose timeout were shorter would move them there.
    @Test(arguments: [Flowlet.name, CONGA.name, HULA.name])
    func gapsJustUnderTheTimeoutKeepTheFlowlet(_ program: String) throws {
        var under = 0
        for seed in Self.seeds {
            let a = try Self.run(program, seed: seed, gap: 85_000_000)
            #expect(a.movesWithinFlowlet == 0, "\(program) seed \(seed): \(a)")
            under += a.gapsUnderTheTimeout
        }
        #expect(under >= 10, "\(program): too few gaps just under the timeout to test it (\(under))")
    }

    @Test func ecmpNeverMovesAFlow() throws {
        let a = try Self.run(ECMPRouter.name, seed: 1)
        #expect(a.moves == 0, "\(a)")
        #expect(a.forwarded == a.entered, "\(a)")
    }

    /// The audit can fail: DRILL picks a port per packet.
    @Test func drillMovesFlowsWithinFlowletsAndTheAuditSeesIt() throws {
        let a = try Self.run(DRILL.name, seed: 1)
        #expect(a.movesWithinFlowlet >= 100, "\(a)")
        #expect(a.shortestGapBeforeMove < 1000, "\(a)")
    }
}
