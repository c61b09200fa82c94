import SluiceTestingML
import SluiceControlPlane
import Foundation
import Testing
import SluiceIR
import SluicePrograms
import SluiceRuntime
import SluiceTesting
import SluiceXDP

/// The aggregation programs through the runtime and the kernel with the same jobs installed by
/// the same control-plane calls: their behaviour tests' packets, then seeded mutations of them
/// of which every fifth is a fresh, valid update or result (so slots fill, complete, answer
/// retransmissions and start again). Every packet leaves the same way (port and bytes of each
/// multicast copy), and at the end every register cell reads back the same through both
/// control planes.
@Suite(.serialized, .enabled(if: isRoot, "needs root: loads eBPF programs into the kernel (CI runs as root)"))
struct AggregationConformanceTests {
    static let seed: UInt64 = 0x5EED_0A66

    /// Both backends of registered program `name`, with `install` applied to each.
    func both(_ name: String, _ install: (any ControlPlane) throws -> Void) throws -> (VerifiedProgram, SwitchHarness, XDPProgram, XDPControlPlane) {
        let ir = try #require(ProgramRegistry.named(name)).build().verified()
        let runtime = try SwitchHarness(ir)
        let xdp = try XDPProgram(ir)
        let cp = try XDPControlPlane(xdp)
        try install(runtime.pipeline)
        try install(cp)
        return (ir, runtime, xdp, cp)
    }

    /// A packet from 10.0.0.x (x in 1 ... 9) arrives on port x, anything else on port 1.
    static func port(of p: [UInt8]) -> UInt16 {
        guard p.count >= 30, p[12] == 0x08, p[13] == 0x00, p[26] == 10, p[27] == 0, p[28] == 0, (1...9).contains(p[29]) else { return 1 }
        return UInt16(p[29])
    }

    static func values(_ rng: inout SplitMix64, _ k: Int) -> [Int32] { (0..<k).map { _ in Int32(truncatingIfNeeded: rng.next()) } }

    func check(_ name: String, _ ir: VerifiedProgram, _ runtime: SwitchHarness, _ xdp: XDPProgram, _ cp: XDPControlPlane, _ corpus: [[UInt8]]) throws {
        print("AggregationConformanceTests seed \(Self.seed)")
        var d = Differential()
        try d.run(runtime, xdp, corpus.map { ($0, Self.port(of: $0)) })
        print("\(name): \(d.summary)")
        d.expectAgreement(name)
        #expect(d.compared >= 10_000)
        #expect(d.forwarded > 300 && d.multicast > 100 && d.dropped > 1000, "\(name): \(d.summary)")
        let regs = try Differential.compareRegisters(ir, runtime.pipeline, cp)
        print("\(name): \(ir.registers.reduce(0) { $0 + $1.size }) register cells compared, \(regs.nonzero) not zero, \(regs.differ.count) differ")
        #expect(regs.differ.isEmpty, "\(name): \(regs.differ.count) register cells differ:\n\(regs.differ.filter { !$0.isEmpty }.joined(separator: "\n"))")
        #expect(regs.nonzero > 100, "\(name): the corpus hardly touched the registers")
    }

    // MARK: switchml

    /// Job 1 (workers 0, 1, 2, UDP 0xBEE1, slots 0 ..< 64) and job 2 (workers 3, 4, UDP 0xBEE2,
    /// slots 64 ..< 128), the switch's MAC and a route, as `SwitchMLTests` set them.
    static func installSwitchML(_ cp: any ControlPlane) throws {
        try SwitchML.install(SwitchML.Job(job: 1, udpPort: 0xBEE1, slotBase: 0, slots: 64, group: 2,
                                          workers: (0..<3).map { SwitchMLPackets.worker($0, job: 1) }), into: cp)
        try SwitchML.install(SwitchML.Job(job: 2, udpPort: 0xBEE2, slotBase: 64, slots: 64, group: 3,
                                          workers: (3..<5).map { SwitchMLPackets.worker($0, job: 2) }), into: cp)
        try cp.setDefault("switch_mac", ActionCall("set_switch_mac", [0x0200_0000_0A01]))
        try cp.upsert("ipv4_lpm", TableEntry([.lpm(0x0A00_0002, prefixLength: 32)], ActionCall("forward", [2, 0x0200_0000_0002])))
    }

