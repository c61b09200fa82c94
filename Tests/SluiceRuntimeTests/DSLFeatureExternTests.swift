// Externs: registers and register actions, counters, meters, hashes, random numbers, digests
// and checksums.

import SluiceControlPlane
import Testing
import Sluice
import SluiceIR
import SluiceRuntime
import SluiceTesting

@Suite struct DSLFeatureExternTests {
    // MARK: registers

    static let registerOutputs = ["add", "addNew", "or", "andNot", "max", "addOrSet", "countdown", "read", "oobRead", "oobAction"]

    static func registerProgram() -> SwitchProgram {
        SwitchProgram("registers") {
            HeaderType("h_t") {
                Field("idx", 8); Field("val", 16); Field("flag", 8)
                for n in registerOutputs { Field(n, 16) }
            }
            Header("h", "h_t")
            for r in ["acc", "accN", "bits", "clr", "mx", "aos", "cd", "wr"] { Register(r, width: 16, size: 8) }
            Parser { State("start") { Extract(hdr.h) } }
            Ingress {
                RegisterAction.add("acc", index: hdr.h.idx, hdr.h.val, oldInto: hdr.h.add)
                RegisterAction("accN", index: hdr.h.idx, result: hdr.h.addNew, returnsNew: true) { old in old + hdr.h.val }
                RegisterAction.or("bits", index: hdr.h.idx, hdr.h.val, oldInto: hdr.h.or)
                RegisterAction.andNot("clr", index: hdr.h.idx, hdr.h.val, oldInto: hdr.h.andNot)
                RegisterAction.max("mx", index: hdr.h.idx, hdr.h.val, oldInto: hdr.h.max)
                RegisterAction.addOrSet("aos", index: hdr.h.idx, hdr.h.val, add: hdr.h.flag == 1, oldInto: hdr.h.addOrSet)
                RegisterAction.countdown("cd", index: hdr.h.idx, reset: 3, newInto: hdr.h.countdown)
                RegisterRead("acc", index: hdr.h.idx, into: hdr.h.read)
                RegisterWrite("wr", index: hdr.h.idx, hdr.h.val)
                // Indices past the end: reads give 0, writes and updates change nothing.
                RegisterRead("acc", index: hdr.h.idx + 100, into: hdr.h.oobRead)
                RegisterAction.add("acc", index: hdr.h.idx + 100, hdr.h.val, oldInto: hdr.h.oobAction)
                RegisterWrite("wr", index: hdr.h.idx + 8, 0xDEAD)
            }
            Deparser { Emit(hdr.h) }
        }
    }

