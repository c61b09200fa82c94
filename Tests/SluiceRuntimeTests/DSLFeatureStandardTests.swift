// Standard metadata: ports, drop, multicast with replica ids, packet length, timestamps,
// instance types, recirculation and resubmission.

import SluiceControlPlane
import Testing
import Sluice
import SluiceIR
import SluiceRuntime
import SluiceTesting

@Suite struct DSLFeatureStandardTests {
    /// `h`: what ingress saw; `e`: what egress saw. Both are plain byte-aligned fields.
    static func program(@StatementBuilder ingress: () -> [Stmt], @StatementBuilder egress: () -> [Stmt]) -> SwitchProgram {
        SwitchProgram("standard") {
            HeaderType("h_t") {
                Field("cmd", 8); Field("inPort", 16); Field("len", 32); Field("ts", 48); Field("inst", 8); Field("pass", 8)
                Field("marker", 8)
            }
            HeaderType("e_t") { Field("port", 16); Field("rid", 16); Field("inst", 8); Field("len", 32); Field("count", 8) }
            Header("h", "h_t")
            Header("e", "e_t")
            Parser { State("start") { Extract(hdr.h); Extract(hdr.e) } }
            Ingress(ingress)
            Egress(egress)
            Deparser { Emit(hdr.h); Emit(hdr.e) }
        }
    }

    @StatementBuilder static var recordIngress: [Stmt] {
        Assign(hdr.h.inPort, standard.ingressPort.cast(16))
        Assign(hdr.h.len, standard.packetLength)
        Assign(hdr.h.ts, standard.ingressTimestamp)
        Assign(hdr.h.inst, standard.instanceType)
        Assign(hdr.h.pass, standard.passCount)
    }

    @StatementBuilder static var recordEgress: [Stmt] {
        Assign(hdr.e.port, standard.egressPort.cast(16))
        Assign(hdr.e.rid, standard.egressRid)
        Assign(hdr.e.inst, standard.instanceType)
        Assign(hdr.e.len, standard.packetLength)
    }

    static let headerBytes = 16 + 10

    func packet(cmd: UInt8, extra: Int = 0) -> [UInt8] {
        [cmd] + [UInt8](repeating: 0, count: Self.headerBytes - 1) + [UInt8](repeating: 0x5A, count: extra)
    }

    struct Seen: Equatable {
        var inPort: UInt64, len: UInt64, ts: UInt64, inst: UInt64, pass: UInt64, marker: UInt64
        var ePort: UInt64, rid: UInt64, eInst: UInt64, eLen: UInt64, count: UInt64
    }

    func seen(_ b: [UInt8]) -> Seen {
        func f(_ off: Int, _ w: Int) -> UInt64 { UInt64(unpack(b, bitOffset: off, width: w)) }
        return Seen(inPort: f(8, 16), len: f(24, 32), ts: f(56, 48), inst: f(104, 8), pass: f(112, 8), marker: f(120, 8),
                    ePort: f(128, 16), rid: f(144, 16), eInst: f(160, 8), eLen: f(168, 32), count: f(200, 8))
    }

