import SluiceControlPlane
import Foundation
import Testing
import SluiceEBPF
import SluiceIR
import SluicePrograms
import SluiceRuntime
import SluiceTesting
import SluiceXDP

/// `flowlet` at XDP: it compiles to eBPF C (no `random`, no queue state) and the kernel's
/// verifier accepts the object. Its differential conformance is `FlowletConformanceTests`
/// (a seeded clock) and `ConformanceTests` (the Differential's default clock).
@Suite struct FlowletXDPTests {
    @Test func compilesToEBPFC() throws {
        let c = try EBPFBackend.emitC(try Flowlet.program().verified())
        #expect(c.contains("SEC(\"xdp\")"))
        #expect(c.contains("/* table flowlet_config"), "the timeout's table is there")
        #expect(c.contains("bpf_ktime_get_ns()"), "off test runs the clock is the kernel's")
    }

    @Test(.enabled(if: isRoot, "needs root: loads the eBPF program into the kernel (CI runs as root)"))
    func theKernelVerifierAcceptsIt() throws {
        let xdp = try XDPProgram(try Flowlet.program().verified())
        #expect(xdp.programFD > 0)
    }
}

/// `flowlet` through the runtime and through the kernel (BPF_PROG_TEST_RUN) on the same
/// seeded clock: the `ConformanceTests` corpus (behaviour packets and 10,000 random and mutated
/// ones) interleaved with 10,000 packets of 64 flows routed through every kind of group (equal,
/// weighted, resilient), some flows busy and some rare, with per-packet gaps of 0.1 to 0.9 us
/// and now and then a pause of 60 to 250 us. So a flow's next packet comes sometimes within the
/// 50 us timeout (it keeps its member) and sometimes after it (a new member is drawn), and some
/// packets come exactly at the timeout or 1 ns after it. The clock starts 30 ms before the
/// 48-bit timestamp wraps and runs past it, as given (both backends cut it to 48 bits).
///
/// The new member is drawn from a CRC-32 of the 5-tuple and the timestamp
/// (`FlowletParts.draw`), not from `random`, so both backends draw the same one: no extern is
/// stubbed. Verdicts, ports and bytes must agree on every packet and every cell of the
/// `flowlet` register afterwards.
@Suite(.serialized, .enabled(if: isRoot, "needs root: loads eBPF programs into the kernel (CI runs as root)"))
struct FlowletConformanceTests {
    static let seed: UInt64 = 0x5EED_F10E
    static let timeout: UInt64 = 50_000
    static let flowCount = 64, flowPackets = 10_000
    static let entries = ecmpEntries + "table_set_default flowlet_config set_flowlet_timeout \(timeout)\n"

    /// The packets (on their ingress ports), the clock of each, and which tracked flow each is
    /// (nil: a corpus packet).
    struct Traffic {
        var packets: [(bytes: [UInt8], port: UInt16)] = []
        var times: [UInt64] = []
        var flow: [Int?] = []
        /// Flow packets placed exactly at the timeout after their flow's previous one, and 1 ns later.
        var atTimeout = 0, justOver = 0
    }

    /// Flow `k`'s packet: UDP or TCP from 10.9.x.x, to a destination of group 1 (4 members),
    /// 2 (3 members), 5 (weighted) or 6 (resilient) by `k % 4`. TTL 64 and a good checksum: it
    /// is always forwarded.
    static func flowPacket(_ k: Int, _ rng: inout SplitMix64) -> [UInt8] {
        let r = UInt8(truncatingIfNeeded: rng.next())
        let dst: IPv4Address = [IPv4Address(10, 0, 2, r), IPv4Address(10, 0, 3, r), IPv4Address(10, 1, r, r &+ 1), IPv4Address(10, 3, 128 | r, r)][k % 4]
        let src = IPv4Address(10, 9, UInt8(truncatingIfNeeded: rng.next()), UInt8(truncatingIfNeeded: rng.next()))
        let sport = UInt16(1024 + rng.next() % 60_000), dport = [80, 443, 4791, 5001][Int(rng.next() % 4)] as UInt16
        let ip = Packet.ethernet(dst: "02:00:00:00:0a:01", src: "00:00:00:00:00:99").ipv4(src: src, dst: dst)
        return (k % 2 == 0 ? ip.udp(sport: sport, dport: dport) : ip.tcp(sport: sport, dport: dport)).payload(count: 8 + Int(rng.next() % 40)).bytes
    }