    @Test func registerReadWriteAndActionsReturnOldOrNewValues() throws {
        let pl = try pipeline(Self.registerProgram())
        try pl.writeRegister("clr", index: 1, 0xFFFF)
        func send(_ val: UInt16, flag: UInt8) throws -> [UInt64] {
            let n = Self.registerOutputs.count
            let out = try runOne(pl, [1] + be(UInt128(val), 2) + [flag] + [UInt8](repeating: 0xAB, count: 2 * n))
            return (0..<n).map { UInt64(unpack(out.bytes, bitOffset: 32 + 16 * $0, width: 16)) }
        }
        //                          add     addNew  or      andNot  max     addOrSet countdown read oob oobAction
        #expect(try send(5, flag: 0) == [0, 5, 0, 0xFFFF, 0, 0, 3, 5, 0, 0])
        #expect(try send(3, flag: 1) == [5, 8, 5, 0xFFFA, 5, 5, 2, 8, 0, 0])
        #expect(try send(0xFFFF, flag: 1) == [8, 7, 7, 0xFFF8, 5, 8, 1, 7, 0, 0])
        #expect(try send(2, flag: 0) == [7, 9, 0xFFFF, 0, 0xFFFF, 7, 0, 9, 0, 0])
        #expect(try send(1, flag: 0) == [9, 10, 0xFFFF, 0, 0xFFFF, 2, 3, 10, 0, 0])
        // The control plane sees the same cells; other indices were never touched.
        #expect(try pl.readRegister("acc", index: 1) == 10)
        #expect(try pl.readRegister("accN", index: 1) == 10)
        #expect(try pl.readRegister("bits", index: 1) == 0xFFFF)
        #expect(try pl.readRegister("clr", index: 1) == 0)
        #expect(try pl.readRegister("mx", index: 1) == 0xFFFF)
        #expect(try pl.readRegister("aos", index: 1) == 1)
        #expect(try pl.readRegister("cd", index: 1) == 3)
        #expect(try pl.readRegister("wr", index: 1) == 1)
        for r in ["acc", "accN", "bits", "mx", "aos", "cd", "wr"] {
            for i in [0, 2, 7] { #expect(try pl.readRegister(r, index: i) == 0, "\(r)[\(i)]") }
        }
        #expect(throws: ControlPlaneError("register 'acc' has indices 0...7; 8 is outside")) { try pl.readRegister("acc", index: 8) }
        try pl.resetRegister("acc")
        #expect(try pl.readRegister("acc", index: 1) == 0)
    }

    // MARK: counters

    static func counterProgram() -> SwitchProgram {
        SwitchProgram("counters") {
            HeaderType("h_t") { Field("x", 8) }
            Header("h", "h_t")
            Counter("perPort", size: 4)
            Parser { State("start") { Extract(hdr.h) } }
            Ingress { Count("perPort", index: standard.ingressPort) }
            Deparser { Emit(hdr.h) }
        }
    }

    @Test func indexedCounterCountsPacketsAndBytes() throws {
        let pl = try pipeline(Self.counterProgram())
        _ = pl.process([UInt8](repeating: 1, count: 10), port: 1)
        _ = pl.process([UInt8](repeating: 1, count: 20), port: 1)
        _ = pl.process([UInt8](repeating: 1, count: 64), port: 3)
        _ = pl.process([UInt8](repeating: 1, count: 64), port: 9)  // outside the counter: ignored
        #expect(try pl.counter("perPort", index: 0) == (packets: 0, bytes: 0))
        #expect(try pl.counter("perPort", index: 1) == (packets: 2, bytes: 30))
        #expect(try pl.counter("perPort", index: 3) == (packets: 1, bytes: 64))
        try pl.resetCounter("perPort")
        #expect(try pl.counter("perPort", index: 1) == (packets: 0, bytes: 0))
    }

    @Test func indexedCounterIsWrittenAndCountsOn() throws {
        let pl = try pipeline(Self.counterProgram())
        try pl.writeCounter("perPort", index: 2, packets: 7, bytes: 700)
        _ = pl.process([UInt8](repeating: 1, count: 10), port: 2)
        #expect(try pl.counter("perPort", index: 2) == (packets: 8, bytes: 710))
        #expect(try pl.counter("perPort", index: 1) == (packets: 0, bytes: 0))
        #expect(throws: ControlPlaneError("counter 'perPort' has indices 0...3; 4 is outside")) {
            try pl.writeCounter("perPort", index: 4, packets: 1, bytes: 1)
        }
    }

    // MARK: meters

    static func meterProgram() -> SwitchProgram {
        SwitchProgram("meters") {
            HeaderType("h_t") { Field("which", 8); Field("color", 8) }
            Header("h", "h_t")
            Meter("pkts", size: 2, unit: .packets)
            Meter("bytes", size: 1, unit: .bytes)
            Parser { State("start") { Extract(hdr.h) } }
            Ingress {
                If(hdr.h.which == 0) {
                    ExecuteMeter("pkts", index: 0, into: hdr.h.color)
                } else: {
                    If(hdr.h.which == 1) {
                        ExecuteMeter("pkts", index: 1, into: hdr.h.color)
                    } else: {
                        ExecuteMeter("bytes", index: 0, into: hdr.h.color)
                    }
                }
            }
            Deparser { Emit(hdr.h) }
        }
    }

