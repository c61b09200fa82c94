import Foundation
import Testing
import Sluice
import SluiceIR
import SluiceRuntime
import SluiceTesting
import SluiceXDP

/// `standard.ingressTimestamp` at XDP: nanoseconds as in the runtime, from the kernel's
/// monotonic clock on an interface and from the test clock in test runs, so a program that
/// times flows (a flowlet switch) runs differentially with the same clock in both backends.
@Suite(.serialized, .enabled(if: isRoot, "needs root: loads eBPF programs into the kernel (CI runs as root)"))
struct ClockConformanceTests {
    /// Flowlets: a flow's packets more than 50 us after its previous one start a new flowlet,
    /// which picks the port. The header gets the timestamp, the gap and the flowlet number.
    static func program() -> SwitchProgram {
        SwitchProgram("flowlets") {
            HeaderType("eth_t") { Field("dst", 48); Field("src", 48); Field("type", 16) }
            HeaderType("h_t") { Field("flow", 8); Field("ts", 48); Field("gap", 48); Field("flowlet", 16) }
            Header("eth", "eth_t")
            Header("h", "h_t")
            Register("last", width: 48, size: 8)
            Register("flowlet", width: 16, size: 8)
            Parser {
                State("start") { Extract(hdr.eth); Extract(hdr.h) }
            }
            Ingress {
                Assign(hdr.h.ts, standard.ingressTimestamp)
                RegisterRead("last", index: hdr.h.flow, into: hdr.h.gap)
                Assign(hdr.h.gap, standard.ingressTimestamp - hdr.h.gap)
                RegisterWrite("last", index: hdr.h.flow, standard.ingressTimestamp)
                If(hdr.h.gap > 50_000) {
                    RegisterAction.add("flowlet", index: hdr.h.flow, .bits(1, 16), oldInto: hdr.h.flowlet)
                } else: {
                    RegisterRead("flowlet", index: hdr.h.flow, into: hdr.h.flowlet)
                }
                Assign(standard.egressSpec, hdr.h.flowlet.cast(9) & 3)
            }
            Deparser { Emit(hdr.eth); Emit(hdr.h) }
        }
    }

    static func packet(flow: UInt8, _ rng: inout SplitMix64) -> [UInt8] {
        Packet.ethernet(dst: "02:00:00:00:00:01", src: "02:00:00:00:00:02", etherType: 0x88B5)
            .payload([flow] + [UInt8](repeating: 0, count: 14) + (0..<Int(rng.next() % 20)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }).bytes
    }

    @Test func theTestClockDrivesFlowletsAlikeInBothBackends() throws {
        let ir = try Self.program().verified()
        let runtime = try SwitchHarness(ir)
        let xdp = try XDPProgram(ir)
        let cp = try XDPControlPlane(xdp)
        var rng = SplitMix64(seed: 0x5EED_0C10)
        let packets = (0..<3000).map { _ in (Self.packet(flow: UInt8(rng.next() % 10), &rng), UInt16(1 + rng.next() % 3)) }
        var d = Differential()
        try d.run(runtime, xdp, packets)
        print("flowlets: \(d.summary)")
        d.expectAgreement("flowlets")
        #expect(d.forwarded + d.dropped == 3000 && d.forwarded > 1000)
        let regs = try Differential.compareRegisters(ir, runtime.pipeline, cp)
        #expect(regs.differ.isEmpty, "\(regs.differ.filter { !$0.isEmpty }.joined(separator: "\n"))")
        // New flowlets did start (the clock's 0.1 ms steps), and not on every packet.
        let flowlets = try (0..<8).map { try cp.readRegister("flowlet", index: $0) }.reduce(0, +)
        #expect(flowlets > 100 && flowlets < 1500, "\(flowlets) flowlets for 3000 packets")
    }

    /// Without a test clock the timestamp is the kernel's monotonic clock in nanoseconds (the
    /// runtime's unit), cut to 48 bits: between CLOCK_MONOTONIC read before and after the run.
    @Test func onTheKernelClockTheTimestampIsMonotonicNanoseconds() throws {
        let xdp = try XDPProgram(try Self.program().verified())
        var rng = SplitMix64(seed: 1)
        func now() -> UInt64 {
            var t = timespec()
            clock_gettime(CLOCK_MONOTONIC, &t)
            return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
        }
        let mask: UInt64 = (1 << 48) - 1
        let before = now()
        let r = try xdp.run(Self.packet(flow: 1, &rng), port: 1)
        let after = now()
        let ts = r.bytes[15..<21].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        #expect(r.forwarded)
        #expect((ts &- (before & mask)) & mask <= (after &- before), "timestamp \(ts) outside [\(before & mask), \(after & mask)]")
        // And the test clock, when given, is taken as is.
        let t = try xdp.run(Self.packet(flow: 1, &rng), port: 1, timestamp: 0x1234_5678_9ABC)
        #expect(t.bytes[15..<21].reduce(UInt64(0)) { $0 << 8 | UInt64($1) } == 0x1234_5678_9ABC)
    }
    /// The timestamp is a 48-bit field in both backends: a clock past 2^48 ns (a capture time
    /// since 1970, a kernel up for 78 hours) reaches the program cut to 48 bits, in comparisons
    /// and widening casts as in stores.
    @Test func timestampsPast48BitsAreCutAlike() throws {
        let p = SwitchProgram("wide-clock") {
            HeaderType("eth_t") { Field("dst", 48); Field("src", 48); Field("type", 16) }
            HeaderType("h_t") { Field("above", 8); Field("five", 8); Field("wide", 64) }
            Header("eth", "eth_t")
            Header("h", "h_t")
            Parser { State("start") { Extract(hdr.eth); Extract(hdr.h) } }
            Ingress {
                If(standard.ingressTimestamp > 0xFFFF_0000_0000) { Assign(hdr.h.above, 1) } else: { Assign(hdr.h.above, 2) }
                If(standard.ingressTimestamp == 5) { Assign(hdr.h.five, 1) } else: { Assign(hdr.h.five, 2) }
                Assign(hdr.h.wide, standard.ingressTimestamp.cast(64))
                Assign(standard.egressSpec, 1)
            }
            Deparser { Emit(hdr.eth); Emit(hdr.h) }
        }
        let ir = try p.verified()
        let runtime = try SwitchHarness(ir)
        let xdp = try XDPProgram(ir)
        let packet = Packet.ethernet(dst: "02:00:00:00:00:01", src: "02:00:00:00:00:02", etherType: 0x88B5).payload(count: 10).bytes
        for t: UInt64 in [5, (1 << 48) - 1, 1 << 48, (1 << 48) + 5, 1_764_000_000_123_456_789, .max] {
            try runtime.send(packet, port: 1, timestamp: t)
            let soft = runtime.drain()
            let k = try xdp.run(packet, port: 1, timestamp: t)
            #expect(soft.count == 1 && k.forwarded)
            #expect(soft.first?.bytes == k.bytes, "clock \(t): runtime \(soft.first.map { Differential.hex($0.bytes) } ?? "nothing"), kernel \(Differential.hex(k.bytes))")
            let wide = k.bytes[16..<24].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            #expect(wide == t & ((1 << 48) - 1), "clock \(t): the program saw \(wide)")
            #expect(k.bytes[15] == (t & ((1 << 48) - 1) == 5 ? 1 : 2))
        }
    }
}
