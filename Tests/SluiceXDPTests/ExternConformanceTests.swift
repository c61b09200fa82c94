import Foundation
import SluiceControlPlane
import Testing
import Sluice
import SluiceIR
import SluiceRuntime
import SluiceTesting
import SluiceXDP

/// Registers (every register action shape), indexed counters and the expression operators
/// compiled for XDP: the same packets give the same bytes as the runtime, and the registers
/// and counters read back through both control planes hold the same values.
@Suite(.serialized, .enabled(if: isRoot, "needs root: loads eBPF programs into the kernel (CI runs as root)"))
struct ExternConformanceTests {
    static let outputs = ["add", "addNew", "or", "andNot", "max", "addOrSet", "countdown", "read", "oob", "sat", "satSub", "sar",
                          "crc", "crc16", "ident", "mixed", "cmp"]

    static func program() -> SwitchProgram {
        SwitchProgram("externs") {
            HeaderType("eth_t") { Field("dst", 48); Field("src", 48); Field("type", 16) }
            HeaderType("h_t") {
                Field("idx", 8); Field("val", 16); Field("flag", 8); Field("nib", 4); Field("sval", 12, signed: true)
                for n in outputs { Field(n, 16) }
            }
            Header("eth", "eth_t")
            Header("h", "h_t")
            for r in ["acc", "accN", "bits", "clr", "mx", "aos", "cd", "wr"] { Register(r, width: 16, size: 8) }
            Counter("perIdx", size: 8)
            Parser {
                State("start") { Extract(hdr.eth); Extract(hdr.h) }
            }
            Ingress {
                Count("perIdx", index: hdr.h.idx)
                RegisterAction.add("acc", index: hdr.h.idx, hdr.h.val, oldInto: hdr.h.add)
                RegisterAction("accN", index: hdr.h.idx, result: hdr.h.addNew, returnsNew: true) { old in old + hdr.h.val }
                RegisterAction.or("bits", index: hdr.h.idx, hdr.h.val, oldInto: hdr.h.or)
                RegisterAction.andNot("clr", index: hdr.h.idx, hdr.h.val, oldInto: hdr.h.andNot)
                RegisterAction.max("mx", index: hdr.h.idx, hdr.h.val, oldInto: hdr.h.max)
                RegisterAction.addOrSet("aos", index: hdr.h.idx, hdr.h.val, add: hdr.h.flag == 1, oldInto: hdr.h.addOrSet)
                RegisterAction.countdown("cd", index: hdr.h.idx, reset: 3, newInto: hdr.h.countdown)
                RegisterRead("acc", index: hdr.h.idx, into: hdr.h.read)
                RegisterWrite("wr", index: hdr.h.idx, hdr.h.val)
                RegisterRead("acc", index: hdr.h.idx + 100, into: hdr.h.oob)
                Assign(hdr.h.sat, hdr.h.val |+| hdr.h.add)
                Assign(hdr.h.satSub, hdr.h.add |-| hdr.h.val)
                Assign(hdr.h.sar, Signed.shr(hdr.h.sval, hdr.h.nib).cast(16))
                Assign(hdr.h.crc, hash(.crc32, [hdr.h.idx, hdr.h.val, hdr.eth.src], width: 16))
                Assign(hdr.h.crc16, hash(.crc16, [hdr.h.nib, hdr.h.sval, hdr.h.flag], width: 16, base: 7, modulo: 1000))
                Assign(hdr.h.ident, hash(.identity, [hdr.h.nib, hdr.h.idx], width: 16))
                Assign(hdr.h.mixed, mux(hdr.h.flag > 100, (hdr.h.val ^ 0xFFFF) << 3, hdr.h.val * 7 - 1))
                Assign(hdr.h.cmp, mux(Signed.lt(hdr.h.sval, .bits(0, 12)), .bits(1, 16), .bits(2, 16)))
                Assign(standard.egressSpec, hdr.h.idx.cast(9) & 3)
            }
            Deparser { Emit(hdr.eth); Emit(hdr.h) }
        }
    }