    /// `SwitchMLTests`' packets for the registered program (k = 64: size code 1).
    static func switchmlBase() -> [[UInt8]] {
        typealias P = SwitchMLPackets
        let k = 64
        func u(_ w: Int, job: UInt8 = 1, id: UInt32 = 7, set: Int = 0, slot: Int = 0, e0: UInt8 = 0, e1: UInt8 = 0, values: [Int32],
               size: UInt8 = 1, ipChecksum: UInt16? = nil) -> [UInt8] {
            P.update(w, job: job, port: 0xBEE0 + UInt16(job), id: id, set: set, slot: slot, e0: e0, e1: e1, values: values, size: size, ipChecksum: ipChecksum)
        }
        var out: [[UInt8]] = []
        // A round, then a retransmission to the complete slot, then the other set.
        let v = [P.vector(1, k), P.vector(-2, k), [Int32.max] + Array(repeating: 5, count: k - 1)]
        for w in 0..<3 { out.append(u(w, e0: UInt8(w * 3), e1: UInt8(9 - w), values: v[w])) }
        out.append(u(1, e0: 3, values: v[1]))
        out.append(u(0, set: 1, values: v[0]))
        out.append(u(0, set: 1, values: v[0]))
        out.append(u(2, set: 1, values: v[2]))
        out.append(u(1, set: 1, values: v[1]))
        // Rounds on slot 5.
        for round in 0..<4 { for w in 0..<3 { out.append(u(w, id: UInt32(round), set: round & 1, slot: 5, values: P.vector(Int32(round * 3 + w), k))) } }
        // Malformed or foreign: not a worker, the other job's port, past the job's slots, the
        // wrong size code, cut short, a corrupted header.
        out.append(u(5, values: v[0]))
        out.append(P.update(0, job: 1, port: 0xBEE2, values: v[0], size: 1))
        for slot in [64, 0x3FFC, 0x3FFF] { out.append(u(3, job: 2, slot: slot, values: v[1])) }
        out.append(u(3, job: 1, values: v[2]))          // job 2's worker claims job 1
        out.append(u(0, values: v[0], size: 0))
        out.append(Array(u(0, values: v[0]).dropLast(3)))
        out.append(u(0, values: v[0], ipChecksum: 0xBAD0))
        // Job 2 completes its slot 0 (physical 64).
        out.append(u(3, job: 2, values: v[0]))
        out.append(u(4, job: 2, values: v[1]))
        // Other traffic is routed; a UDP datagram too short for switchml_t on an aggregation port.
        for (dport, payload) in [(UInt16(5001), [UInt8](repeating: 7, count: 4)),
                                 (0xBEE1, P.payload(type: 1, size: 1, job: 1, id: 9, set: 0, slot: 0, e0: 0, e1: 0, values: P.vector(5, k)))] {
            out.append(Packet.ethernet(dst: "02:00:00:00:0a:01", src: "02:00:00:00:00:01").ipv4(src: "10.0.0.1", dst: "10.0.0.2", ttl: 64)
                .udp(sport: 5000, dport: dport).payload(payload).bytes)
        }
        out.append(Packet.ethernet(dst: "02:00:00:00:0a:01", src: "02:00:00:00:00:01").ipv4(src: "10.0.0.1", dst: "10.0.0.2", ttl: 64)
            .udp(sport: 5000, dport: 0xBEE1).payload(count: 4).bytes)
        return out
    }

    /// A fresh update: mostly a worker of its own job on one of a few slots (so rounds complete
    /// and retransmissions find complete slots), sometimes past the job's slots or claiming the
    /// other job.
    static func switchmlUpdate(_ p: inout [UInt8], _ rng: inout SplitMix64) {
        let w = Int(rng.next() % 5)
        var job: UInt8 = w < 3 ? 1 : 2
        if rng.next() % 16 == 0 { job = 3 - job }
        let slot = rng.next() % 16 == 0 ? 60 + Int(rng.next() % 8) : Int(rng.next() % 4)
        p = SwitchMLPackets.update(w, job: job, port: 0xBEE0 + UInt16(job), id: UInt32(rng.next() % 4), set: Int(rng.next() % 2), slot: slot,
                                   e0: UInt8(truncatingIfNeeded: rng.next()), e1: UInt8(truncatingIfNeeded: rng.next()),
                                   values: values(&rng, 64), size: 1)
    }

