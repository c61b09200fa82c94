import SluiceControlPlane
import Foundation
import Testing
import SluiceIR
import SluicePrograms
import SluiceRuntime
import SluiceTesting
@testable import SluiceXDP

/// The direct LPM (array levels 16-8-8 instead of a hash probe per prefix length): its cells
/// against a longest-prefix reference while prefixes come and go, and in the kernel against
/// the runtime.
struct DirectLPMTests {
    /// The longest prefix over `key`, the slow way.
    static func reference(_ prefixes: [UInt64: (len: Int, slot: Int32)], _ key: UInt32, lengths: Set<Int>) -> Int32? {
        for len in lengths.sorted(by: >) {
            let m: UInt32 = len == 0 ? 0 : ~UInt32(0) << UInt32(32 - len)
            if let p = prefixes[UInt64(key & m) << 8 | UInt64(len)] { return p.slot }
        }
        return nil
    }

    /// Prefixes of every length, many nested (inside one /8 so that blocks are shared), and
    /// addresses inside and around them.
    static func randomPrefix(_ rng: inout SplitMix64) -> (UInt32, Int) {
        let lengths = [0, 4, 8, 12, 16, 17, 20, 23, 24, 25, 28, 31, 32]
        let len = lengths[Int(rng.next() % UInt64(lengths.count))]
        let base: UInt32 = rng.next() % 4 == 0 ? UInt32(truncatingIfNeeded: rng.next()) : 0x0A00_0000 | (UInt32(truncatingIfNeeded: rng.next()) & 0x0003_FFFF)
        return (len == 0 ? 0 : base & (~UInt32(0) << UInt32(32 - len)), len)
    }

    @Test func cellsMatchALongestPrefixReferenceAsPrefixesComeAndGo() throws {
        let seed: UInt64 = 0x5EED_D1E7
        print("seed \(seed)")
        var rng = SplitMix64(seed: seed)
        var lpm = DirectLPM(width: 32, l2Bits: 8, l3Bits: 8, blocks: 4096)
        var cells: [[UInt32]] = [Array(repeating: 0, count: 65536), Array(repeating: 0, count: 4096 << 8), Array(repeating: 0, count: 4096 << 8)]
        var prefixes: [UInt64: (len: Int, slot: Int32)] = [:]
        var lengths: [Int: Int] = [:]
        var nextSlot: Int32 = 0
        // What the kernel would find: walk the cells as the generated C does.
        func kernel(_ a: UInt32) -> Int32? {
            var cell = cells[0][Int(a >> 16)]
            if cell & 0x8000_0000 != 0 {
                cell = cells[1][Int((cell & 0x7FFF_FFFF) << 8 | (a >> 8) & 0xFF)]
                if cell & 0x8000_0000 != 0 { cell = cells[2][Int((cell & 0x7FFF_FFFF) << 8 | a & 0xFF)] }
            }
            return cell == 0 ? nil : Int32(cell - 1)
        }
        func apply(_ ws: [DirectLPM.Write]) { for w in ws { cells[w.level - 1][w.index] = w.value } }
        func probe(_ round: String) {
            var wrong = 0, hits = 0
            for _ in 0..<4000 {
                let a: UInt32 = rng.next() % 3 == 0 ? UInt32(truncatingIfNeeded: rng.next()) : 0x0A00_0000 | (UInt32(truncatingIfNeeded: rng.next()) & 0x0003_FFFF)
                let want = Self.reference(prefixes, a, lengths: Set(lengths.keys))
                if want != nil { hits += 1 }
                if kernel(a) != want || lpm.lookup(UInt64(a)) != want { wrong += 1 }
            }
            #expect(wrong == 0, "\(round): \(wrong) of 4000 addresses find another entry than the longest prefix")
            #expect(hits > 1000, "\(round): too few addresses inside a prefix (\(hits)) for the check to mean much")
        }
        for round in 0..<6 {
            for _ in 0..<400 {
                let (v, len) = Self.randomPrefix(&rng)
                let key = UInt64(v) << 8 | UInt64(len)
                guard prefixes[key] == nil else { continue }
                apply(try lpm.insert(UInt64(v), len, slot: nextSlot))
                prefixes[key] = (len, nextSlot); nextSlot += 1
                lengths[len, default: 0] += 1
            }
            probe("round \(round) after inserts")
            // Remove about half, the default route among them now and then.
            for (key, p) in prefixes where rng.next() % 2 == 0 {
                apply(lpm.remove(key >> 8, p.len))
                prefixes[key] = nil
                lengths[p.len]! -= 1
                if lengths[p.len] == 0 { lengths[p.len] = nil }
            }
            probe("round \(round) after removals")
        }
        // Everything out: every cell back to 0 and every block free.
        for (key, p) in prefixes { apply(lpm.remove(key >> 8, p.len)) }
        #expect(cells[0].allSatisfy { $0 == 0 }, "level 1 keeps cells after every prefix is removed")
        #expect(lpm.blocks[1].allSatisfy { $0 == nil } && lpm.blocks[2].allSatisfy { $0 == nil }, "blocks stay in use after every prefix is removed")
    }