    @Test func registersCountersAndOperatorsAgree() throws {
        let ir = try Self.program().verified()
        let runtime = try SwitchHarness(ir)
        let xdp = try XDPProgram(ir)
        let cp = try XDPControlPlane(xdp)
        try runtime.pipeline.writeRegister("clr", index: 1, 0xFFFF)
        try cp.writeRegister("clr", index: 1, 0xFFFF)
        var rng = SplitMix64(seed: 0x5EED_0011)
        var packets: [(bytes: [UInt8], port: UInt16)] = []
        for _ in 0..<600 {
            // Indices 0...11 (some past the registers' 8 cells), values biased towards edges.
            var p = [UInt8](repeating: 0, count: 14 + 7 + 2 * Self.outputs.count)
            for b in 0..<14 { p[b] = UInt8(truncatingIfNeeded: rng.next()) }
            p[14] = UInt8(rng.next() % 12)
            let v = [0, 1, 0xFFFF, 0x8000, UInt16(truncatingIfNeeded: rng.next())][Int(rng.next() % 5)]
            p[15] = UInt8(v >> 8); p[16] = UInt8(v & 0xFF)
            p[17] = UInt8(truncatingIfNeeded: rng.next())
            p[18] = UInt8(truncatingIfNeeded: rng.next()); p[19] = UInt8(truncatingIfNeeded: rng.next())
            packets.append((p, 1))
        }
        var d = Differential()
        try d.run(runtime, xdp, packets)
        d.expectAgreement("externs")
        #expect(d.forwarded == 600, "\(d.summary)")
        for r in ["acc", "accN", "bits", "clr", "mx", "aos", "cd", "wr"] {
            for i in 0..<8 {
                #expect(try runtime.pipeline.readRegister(r, index: i) == cp.readRegister(r, index: i), "\(r)[\(i)]")
            }
        }
        for i in 0..<8 {
            let a = try runtime.pipeline.counter("perIdx", index: i), b = try cp.counter("perIdx", index: i)
            #expect(a.packets == b.packets && a.bytes == b.bytes, "perIdx[\(i)]: runtime \(a), kernel \(b)")
            #expect(a.packets > 0)
        }
    }
}

/// What a controller writes (counter cells, an entry's direct counter, a meter cleared) lands
/// alike in the kernel's maps and the runtime: the same figures read back, and packets count on
/// from them (and are coloured) the same way.
@Suite(.serialized, .enabled(if: isRoot, "needs root: loads eBPF programs into the kernel (CI runs as root)"))
struct WrittenExternConformanceTests {
    static func program() -> SwitchProgram {
        SwitchProgram("written") {
            HeaderType("eth_t") { Field("dst", 48); Field("src", 48); Field("type", 16) }
            HeaderType("h_t") { Field("key", 8); Field("idx", 8); Field("color", 8) }
            Header("eth", "eth_t")
            Header("h", "h_t")
            Counter("hits", size: 4)
            Meter("police", size: 2, unit: .packets)
            Parser { State("start") { Extract(hdr.eth); Extract(hdr.h) } }
            Action("to", Param("port", 9)) { Forward(port: param.port) }
            Table("fwd") {
                Key(hdr.h.key, .exact)
                Actions("to")
                DefaultAction("to", 1)
                DirectCounter()
                Size(8)
            }
            Ingress {
                Apply("fwd")
                Count("hits", index: hdr.h.idx)
                ExecuteMeter("police", index: hdr.h.idx, into: hdr.h.color)
            }
            Deparser { Emit(hdr.eth); Emit(hdr.h) }
        }
    }

