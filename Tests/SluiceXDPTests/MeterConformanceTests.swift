import SluiceControlPlane
import Foundation
import Testing
import Sluice
import SluiceIR
import SluiceRuntime
import SluiceTesting
import SluiceXDP

/// Meters at XDP (RFC 2698 two-rate three-colour, in bytes and in packets) on the test clock:
/// every packet gets the same colours as in the runtime, so it leaves by the same port or is
/// dropped alike, and the control planes refuse the same bad rates.
@Suite(.serialized, .enabled(if: isRoot, "needs root: loads eBPF programs into the kernel (CI runs as root)"))
struct MeterConformanceTests {
    /// Red in bytes is dropped; otherwise the port is 1 + 3 x byte colour + packet colour.
    static func program() -> SwitchProgram {
        SwitchProgram("policer") {
            HeaderType("eth_t") { Field("dst", 48); Field("src", 48); Field("type", 16) }
            HeaderType("h_t") { Field("idx", 8); Field("color", 8); Field("pcolor", 8) }
            Header("eth", "eth_t")
            Header("h", "h_t")
            Meter("bytes", size: 4, unit: .bytes)
            Meter("pkts", size: 4, unit: .packets)
            Parser {
                State("start") { Extract(hdr.eth); Extract(hdr.h) }
            }
            Ingress {
                ExecuteMeter("bytes", index: hdr.h.idx, into: hdr.h.color)
                ExecuteMeter("pkts", index: hdr.h.idx, into: hdr.h.pcolor)
                If(hdr.h.color == 2) { Drop() } else: {
                    Assign(standard.egressSpec, (hdr.h.color * 3 + hdr.h.pcolor + 1).cast(9))
                }
            }
            Deparser { Emit(hdr.eth); Emit(hdr.h) }
        }
    }

    /// Cells 0 ... 2 configured (3 is not: always green), the same calls on both.
    static func configure(_ cp: any ControlPlane) throws {
        for i in 0..<3 {
            try cp.setMeter("bytes", index: i, MeterRates(cir: 1_000_000 * UInt64(i + 1), cbs: 3000, pir: 3_000_000, pbs: 6000))
            try cp.setMeter("pkts", index: i, MeterRates(cir: 5_000, cbs: 2, pir: 15_000 * UInt64(i + 1), pbs: 5))
        }
    }

    @Test func metersColourAlikeOnTheTestClock() throws {
        let ir = try Self.program().verified()
        let runtime = try SwitchHarness(ir)
        let xdp = try XDPProgram(ir)
        let cp = try XDPControlPlane(xdp)
        try Self.configure(runtime.pipeline)
        try Self.configure(cp)
        var rng = SplitMix64(seed: 0x5EED_0E7E)
        // Indices 0 ... 5 (4 and 5 past the meters: green), 60 to 1000-byte frames.
        let packets = (0..<4000).map { _ in
            (Packet.ethernet(dst: "02:00:00:00:00:01", src: "02:00:00:00:00:02", etherType: 0x88B5)
                .payload([UInt8(rng.next() % 6), 0, 0] + [UInt8](repeating: 0, count: 43 + Int(rng.next() % 940))).bytes, UInt16(1))
        }
        var d = Differential()
        try d.run(runtime, xdp, packets)
        print("policer: \(d.summary); by port \(d.byPort.sorted { $0.key < $1.key })")
        d.expectAgreement("policer")
        // Every colour came up: in bytes red (dropped), yellow (ports 4 ... 6) and green
        // (1 ... 3); in packets yellow (2, 5) and red (3, 6) besides green.
        let port: (UInt16) -> Int = { d.byPort[$0] ?? 0 }
        let yellow: Int = port(4) + port(5) + port(6)
        #expect(d.dropped > 100 && d.forwarded > 100)
        #expect(yellow > 100, "no yellow: \(d.byPort)")
        #expect(port(2) + port(5) > 50 && port(3) + port(6) > 50, "packet colours: \(d.byPort)")
    }

    @Test func badRatesAreRefusedAlike() throws {
        let ir = try Self.program().verified()
        let runtime = try SwitchHarness(ir)
        let cp = try XDPControlPlane(try XDPProgram(ir))
        for (name, index, rates) in [("bytes", 4, MeterRates(cir: 1, cbs: 1, pir: 1, pbs: 1)), ("nope", 0, MeterRates(cir: 1, cbs: 1, pir: 1, pbs: 1)),
                                     ("bytes", 0, MeterRates(cir: 2, cbs: 1, pir: 1, pbs: 1))] {
            #expect(throws: ControlPlaneError.self) { try runtime.pipeline.setMeter(name, index: index, rates) }
            #expect(throws: ControlPlaneError.self) { try cp.setMeter(name, index: index, rates) }
        }
        #expect(throws: ControlPlaneError.self) { try cp.setMeter("bytes", index: 0, MeterRates(cir: 1, cbs: 1, pir: 1, pbs: 1 << 40)) }
    }
}