    @Test func aFullLevelIsAnErrorNamingTheLimitAndChangesNothing() throws {
        var lpm = DirectLPM(width: 32, l2Bits: 8, l3Bits: 8, blocks: 2)
        _ = try lpm.insert(0x0A00_0100, 24, slot: 0)
        _ = try lpm.insert(0x0A01_0100, 24, slot: 1)
        #expect(throws: ControlPlaneError.self) { _ = try lpm.insert(0x0A02_0100, 24, slot: 2) }
        do { _ = try lpm.insert(0x0A02_0100, 24, slot: 2) } catch {
            #expect(error.description.contains("2 level-2 blocks"), "\(error)")
        }
        #expect(lpm.lookup(0x0A02_0105) == nil && lpm.lookup(0x0A01_0105) == 1 && lpm.lookup(0x0A00_01FF) == 0)
        // A prefix under a /16 that has a block already still fits.
        _ = try lpm.insert(0x0A00_0200, 24, slot: 3)
        #expect(lpm.lookup(0x0A00_0201) == 3)
    }
}

/// The same in the kernel: ipv4-router's `ipv4_lpm` (a direct LPM table at XDP) and the
/// runtime agree on random routes of every length while they are inserted and deleted.
@Suite(.serialized, .enabled(if: isRoot, "needs root: loads eBPF programs into the kernel (CI runs as root)"))
struct DirectLPMKernelTests {
    @Test func routesOfEveryLengthForwardAsInTheRuntime() throws {
        let seed: UInt64 = 0x5EED_1A3B
        print("seed \(seed)")
        var rng = SplitMix64(seed: seed)
        let ir = try IPv4Router.program(routes: 4096).verified()
        let runtime = try SwitchHarness(ir)
        let xdp = try XDPProgram(ir)
        let cp = try XDPControlPlane(xdp)
        guard case .lpmDirect = xdp.layout.table("ipv4_lpm")!.kind else {
            Issue.record("ipv4_lpm is not a direct LPM table at XDP: \(xdp.layout.table("ipv4_lpm")!.kind)")
            return
        }
        var installed: [(TableEntry, EntryHandle, EntryHandle)] = []
        var seen = Set<UInt64>()
        func packet(_ dst: UInt32) -> [UInt8] {
            Packet.ethernet(dst: "02:00:00:00:00:01", src: "02:00:00:00:00:02", etherType: 0x0800)
                .ipv4(src: "10.9.9.9", dst: IPv4Address(value: dst), ttl: 64, protocol: 17)
                .payload([UInt8](repeating: 0xAB, count: 26)).bytes
        }
        var d = Differential()
        for round in 0..<3 {
            for i in 0..<600 {
                let (v, len) = DirectLPMTests.randomPrefix(&rng)
                // A default route only in the last round: before it, addresses outside every
                // prefix miss (the default action drops them).
                guard len > 0 || round == 2 else { continue }
                guard seen.insert(UInt64(v) << 8 | UInt64(len)).inserted else { continue }
                let e = TableEntry([.lpm(UInt128(v), prefixLength: len)],
                                   ActionCall("ipv4_forward", [UInt128(0x0200_0000_0000 | UInt64(i)), UInt128(1 + (round * 600 + i) % 200)]))
                installed.append((e, try runtime.pipeline.insert("ipv4_lpm", e), try cp.insert("ipv4_lpm", e)))
            }
            let packets = (0..<1500).map { _ in
                (packet(rng.next() % 3 == 0 ? UInt32(truncatingIfNeeded: rng.next()) : 0x0A00_0000 | (UInt32(truncatingIfNeeded: rng.next()) & 0x0003_FFFF)), UInt16(1))
            }
            try d.run(runtime, xdp, packets)
            for (j, (e, hr, hx)) in installed.enumerated().reversed() where rng.next() % 2 == 0 {
                try runtime.pipeline.delete(hr)
                try cp.delete(hx)
                seen.remove(UInt64(e.matches[0].lpmValue) << 8 | UInt64(e.matches[0].lpmLength))
                installed.remove(at: j)
            }
        }
        print("direct LPM: \(d.summary), \(d.byPort.count) ports used")
        d.expectAgreement("ipv4-router with random routes")
        #expect(d.dropped > 100, "too few misses (\(d.dropped)) for the default action to be checked")
        #expect(d.forwarded > 2000 && d.byPort.count > 50, "too few packets routed (\(d.forwarded)) over too few ports (\(d.byPort.count)) for the check to mean much")
    }
}

extension Match {
    var lpmValue: UInt32 { if case .lpm(let v, _) = self { UInt32(v) } else { 0 } }
    var lpmLength: Int { if case .lpm(_, let l) = self { l } else { -1 } }
}