    @Test func portsLengthTimestampAndUnicast() throws {
        let pl = try pipeline(Self.program(ingress: {
            Stmts(Self.recordIngress)
            Forward(port: standard.ingressPort + 1)
        }, egress: { Stmts(Self.recordEgress) }))
        let out = try runOne(pl, packet(cmd: 0, extra: 7), port: 5, timestamp: 0xABCD_0000_1234)
        #expect(out.port == 6)
        #expect(seen(out.bytes) == Seen(inPort: 5, len: 33, ts: 0xABCD_0000_1234, inst: 0, pass: 0, marker: 0,
                                        ePort: 6, rid: 0, eInst: 0, eLen: 33, count: 0))
        #expect(Array(out.bytes[Self.headerBytes...]) == [UInt8](repeating: 0x5A, count: 7))
        // The egress spec is 9 bits: port 511 + 1 wraps to 0.
        #expect(try runOne(pl, packet(cmd: 0), port: 511).port == 0)
    }

    @Test func dropInIngressOrEgress() throws {
        let pl = try pipeline(Self.program(ingress: {
            If(hdr.h.cmd == 1) { Drop() }
            Forward(port: 2)
        }, egress: {
            If(hdr.h.cmd == 2) { Drop() }
        }))
        #expect(pl.process(packet(cmd: 1), port: 0).isEmpty)
        #expect(pl.process(packet(cmd: 2), port: 0).isEmpty)
        #expect(try runOne(pl, packet(cmd: 3)).port == 2)
        #expect(pl.stats.ingressDrops == 1)
        #expect(pl.stats.egressDrops == 1)
        #expect(pl.stats.sent == 1)
    }

    @Test func multicastCopiesCarryTheirReplicaIds() throws {
        let pl = try pipeline(Self.program(ingress: {
            Stmts(Self.recordIngress)
            Multicast(group: hdr.h.cmd.cast(16))
            Assign(hdr.h.marker, 0x77)
        }, egress: {
            Stmts(Self.recordEgress)
            // Each copy starts from what ingress left, not from the previous copy's changes.
            Assign(hdr.e.count, hdr.e.count + 1)
        }))
        try pl.setMulticastGroup(5, [MulticastMember(port: 1, rid: 10), MulticastMember(port: 2, rid: 20), MulticastMember(port: 7, rid: 30)])
        let outs = pl.process(packet(cmd: 5), port: 3, timestamp: 99)
        #expect(outs.map(\.port) == [1, 2, 7])
        #expect(outs.map { seen($0.bytes) } == [(1, 10), (2, 20), (7, 30)].map { port, rid in
            Seen(inPort: 3, len: UInt64(Self.headerBytes), ts: 99, inst: 0, pass: 0, marker: 0x77,
                 ePort: port, rid: rid, eInst: UInt64(InstanceType.replica.rawValue), eLen: UInt64(Self.headerBytes), count: 1)
        })
        #expect(pl.multicastGroup(5) == [MulticastMember(port: 1, rid: 10), MulticastMember(port: 2, rid: 20), MulticastMember(port: 7, rid: 30)])
        // An unknown group drops the packet.
        #expect(pl.process(packet(cmd: 6), port: 3).isEmpty)
        #expect(pl.stats.emptyGroupDrops == 1)
        try pl.deleteMulticastGroup(5)
        #expect(pl.process(packet(cmd: 5), port: 3).isEmpty)
        #expect(throws: ControlPlaneError("multicast group 0 means 'no multicast'; use a group id of 1 or more")) {
            try pl.setMulticastGroup(0, [])
        }
    }

    @Test func multicastWithoutEgressSendsIdenticalCopies() throws {
        let p = SwitchProgram("flood") {
            HeaderType("h_t") { Field("x", 8) }
            Header("h", "h_t")
            Parser { State("start") { Extract(hdr.h) } }
            Ingress { Multicast(group: 1); Assign(hdr.h.x, hdr.h.x + 1) }
            Deparser { Emit(hdr.h) }
        }
        let pl = try pipeline(p)
        try pl.setMulticastGroup(1, [MulticastMember(port: 4, rid: 0), MulticastMember(port: 9, rid: 1)])
        let outs = pl.process([41, 0xEE], port: 0)
        #expect(outs.map(\.port) == [4, 9])
        #expect(outs.map(\.bytes) == [[42, 0xEE], [42, 0xEE]])
    }

    @Test func recirculateRunsThePipelineAgainWithPassCount() throws {
        let pl = try pipeline(Self.program(ingress: {
            Assign(hdr.h.pass, hdr.h.pass + 1)
            Assign(hdr.h.inst, standard.instanceType)
            Assign(hdr.h.marker, standard.passCount)
            Forward(port: 4)
        }, egress: {
            Assign(hdr.e.count, hdr.e.count + 1)
            Assign(hdr.e.inst, standard.instanceType)
            If(standard.passCount < hdr.h.cmd) { Recirculate() }
        }))
        // cmd = 2: passes 0, 1 and 2, then out.
        var out = try runOne(pl, packet(cmd: 2))
        #expect(out.port == 4)
        var s = seen(out.bytes)
        #expect((s.pass, s.inst, s.marker, s.count, s.eInst) == (3, 2, 2, 3, 2))
        // cmd = 0: no recirculation.
        out = try runOne(pl, packet(cmd: 0))
        s = seen(out.bytes)
        #expect((s.pass, s.inst, s.marker, s.count, s.eInst) == (1, 0, 0, 1, 0))
        // Bounded by maxPasses: passes 0...3 run, the fourth recirculation is dropped.
        #expect(pl.maxPasses == 4)
        #expect(pl.process(packet(cmd: 4), port: 0).isEmpty)
        #expect(pl.stats.passLimitDrops == 1)
        pl.maxPasses = 6
        out = try runOne(pl, packet(cmd: 4))
        #expect(seen(out.bytes).pass == 5)
    }

    @Test func recirculateFromIngressWithoutEgress() throws {
        let p = SwitchProgram("recirc-ingress") {
            HeaderType("h_t") { Field("n", 8); Field("pass", 8) }
            Header("h", "h_t")
            Parser { State("start") { Extract(hdr.h) } }
            Ingress {
                Assign(hdr.h.n, hdr.h.n + 1)
                Assign(hdr.h.pass, standard.passCount)
                If(hdr.h.n < 3) { Recirculate() }
            }
            Deparser { Emit(hdr.h) }
        }
        let pl = try pipeline(p)
        #expect(try runOne(pl, [0, 0, 0xAA]).bytes == [3, 2, 0xAA])
    }

    @Test func queueValuesAreRejectedAtCompileTime() throws {
        let p = Self.program(ingress: { Assign(hdr.h.len, standard.enqTimestamp) }, egress: {
            Assign(hdr.e.len, standard.deqQdepth.cast(32))
        })
        #expect(throws: CompileError.self) { try Pipeline(p.verified()) }
        do { _ = try Pipeline(p.verified()) } catch let e as CompileError {
            #expect(e.message == "control ingress: standard.enqTimestamp needs a traffic manager with queues, which the software runtime does not have")
        }
    }

    @Test func recirculateRequestedInIngressHappensAfterEgress() throws {
        let pl = try pipeline(Self.program(ingress: {
            Assign(hdr.h.pass, hdr.h.pass + 1)
            If(standard.passCount == 0) { Recirculate() }
            Forward(port: 1)
        }, egress: {
            Assign(hdr.e.count, hdr.e.count + 1)
        }))
        let s = seen(try runOne(pl, packet(cmd: 0)).bytes)
        #expect((s.pass, s.count) == (2, 2))
    }

    @Test func recirculatedPacketsThatGrowKeepTheirBytes() throws {
        // Every pass pushes a 1-byte tag in front: the packet grows by one byte per pass.
        let p = SwitchProgram("grow") {
            HeaderType("n_t") { Field("n", 8) }
            HeaderType("tag_t") { Field("bos", 1); Field("v", 7) }
            Header("h", "n_t")
            HeaderStack("tags", "tag_t", size: 4)
            Parser {
                State("start") {
                    Extract(hdr.h)
                    Select(hdr.h.n) { Case(0, next: "accept"); Default(next: "tag") }
                }
                State("tag") {
                    Extract(hdr.tags.next)
                    Select(hdr.tags.last.bos) { Case(1, next: "accept"); Default(next: "tag") }
                }
            }
            Ingress { Forward(port: 1) }
            Egress {
                PushFront(hdr.tags, 1)
                SetValid(hdr.tags[0])
                Assign(hdr.tags[0].bos, mux(hdr.h.n == 0, Value.bits(1, 1), Value.bits(0, 1)))
                Assign(hdr.tags[0].v, standard.passCount[6, 0] + 0x10)
                Assign(hdr.h.n, hdr.h.n + 1)
                If(standard.passCount < 2) { Recirculate() }
            }
            Deparser { Emit(hdr.h); Emit(hdr.tags) }
        }
        let pl = try pipeline(p)
        let out = try runOne(pl, [0, 0xC0, 0xFF, 0xEE])
        #expect(out.port == 1)
        #expect(out.bytes == [3, 0x12, 0x11, 0x90, 0xC0, 0xFF, 0xEE])
        // And again: buffers are reused between packets.
        #expect(try runOne(pl, [0, 1, 2, 3, 4, 5]).bytes == [3, 0x12, 0x11, 0x90, 1, 2, 3, 4, 5])
    }

    @Test func resubmitRunsIngressAgainOnTheOriginalPacket() throws {
        let pl = try pipeline(Self.program(ingress: {
            If(standard.instanceType == 0) {
                Assign(hdr.h.marker, 0xEE)   // lost: resubmission starts from the original bytes
                Resubmit()
            } else: {
                Stmts(Self.recordIngress)
            }
            Forward(port: 2)
        }, egress: {
            Stmts(Self.recordEgress)
        }))
        let out = try runOne(pl, packet(cmd: 0), port: 8, timestamp: 5)
        #expect(out.port == 2)
        #expect(seen(out.bytes) == Seen(inPort: 8, len: UInt64(Self.headerBytes), ts: 5, inst: 1, pass: 1, marker: 0,
                                        ePort: 2, rid: 0, eInst: 1, eLen: UInt64(Self.headerBytes), count: 0))
        // Always resubmitting is bounded too.
        let loop = try pipeline(Self.program(ingress: { Resubmit() }, egress: {}))
        #expect(loop.process(packet(cmd: 0), port: 0).isEmpty)
        #expect(loop.stats.passLimitDrops == 1)
    }
}