    @Test func writtenCountersAndClearedMetersAgree() throws {
        let ir = try Self.program().verified()
        let runtime = try SwitchHarness(ir)
        let cp = try XDPControlPlane(try XDPProgram(ir))
        let xdp = cp.xdp
        var handles: [EntryHandle] = []
        for c in [runtime.pipeline as any ControlPlane, cp] {
            handles.append(try c.insert("fwd", TableEntry([.exact(5)], ActionCall("to", [2]))))
            try c.writeCounter("hits", index: 1, packets: 1000, bytes: 64000)
            // Index 0 polices hard (1 packet of burst, then red), then is cleared: green again.
            try c.setMeter("police", index: 0, MeterRates(cir: 1, cbs: 1, pir: 1, pbs: 1))
            try c.clearMeter("police", index: 0)
        }
        try runtime.pipeline.writeDirectCounter(handles[0], packets: 70, bytes: 7000)
        try cp.writeDirectCounter(handles[1], packets: 70, bytes: 7000)
        #expect(try cp.directCounter(handles[1]) == (packets: 70, bytes: 7000))
        #expect(try cp.counter("hits", index: 1) == (packets: 1000, bytes: 64000))
        let frame = { (key: UInt8, idx: UInt8) in
            (Packet.ethernet(dst: "02:00:00:00:00:01", src: "02:00:00:00:00:02", etherType: 0x88B5).payload([key, idx, 0xEE] + [UInt8](repeating: 0, count: 43)).bytes, UInt16(1))
        }
        let packets = (0..<12).map { frame($0 % 3 == 0 ? 5 : 6, UInt8($0 % 2)) }
        var d = Differential()
        try d.run(runtime, xdp, packets)
        // The colours agree byte for byte: meter 0 was cleared in the kernel as in the runtime,
        // where every packet is green (a 1-packet burst left set would colour them red).
        d.expectAgreement("written")
        let length = UInt64(packets[0].0.count)
        for c in [runtime.pipeline as any ControlPlane, cp] {
            #expect(try c.counter("hits", index: 1) == (packets: 1006, bytes: 64000 + 6 * length))
            #expect(try c.counter("hits", index: 0) == (packets: 6, bytes: 6 * length))
        }
        #expect(try runtime.pipeline.directCounter(handles[0]) == (packets: 74, bytes: 7000 + 4 * length))
        #expect(try cp.directCounter(handles[1]) == (packets: 74, bytes: 7000 + 4 * length))
    }
}

/// A program with an egress stage: egress parses the deparsed packet again (ingress can change
/// what it finds), sees `egressPort`, and can drop; the kernel and the runtime agree.
@Suite(.serialized, .enabled(if: isRoot, "needs root: loads eBPF programs into the kernel (CI runs as root)"))
struct EgressConformanceTests {
    static func program() -> SwitchProgram {
        SwitchProgram("egress") {
            HeaderType("eth_t") { Field("dst", 48); Field("src", 48); Field("type", 16) }
            HeaderType("h_t") { Field("a", 8); Field("b", 8); Field("port", 16) }
            Header("eth", "eth_t")
            Header("h", "h_t")
            Parser {
                State("start") {
                    Extract(hdr.eth)
                    Select(hdr.eth.type) {
                        Case(Keyset(UInt128(0x88B5)), next: "parse_h")
                        Default(next: "accept")
                    }
                }
                State("parse_h") { Extract(hdr.h) }
            }
            Ingress {
                If(hdr.h.isValid) {
                    Assign(standard.egressSpec, hdr.h.a.cast(9) & 3)
                    If(hdr.h.b == 7) { Assign(hdr.eth.type, .bits(0x1234, 16)) }
                    Assign(hdr.h.a, hdr.h.a + 1)
                } else: {
                    Assign(standard.egressSpec, .bits(1, 9))
                }
            }
            Egress {
                If(hdr.h.isValid) {
                    Assign(hdr.h.port, standard.egressPort.cast(16))
                    Assign(hdr.h.b, hdr.h.b ^ 0xFF)
                    If(standard.egressPort == standard.ingressPort) { Drop() }
                } else: {
                    Assign(hdr.eth.dst, hdr.eth.dst + 1)
                }
            }
            Deparser { Emit(hdr.eth); Emit(hdr.h) }
        }
    }

    @Test func egressAgreesWithTheRuntime() throws {
        let ir = try Self.program().verified()
        let runtime = try SwitchHarness(ir)
        let xdp = try XDPProgram(ir)
        var rng = SplitMix64(seed: 0x5EED_0012)
        var packets: [(bytes: [UInt8], port: UInt16)] = []
        for _ in 0..<2000 {
            var p = (0..<(18 + Int(rng.next() % 30))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            if rng.next() % 5 != 0 { p[12] = 0x88; p[13] = 0xB5 }
            if rng.next() % 4 == 0 && p.count > 15 { p[15] = 7 }
            packets.append((p, UInt16(rng.next() % 4)))
        }
        var d = Differential()
        try d.run(runtime, xdp, packets)
        d.expectAgreement("egress")
        let forwarded = d.forwarded, dropped = d.dropped
        #expect(forwarded > 500 && dropped > 200, "forwarded \(forwarded), dropped \(dropped)")
    }
}