    @Test func switchmlAgreesOnEveryPacketAndRegister() throws {
        let (ir, runtime, xdp, cp) = try both("switchml", Self.installSwitchML)
        let corpus = Corpus.mutate(Self.switchmlBase(), seed: Self.seed, random: 10_000, refresh: Self.switchmlUpdate)
        try check("switchml", ir, runtime, xdp, cp, corpus)
        // The per-worker update counts (what `sluice aggregator`'s idle timer watches) agree too,
        // and leave out the corpus's non-members.
        var counted: UInt64 = 0
        for w in 0..<SwitchML.maxWorkers {
            let r = try runtime.pipeline.counter(SwitchML.updatesCounter, index: w).packets
            #expect(r == (try cp.counter(SwitchML.updatesCounter, index: w).packets), "switchml_updates[\(w)]")
            counted += r
        }
        #expect(counted > 1000 && counted < UInt64(corpus.count), "member updates \(counted) of \(corpus.count) packets")
        #expect(try SwitchML.memberUpdates(cp, workers: 5) == counted)
    }

    // MARK: atp

    /// `ATPTests`' packets (the registered program: 4096 aggregators, k = 64).
    static func atpBase() -> [[UInt8]] {
        typealias P = ATPPackets
        var out: [[UInt8]] = []
        let v = (0..<3).map { P.vector(Int32($0) + 1) }
        out.append(P.update(0, bit: 0, n: 3, seq: 5, values: v[0]))
        out.append(P.update(1, bit: 1, n: 3, seq: 5, values: v[1]))
        out.append(P.update(1, bit: 1, n: 3, seq: 5, values: v[1]))
        out.append(P.update(2, bit: 2, n: 3, seq: 5, values: v[2]))
        out.append(P.update(3, bit: 0, n: 2, job: 2, seq: 1, values: v[1]))
        out.append(P.update(1, bit: 1, n: 3, seq: 2, values: v[1]))
        out.append(P.result(job: 1, workers: 3, bitmap: 7, seq: 5, values: P.sum(v)))
        out.append(P.update(4, bit: 1, n: 2, job: 2, seq: 1, values: v[0]))
        out.append(P.update(0, bit: 0, n: 3, seq: 8, values: v[0]))
        out.append(P.update(1, bit: 1, n: 3, seq: 8, values: v[1]))
        out.append(P.update(0, bit: 0, n: 3, seq: 8, flags: ATP.resend, values: v[0]))
        out.append(P.update(1, bit: 1, n: 3, seq: 8, flags: ATP.resend, values: v[1]))
        out.append(P.update(7, bit: 0, n: 3, seq: 1, values: v[0]))
        out.append(P.update(3, bit: 0, n: 2, job: 1, seq: 1, values: v[0]))
        let w0 = P.worker(0)
        out.append(P.result(job: 1, workers: 3, bitmap: 7, seq: 1, values: v[0], src: (w0.ip, w0.mac)))
        return out
    }

    /// A fresh update from a worker of its job (a resend now and then) on a few sequence
    /// numbers, or the server's result for one (which frees the aggregator and is multicast),
    /// or a result forged by a worker.
    static func atpPacket(_ p: inout [UInt8], _ rng: inout SplitMix64) {
        let seq = UInt32(rng.next() % 6)
        switch rng.next() % 10 {
        case 0, 1:
            let job = UInt8(1 + rng.next() % 2)
            p = ATPPackets.result(job: job, workers: job == 1 ? 3 : 2, bitmap: job == 1 ? 7 : 3, seq: seq, values: values(&rng, 64))
        case 2:
            let w = ATPPackets.worker(Int(rng.next() % 5))
            p = ATPPackets.result(job: 1, workers: 3, bitmap: 7, seq: seq, values: values(&rng, 64), src: (w.ip, w.mac))
        default:
            let w = Int(rng.next() % 5)
            let (job, bit, n): (UInt8, Int, UInt8) = w < 3 ? (1, w, 3) : (2, w - 3, 2)
            p = ATPPackets.update(w, bit: bit, n: n, job: job, seq: seq, flags: rng.next() % 8 == 0 ? ATP.resend : 0, values: values(&rng, 64))
        }
    }

    @Test func atpAgreesOnEveryPacketAndRegister() throws {
        let (ir, runtime, xdp, cp) = try both("atp", ATPPackets.install)
        let corpus = Corpus.mutate(Self.atpBase(), seed: Self.seed, random: 10_000, refresh: Self.atpPacket)
        try check("atp", ir, runtime, xdp, cp, corpus)
    }
}