    static func traffic(seed: UInt64) -> Traffic {
        var rng = SplitMix64(seed: seed ^ 0xF10E)
        let corpus = Corpus.make(seed: seed, random: 10_000)
        let flows = (0..<flowCount).map { flowPacket($0, &rng) }
        var t = Traffic()
        var clock: UInt64 = (1 << 48) - 30_000_000
        var last = [UInt64?](repeating: nil, count: flowCount)
        var c = 0, f = 0
        while c < corpus.count || f < flowPackets {
            // Interleave the two in proportion to what is left of each.
            let takeFlow = c == corpus.count || (f < flowPackets && rng.next() % UInt64(corpus.count - c + flowPackets - f) < UInt64(flowPackets - f))
            clock += rng.next() % 200 == 0 ? 60_000 + rng.next() % 190_000 : 100 + rng.next() % 800
            guard takeFlow else {
                t.packets.append((corpus[c], 1)); t.times.append(clock); t.flow.append(nil)
                c += 1
                continue
            }
            // Flow k with probability about 1 / (k + 1): a few busy flows, many rare ones.
            let u = Double(rng.next() >> 11) / Double(1 << 53)
            let k = min(flowCount - 1, Int(pow(Double(flowCount), u)) - 1)
            // One flow packet in 40 comes exactly at the timeout (or 1 ns after) if it can.
            if let l = last[k], clock - l < timeout, rng.next() % 40 == 0 {
                if rng.next() % 2 == 0 { clock = l + timeout; t.atTimeout += 1 } else { clock = l + timeout + 1; t.justOver += 1 }
            }
            last[k] = clock
            t.packets.append((flows[k], UInt16(1 + rng.next() % 4))); t.times.append(clock); t.flow.append(k)
            f += 1
        }
        return t
    }

    @Test func runtimeAndKernelAgreeOnASeededClock() throws {
        print("FlowletConformanceTests seed \(Self.seed)")
        let ir = try #require(ProgramRegistry.named(Flowlet.name)).build().verified()
        let runtime = try SwitchHarness(ir, entries: Self.entries)
        let xdp = try XDPProgram(ir)
        let cp = try XDPControlPlane(xdp)
        try EntriesFile(file: "<entries>", text: Self.entries).apply(to: cp)
        let t = Self.traffic(seed: Self.seed)
        #expect(t.times.first! < 1 << 48 && t.times.last! > 1 << 48, "the clock crosses the 48-bit wrap: \(t.times.first!) ... \(t.times.last!)")

        var d = Differential()
        try d.run(runtime, xdp, t.packets, times: t.times)
        print("flowlet (seeded clock): \(d.summary)")
        d.expectAgreement("flowlet")
        #expect(d.compared >= 20_000)
        let regs = try Differential.compareRegisters(ir, runtime.pipeline, cp)
        #expect(regs.differ.isEmpty, "flowlet register: \(regs.differ.filter { !$0.isEmpty }.joined(separator: "\n"))")

        // What the flows did, from the ports their packets left by: within the timeout a flow
        // keeps its port; after it, it draws again, and the draw usually differs (a group of n
        // members keeps the port with chance about 1/n).
        var lastTime = [UInt64?](repeating: nil, count: Self.flowCount), lastPort = [UInt16](repeating: 0, count: Self.flowCount)
        var kept = 0, keptButMoved = 0, rechosen = 0, redrawnSame = 0, atTimeoutKept = 0, justOverMoved = 0
        for (i, k) in t.flow.enumerated() {
            guard let k else { continue }
            let out = d.outPorts[i]
            try #require(out.count == 1, "flow \(k) packet \(i) left by \(out) (always routed)")
            if let lt = lastTime[k] {
                let gap = t.times[i] - lt
                if gap <= Self.timeout {
                    if out[0] == lastPort[k] { kept += 1; if gap == Self.timeout { atTimeoutKept += 1 } } else { keptButMoved += 1 }
                } else if out[0] != lastPort[k] {
                    rechosen += 1; if gap == Self.timeout + 1 { justOverMoved += 1 }
                } else {
                    redrawnSame += 1
                }
            }
            lastTime[k] = t.times[i]; lastPort[k] = out[0]
        }
        print("flowlet flows: \(kept) packets kept their flowlet's port, \(rechosen) started a flowlet on another port, \(redrawnSame) started one on the same port, \(keptButMoved) moved within the timeout; \(t.atTimeout) packets at exactly the timeout (\(atTimeoutKept) kept), \(t.justOver) 1 ns over (\(justOverMoved) moved); \(regs.nonzero) register cells written")
        // Both branches ran many times, at the boundary too.
        #expect(kept > 2_000 && rechosen > 1_000, "kept \(kept), re-chosen \(rechosen)")
        #expect(atTimeoutKept > 20 && justOverMoved > 20, "at the timeout \(atTimeoutKept) kept, 1 ns over \(justOverMoved) moved")
        // Within the timeout a flow moves only when another flow sharing its cell wrote it in
        // between (the corpus has thousands of flows over 65,536 cells): rarely.
        #expect(keptButMoved * 200 < kept, "\(keptButMoved) packets moved within the timeout, \(kept) kept")
        // Every member of every group carried flow packets.
        #expect(ecmpPorts.filter { $0 != 1 }.allSatisfy { d.byPort[$0, default: 0] > 0 }, "\(d.byPort.sorted { $0.key < $1.key })")
    }
}