    @Test func meterColorsFollowRatesAndTime() throws {
        let h = try SwitchHarness(Self.meterProgram().verified())
        // 1000 packets/s committed with a burst of 2, 2000/s peak with a burst of 4.
        try h.pipeline.setMeter("pkts", index: 0, MeterRates(cir: 1000, cbs: 2, pir: 2000, pbs: 4))
        func color(_ which: UInt8, at t: UInt64, length: Int = 2) throws -> UInt8 {
            try h.send([which, 0xFF] + [UInt8](repeating: 0, count: length - 2), port: 0, timestamp: t)
            return try #require(h.drain().first).bytes[1]
        }
        let ms: UInt64 = 1_000_000
        // Full buckets: 2 green, then 2 yellow (peak tokens left), then red.
        #expect(try [color(0, at: ms), color(0, at: ms), color(0, at: ms), color(0, at: ms), color(0, at: ms)] == [0, 0, 1, 1, 2])
        // 1 ms later: one committed token and two peak tokens have come back.
        #expect(try [color(0, at: 2 * ms), color(0, at: 2 * ms), color(0, at: 2 * ms)] == [0, 1, 2])
        // Long idle: the buckets refill only up to their bursts.
        #expect(try (0..<5).map { _ in try color(0, at: 1000 * ms) } == [0, 0, 1, 1, 2])
        // An unconfigured meter index is always green.
        #expect(try (0..<5).map { _ in try color(1, at: 1000 * ms) } == [0, 0, 0, 0, 0])
        // A bytes meter charges the packet length: 100-byte packets against 250/300-byte bursts.
        try h.pipeline.setMeter("bytes", index: 0, MeterRates(cir: 1, cbs: 250, pir: 1, pbs: 300))
        #expect(try (0..<4).map { _ in try color(2, at: 1000 * ms, length: 100) } == [0, 0, 1, 2])
        #expect(throws: ControlPlaneError("meter 'pkts': the committed rate 3 exceeds the peak rate 2")) {
            try h.pipeline.setMeter("pkts", index: 0, MeterRates(cir: 3, cbs: 1, pir: 2, pbs: 1))
        }
        // Cleared, index 0 is unconfigured again: always green, however fast packets come.
        try h.pipeline.clearMeter("pkts", index: 0)
        #expect(try (0..<5).map { _ in try color(0, at: 1000 * ms) } == [0, 0, 0, 0, 0])
        #expect(throws: ControlPlaneError("meter 'pkts' has indices 0...1; 2 is outside")) { try h.pipeline.clearMeter("pkts", index: 2) }
    }

    // MARK: hashes and random numbers

    static func hashProgram() -> SwitchProgram {
        SwitchProgram("hashes") {
            HeaderType("in_t") { Field("a", 8); Field("b", 16); Field("c", 32) }
            HeaderType("out_t") {
                Field("crc16", 16); Field("crc32", 32); Field("crc16bm", 16); Field("crc32bm", 16)
                Field("ident", 32); Field("ident8", 8); Field("crc16c", 16)
            }
            Header("i", "in_t")
            Header("o", "out_t")
            Parser { State("start") { Extract(hdr.i); Extract(hdr.o) } }
            Ingress {
                let all = [hdr.i.a, hdr.i.b, hdr.i.c]
                Assign(hdr.o.crc16, hash(.crc16, all, width: 16))
                Assign(hdr.o.crc32, hash(.crc32, all, width: 32))
                Assign(hdr.o.crc16bm, hash(.crc16, all, width: 16, base: 100, modulo: 1000))
                Assign(hdr.o.crc32bm, hash(.crc32, [hdr.i.c, hdr.i.a], width: 16, base: 7, modulo: 13))
                Assign(hdr.o.ident, hash(.identity, [hdr.i.a, hdr.i.b], width: 32))
                Assign(hdr.o.ident8, hash(.identity, all, width: 8))
                Assign(hdr.o.crc16c, hash(.crc16, [hdr.i.b ++ hdr.i.a], width: 16))
            }
            Deparser { Emit(hdr.i); Emit(hdr.o) }
        }
    }

    @Test(arguments: [[0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07], [0xFF, 0, 0, 0xDE, 0xAD, 0xBE, 0xEF], [0, 0, 0, 0, 0, 0, 0]] as [[UInt8]])
    func hashesMatchTheReferenceCRCs(_ input: [UInt8]) throws {
        let pl = try pipeline(Self.hashProgram())
        let out = try runOne(pl, input + [UInt8](repeating: 0, count: 17)).bytes
        let o = Array(out[7...])
        let crc16 = UInt128(CRC16.compute(input)), crc32 = UInt128(CRC32.compute(input))
        #expect(unpack(o, bitOffset: 0, width: 16) == crc16)
        #expect(unpack(o, bitOffset: 16, width: 32) == crc32)
        #expect(unpack(o, bitOffset: 48, width: 16) == 100 + crc16 % 1000)
        let cThenA = Array(input[3..<7]) + [input[0]]
        #expect(unpack(o, bitOffset: 64, width: 16) == 7 + UInt128(CRC32.compute(cThenA)) % 13)
        #expect(unpack(o, bitOffset: 80, width: 32) == UInt128(input[0]) << 16 | UInt128(input[1]) << 8 | UInt128(input[2]))
        #expect(unpack(o, bitOffset: 112, width: 8) == UInt128(input[6]))
        #expect(unpack(o, bitOffset: 120, width: 16) == UInt128(CRC16.compute([input[1], input[2], input[0]])))
    }

    /// CRC-32 and CRC-16 over the first n bytes of a 16-byte header, for every n from 1 to 16:
    /// the native engine's CRC-32 goes four bytes at a time with a byte-wise tail, so each
    /// length exercises a different split.
    static func crcLengthsProgram() -> SwitchProgram {
        SwitchProgram("crc-lengths") {
            HeaderType("in_t") { for i in 0..<16 { Field("b\(i)", 8) } }
            HeaderType("out_t") { for n in 1...16 { Field("crc32_\(n)", 32); Field("crc16_\(n)", 16) } }
            Header("i", "in_t")
            Header("o", "out_t")
            Parser { State("start") { Extract(hdr.i); Extract(hdr.o) } }
            Ingress {
                for n in 1...16 {
                    let bytes = (0..<n).map { hdr.i[dynamicMember: "b\($0)"] }
                    Assign(hdr.o[dynamicMember: "crc32_\(n)"], hash(.crc32, bytes, width: 32))
                    Assign(hdr.o[dynamicMember: "crc16_\(n)"], hash(.crc16, bytes, width: 16))
                }
            }
            Deparser { Emit(hdr.i); Emit(hdr.o) }
        }
    }

    @Test(arguments: PipelineEngine.allCases)
    func crcsOfEveryLengthMatchTheReference(_ engine: PipelineEngine) throws {
        let pl = try Pipeline(Self.crcLengthsProgram().verified(), engine: engine)
        #expect(pl.engine == engine, "\(pl.engineNote ?? "")")
        var rng = SplitMix64(seed: 0xC7C)
        for _ in 0..<50 {
            let input = (0..<16).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let o = Array(try runOne(pl, input + [UInt8](repeating: 0, count: 16 * 6)).bytes[16...])
            for n in 1...16 {
                let at = (n - 1) * 48
                #expect(unpack(o, bitOffset: at, width: 32) == UInt128(CRC32.compute(Array(input[..<n]))), "crc32 of \(n) bytes")
                #expect(unpack(o, bitOffset: at + 32, width: 16) == UInt128(CRC16.compute(Array(input[..<n]))), "crc16 of \(n) bytes")
            }
        }
    }

    static func randomProgram() -> SwitchProgram {
        SwitchProgram("random") {
            HeaderType("h_t") { Field("small", 8); Field("wide", 16) }
            Header("h", "h_t")
            Parser { State("start") { Extract(hdr.h) } }
            Ingress {
                Assign(hdr.h.small, random(10, 20, width: 8))
                Assign(hdr.h.wide, random(0, 0xFFFF, width: 16))
            }
            Deparser { Emit(hdr.h) }
        }
    }

    func randomSequence(seed: UInt64, count: Int = 300) throws -> [(UInt8, UInt16)] {
        let pl = try pipeline(Self.randomProgram(), seed: seed)
        return try (0..<count).map { _ in
            let b = try runOne(pl, [0, 0, 0]).bytes
            return (b[0], UInt16(b[1]) << 8 | UInt16(b[2]))
        }
    }

    @Test func randomIsSeededAndWithinBounds() throws {
        let a = try randomSequence(seed: 42), b = try randomSequence(seed: 42), c = try randomSequence(seed: 43)
        #expect(a.map(\.0) == b.map(\.0))
        #expect(a.map(\.1) == b.map(\.1))
        #expect(a.map(\.1) != c.map(\.1))
        #expect(a.allSatisfy { (10...20).contains($0.0) })
        #expect(Set(a.map(\.0)) == Set(10...20))      // every value in the range comes up
        #expect(Set(a.map(\.1)).count > 250)           // 16-bit values hardly repeat
    }

    // MARK: digests

    static func digestProgram() -> SwitchProgram {
        SwitchProgram("digests") {
            HeaderType("eth_t") { Field("dst", 48); Field("src", 48); Field("s", 8, signed: true); Field("pad", 8) }
            Header("eth", "eth_t")
            DigestType("learn") { Field("mac", 48); Field("port", 9); Field("neg", 16) }
            DigestType("hello") { Field("x", 8) }
            NoAction()
            Action("known") {}
            Action("to", Param("port", 9)) { Forward(port: param.port) }
            Table("smac") { Key(hdr.eth.src, .exact); Actions("known", "NoAction") }
            Table("dmac") { Key(hdr.eth.dst, .exact); Actions("to", "NoAction") }
            Parser { State("start") { Extract(hdr.eth) } }
            Ingress {
                Apply("smac", miss: { SendDigest("learn", hdr.eth.src, standard.ingressPort, hdr.eth.s.signExtend(16)) })
                Apply("dmac", miss: { Multicast(group: 1) })
                If(hdr.eth.pad == 1) { SendDigest("hello", hdr.eth.pad) }
            }
            Deparser { Emit(hdr.eth) }
        }
    }

    func frame(dst: UInt64, src: UInt64, s: UInt8 = 0xFE, pad: UInt8 = 0) -> [UInt8] {
        be(UInt128(dst), 6) + be(UInt128(src), 6) + [s, pad]
    }

    @Test func digestsReachTheControlPlane() throws {
        let pl = try pipeline(Self.digestProgram())
        _ = pl.process(frame(dst: 2, src: 0xA1, pad: 1), port: 3)
        _ = pl.process(frame(dst: 2, src: 0xA2, s: 0x05), port: 4)
        let ds = pl.drainDigests()
        #expect(ds == [
            DigestMessage(name: "learn", values: [0xA1, 3, 0xFFFE]),
            DigestMessage(name: "hello", values: [1]),
            DigestMessage(name: "learn", values: [0xA2, 4, 0x0005]),
        ])
        #expect(ds[0].value("port", in: pl.program) == 3)
        #expect(ds[0].value("neg", in: pl.program) == 0xFFFE)
        #expect(pl.drainDigests().isEmpty)
    }

    /// A learning controller: installs what digests report.
    final class Learner: ProgramController {
        var learned: [UInt128] = []
        func setup(_ cp: any ControlPlane) throws {
            try cp.setMulticastGroup(1, [1, 2, 3, 4].map { MulticastMember(port: $0, rid: 0) })
        }
        func handle(_ digests: [DigestMessage], _ cp: any ControlPlane) throws {
            for d in digests where d.name == "learn" {
                let mac = d.values[0], port = d.values[1]
                learned.append(mac)
                try cp.upsert("smac", TableEntry([.exact(mac)], ActionCall("known")))
                try cp.upsert("dmac", TableEntry([.exact(mac)], ActionCall("to", [port])))
            }
        }
    }

    @Test func harnessHandsDigestsToTheController() throws {
        let learner = Learner()
        let h = try SwitchHarness(Self.digestProgram().verified(), controller: learner)
        try h.send(frame(dst: 0xB0, src: 0xA0), port: 1)       // unknown dst: flooded to the group
        #expect(h.drain().map(\.port) == [1, 2, 3, 4])
        try h.send(frame(dst: 0xA0, src: 0xB0), port: 2)       // learned: unicast back to port 1
        try h.expect(frame(dst: 0xA0, src: 0xB0), port: 1)
        try h.send(frame(dst: 0xB0, src: 0xA0), port: 1)
        try h.expect(frame(dst: 0xB0, src: 0xA0), port: 2)
        try h.expectNoOtherPackets()
        #expect(learner.learned == [0xA0, 0xB0])
    }

    // MARK: checksums

    static func ipv4Program(@StatementBuilder ingress: () -> [Stmt], @StatementBuilder deparser: () -> [Stmt] = { [] }) -> SwitchProgram {
        SwitchProgram("checksums") {
            HeaderType("eth_t") { Field("dst", 48); Field("src", 48); Field("type", 16) }
            HeaderType("ipv4_t") {
                Field("version", 4); Field("ihl", 4); Field("diffserv", 8); Field("totalLen", 16)
                Field("identification", 16); Field("flags", 3); Field("fragOffset", 13)
                Field("ttl", 8); Field("protocol", 8); Field("hdrChecksum", 16)
                Field("srcAddr", 32); Field("dstAddr", 32)
            }
            Header("eth", "eth_t")
            Header("ipv4", "ipv4_t")
            Parser {
                State("start") {
                    Extract(hdr.eth)
                    Select(hdr.eth.type) { Case(0x0800, next: "ipv4"); Default(next: "accept") }
                }
                State("ipv4") { Extract(hdr.ipv4) }
            }
            Ingress(ingress)
            Deparser {
                Stmts(deparser())
                Emit(hdr.eth)
                Emit(hdr.ipv4)
            }
        }
    }

    func ip(dst: IPv4Address = "10.0.0.2", ttl: UInt8 = 64, checksum: UInt16? = nil) -> [UInt8] {
        Packet.ethernet(dst: "00:00:00:00:00:01", src: "00:00:00:00:00:02")
            .ipv4(src: "10.0.0.1", dst: dst, ttl: ttl, checksum: checksum)
            .udp(sport: 1, dport: 2, checksum: 0).payload(count: 6).bytes
    }

    @Test func updateChecksumRecomputesTheHeaderChecksum() throws {
        let pl = try pipeline(Self.ipv4Program(ingress: {
            Assign(hdr.ipv4.ttl, hdr.ipv4.ttl - 1)
        }, deparser: {
            UpdateChecksum(hdr.ipv4.hdrChecksum, over: hdr.ipv4)
        }))
        for ttl: UInt8 in [64, 1, 200] {
            let out = try runOne(pl, ip(ttl: ttl))
            #expect(out.bytes == ip(ttl: ttl &- 1))
            #expect(parse(out.bytes).ipv4?.checksumValid == true)
        }
        // Without an IPv4 header, nothing is written.
        let arp = Packet.ethernet(dst: .broadcast, src: "00:00:00:00:00:02")
            .arp(senderMAC: "00:00:00:00:00:02", senderIP: "10.0.0.1", targetIP: "10.0.0.2").bytes
        #expect(try runOne(pl, arp).bytes == arp)
    }

    @Test func verifyChecksumSetsChecksumError() throws {
        let pl = try pipeline(Self.ipv4Program(ingress: {
            VerifyChecksum(hdr.ipv4.hdrChecksum, over: hdr.ipv4)
            Forward(port: mux(standard.checksumError == 1, Value.bits(2, 9), Value.bits(1, 9)))
        }))
        let good = ip()
        #expect(try runOne(pl, good).port == 1)
        var bad = good
        bad[24] ^= 0x01
        let out = try runOne(pl, bad)
        #expect(out.port == 2)
        #expect(out.bytes == bad)  // verification changes nothing
        #expect(try runOne(pl, ip(checksum: 0)).port == 2)
        #expect(try runOne(pl, good).port == 1)  // the error does not stick to the next packet
    }

    @Test func incrementalChecksumEqualsAFullRecompute() throws {
        let newDst: IPv4Address = "192.168.7.99"
        let pl = try pipeline(Self.ipv4Program {
            // 32-bit value: the destination address.
            IncrementalChecksum(hdr.ipv4.hdrChecksum, old: hdr.ipv4.dstAddr, new: Value(UInt128(newDst.value)))
            Assign(hdr.ipv4.dstAddr, Value(UInt128(newDst.value)))
            // 16-bit value: ttl ++ protocol.
            IncrementalChecksum(hdr.ipv4.hdrChecksum, old: hdr.ipv4.ttl ++ hdr.ipv4.protocol, new: (hdr.ipv4.ttl - 1) ++ hdr.ipv4.protocol)
            Assign(hdr.ipv4.ttl, hdr.ipv4.ttl - 1)
        })
        for (dst, ttl) in [("10.0.0.2", 64), ("1.2.3.4", 9), ("255.255.255.254", 255)] as [(IPv4Address, UInt8)] {
            let out = try runOne(pl, ip(dst: dst, ttl: ttl))
            #expect(out.bytes == ip(dst: newDst, ttl: ttl - 1), "\(dst) ttl \(ttl)")
            #expect(parse(out.bytes).ipv4?.checksumValid == true)
        }
    }

    @Test func incrementalChecksumOverA128BitAddress() throws {
        let newDst: IPv6Address = "2001:db8:ffff::beef"
        let p = SwitchProgram("udp6") {
            HeaderType("eth_t") { Field("dst", 48); Field("src", 48); Field("type", 16) }
            HeaderType("ipv6_t") {
                Field("version", 4); Field("tc", 8); Field("flow", 20); Field("plen", 16)
                Field("nh", 8); Field("hlim", 8); Field("src", 128); Field("dst", 128)
            }
            HeaderType("udp_t") { Field("sport", 16); Field("dport", 16); Field("len", 16); Field("csum", 16) }
            Header("eth", "eth_t"); Header("ipv6", "ipv6_t"); Header("udp", "udp_t")
            Parser { State("start") { Extract(hdr.eth); Extract(hdr.ipv6); Extract(hdr.udp) } }
            Ingress {
                IncrementalChecksum(hdr.udp.csum, old: hdr.ipv6.dst, new: Value(newDst.value))
                Assign(hdr.ipv6.dst, Value(newDst.value))
            }
            Deparser { Emit(hdr.eth); Emit(hdr.ipv6); Emit(hdr.udp) }
        }
        let pl = try pipeline(p)
        func pkt(_ dst: IPv6Address) -> [UInt8] {
            Packet.ethernet(dst: "00:00:00:00:00:01", src: "00:00:00:00:00:02")
                .ipv6(src: "2001:db8::1", dst: dst).udp(sport: 7, dport: 9).payload(count: 11).bytes
        }
        let out = try runOne(pl, pkt("2001:db8::2"))
        #expect(out.bytes == pkt(newDst))
        #expect(parse(out.bytes).udp?.checksumValid == true)
    }
}
