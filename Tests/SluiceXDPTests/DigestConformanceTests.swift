import Foundation
import Testing
import SluiceIR
import SluicePrograms
import SluiceRuntime
import SluiceTesting
import SluiceXDP

/// Digests at XDP: `l2-switch` learns through its controller in both backends (the runtime's
/// digests after each packet; the kernel's from its BPF ring buffer after each test run), so
/// every frame floods or forwards alike, and both end with the same stations and entries.
@Suite(.serialized, .enabled(if: isRoot, "needs root: loads eBPF programs into the kernel (CI runs as root)"))
struct DigestConformanceTests {
    static let seed: UInt64 = 0x5EED_0D16
    static let ports: [UInt16] = [1, 2, 3, 4]

    /// Station s: 02:00:00:00:00:0s.
    static func frame(dst: UInt64, src: UInt64, _ rng: inout SplitMix64) -> [UInt8] {
        Packet.ethernet(dst: MACAddress(value: dst), src: MACAddress(value: src), etherType: 0x88B5)
            .payload(count: 46 + Int(rng.next() % 32)).bytes
    }

    static func station(_ rng: inout SplitMix64) -> UInt64 { 0x0200_0000_0000 + 1 + rng.next() % 6 }

    /// Frames between six stations, broadcasts, a multicast source (never learnt), then seeded
    /// mutations of which every fifth is a fresh frame between stations.
    static func corpus() -> [(bytes: [UInt8], port: UInt16)] {
        var rng = SplitMix64(seed: seed)
        var base: [[UInt8]] = []
        for s in 1...6 as ClosedRange<UInt64> {
            base.append(frame(dst: 0xFFFF_FFFF_FFFF, src: 0x0200_0000_0000 + s, &rng))
            base.append(frame(dst: 0x0200_0000_0000 + (s % 6) + 1, src: 0x0200_0000_0000 + s, &rng))
        }
        base.append(frame(dst: 0x0200_0000_0001, src: 0x0100_5E00_0001, &rng))
        base.append(frame(dst: 0x0100_5E00_0001, src: 0x0200_0000_0002, &rng))
        base.append(Array(frame(dst: 0x0200_0000_0001, src: 0x0200_0000_0003, &rng).prefix(14)))
        let packets = Corpus.mutate(base, seed: seed, random: 10_000) { p, rng in
            p = frame(dst: rng.next() % 8 == 0 ? 0xFFFF_FFFF_FFFF : station(&rng), src: station(&rng), &rng)
        }
        // A station sits on the port its address picks; every seventh frame comes in elsewhere
        // (it moved: learnt again).
        return packets.enumerated().map { i, p in
            let home = p.count >= 12 ? 1 + UInt16(p[11] % 4) : 1
            return (p, i % 7 == 3 ? 1 + UInt16(i / 7 % 4) : home)
        }
    }

    @Test func l2SwitchLearnsAndForwardsAlikeOnEveryPacket() throws {
        print("DigestConformanceTests seed \(Self.seed)")
        let ir = try #require(ProgramRegistry.named("l2-switch")).build().verified()
        let softController = L2Switch.Controller(ports: Self.ports)
        let runtime = try SwitchHarness(ir, controller: softController)
        let xdp = try XDPProgram(ir)
        let cp = try XDPControlPlane(xdp)
        let kernelController = L2Switch.Controller(ports: Self.ports)
        try kernelController.setup(cp)
        var digests = 0
        var d = Differential()
        try d.run(runtime, xdp, Self.corpus()) {
            let ds = cp.drainDigests()
            digests += ds.count
            if !ds.isEmpty { try kernelController.handle(ds, cp) }
        }
        print("l2-switch: \(d.summary); \(digests) digests from the kernel, \(kernelController.stations.count) stations learnt")
        d.expectAgreement("l2-switch")
        #expect(d.compared >= 10_000)
        #expect(d.forwarded > 500 && d.multicast > 500 && d.dropped > 100, "\(d.summary)")
        #expect(digests > 100, "learning hardly happened: \(digests) digests")
        #expect(softController.stations == kernelController.stations)
        for t in ["smac", "dmac"] {
            let soft = Set(try runtime.pipeline.entries(t).map { "\($0.1)" }), hard = Set(try cp.entries(t).map { "\($0.1)" })
            #expect(soft == hard, "\(t): runtime \(soft.count) entries, kernel \(hard.count)")
        }
    }
}
