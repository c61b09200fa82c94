// What INT needed from the DSL: a run-time advance that removes a variable-length block
// (`Advance(bytes:)`), `Truncate(length:)`, and `optional(_:width:)` for values a target may not
// observe (all ones there); their verifier rules.

import SluiceControlPlane
import Testing
import Sluice
import SluiceIR
import SluiceRuntime

@Suite struct DSLFeatureTelemetryTests {
    /// `l.n` bytes after `l` are skipped (removed), then `t`; ingress truncates a packet whose
    /// `t` is 0xEEEE to 3 bytes (of `l`, `t` and the payload, as emitted).
    static var skipAndTruncate: SwitchProgram {
        SwitchProgram("skip-truncate") {
            HeaderType("len_t") { Field("n", 8) }
            HeaderType("tail_t") { Field("t", 16) }
            Header("l", "len_t")
            Header("t", "tail_t")
            Parser {
                State("start") {
                    Extract(hdr.l)
                    Advance(bytes: hdr.l.n.cast(16))
                    Extract(hdr.t)
                }
            }
            Ingress {
                Forward(port: 1)
                If(hdr.t.t == 0xEEEE) { Truncate(length: 3) }
            }
            Deparser {
                Emit(hdr.l)
                Emit(hdr.t)
            }
        }
    }

    @Test func advanceByBytesRemovesTheBlock() throws {
        let pl = try Pipeline(Self.skipAndTruncate.verified())
        #expect(pl.process([3, 0xA, 0xB, 0xC, 0x12, 0x34, 7, 8], port: 0).map(\.bytes) == [[3, 0x12, 0x34, 7, 8]])
        #expect(pl.process([0, 0x12, 0x34, 7], port: 0).map(\.bytes) == [[0, 0x12, 0x34, 7]])
        // Past the end: PacketTooShort, dropped by the parser.
        let drops = pl.stats.parserDrops
        #expect(pl.process([5, 1, 2, 3], port: 0).isEmpty)
        #expect(pl.stats.parserDrops == drops + 1)
    }

    @Test func truncateCutsTheEmittedPacket() throws {
        let pl = try Pipeline(Self.skipAndTruncate.verified())
        #expect(pl.process([1, 0x55, 0xEE, 0xEE, 9, 9, 9], port: 0).map(\.bytes) == [[1, 0xEE, 0xEE]])
        #expect(pl.process([1, 0x55, 0xEE, 0xEF, 9, 9, 9], port: 0).map(\.bytes) == [[1, 0xEE, 0xEF, 9, 9, 9]])
    }

    /// Multicast copies truncated in egress by replica id; a length beyond the packet keeps it whole.
    @Test func truncateInEgressPerCopy() throws {
        let p = SwitchProgram("truncate-egress") {
            HeaderType("h_t") { Field("v", 16) }
            Header("h", "h_t")
            Parser { State("start") { Extract(hdr.h) } }
            Ingress { Multicast(group: 1) }
            Egress {
                If(standard.egressRid == 1) { Truncate(length: 3) }
                If(standard.egressRid == 2) { Truncate(length: 100) }
            }
            Deparser { Emit(hdr.h) }
        }
        let pl = try Pipeline(p.verified())
        try pl.setMulticastGroup(1, [MulticastMember(port: 1, rid: 1), MulticastMember(port: 2, rid: 2), MulticastMember(port: 3, rid: 0)])
        let out = pl.process([0xAB, 0xCD, 1, 2, 3], port: 0)
        #expect(out.map(\.port) == [1, 2, 3])
        #expect(out.map(\.bytes) == [[0xAB, 0xCD, 1], [0xAB, 0xCD, 1, 2, 3], [0xAB, 0xCD, 1, 2, 3]])
    }

    static var optionalValues: SwitchProgram {
        SwitchProgram("optional") {
            HeaderType("q_t") { Field("depth", 24); Field("wait", 32); Field("port", 24) }
            Header("q", "q_t")
            Parser { State("start") { Extract(hdr.q) } }
            Ingress { Forward(port: 2) }
            Egress {
                Assign(hdr.q.depth, optional(standard.enqQdepth, width: 24))
                Assign(hdr.q.wait, optional(standard.deqTimedelta + 1, width: 32))
                // Not a queue value: observed everywhere.
                Assign(hdr.q.port, optional(standard.egressPort, width: 24))
            }
            Deparser { Emit(hdr.q) }
        }
    }

    @Test func optionalValuesReadAllOnesWithoutQueues() throws {
        let pl = try Pipeline(Self.optionalValues.verified())
        #expect(pl.process([UInt8](repeating: 0, count: 10), port: 0).map(\.bytes)
                == [[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 2]])
    }

    @Test func optionalValuesReadTheQueueWithQueues() throws {
        let pl = try Pipeline(Self.optionalValues.verified(), queues: true)
        let bridge = UnsafeMutablePointer<UInt64>.allocate(capacity: pl.bridgeWords)
        defer { bridge.deallocate() }
        let buf = PacketBuffer()
        buf.load([UInt8](repeating: 0, count: 10))
        #expect(pl.runIngress(buf, port: 0, timestamp: 0, bridge: bridge) == .unicast(port: 2))
        #expect(pl.runEgress(buf, port: 2, bridge: bridge, queue: .init(enqQdepth: 0x1234, deqTimedelta: 99)) == .send)
        #expect(buf.bytes == [0, 0x12, 0x34, 0, 0, 0, 100, 0, 0, 2])
    }

    @Test func verifierRules() throws {
        func problems(_ p: SwitchProgram) -> [String] {
            do { _ = try p.verified(); return [] } catch { return error.diagnostics.map(\.description) }
        }
        let wide = SwitchProgram("wide") {
            HeaderType("h_t") { Field("v", 32) }
            Header("h", "h_t")
            Parser { State("start") { Extract(hdr.h); Advance(bytes: hdr.h.v) } }
            Ingress {
                Truncate(length: hdr.h.v)
                Assign(hdr.h.v, optional(standard.enqQdepth, width: 0))
            }
            Deparser { Emit(hdr.h) }
        }
        let w = problems(wide)
        #expect(w.contains { $0.contains("skips hdr.h.v bytes, a 32-bit value; the skip length is at most 16 bits") })
        #expect(w.contains { $0.contains("truncates to hdr.h.v bytes, a 32-bit value; the length is at most 16 bits") })
        #expect(w.contains { $0.contains("optional values are 1 to 64 bits") })
        let misplaced = SwitchProgram("misplaced") {
            HeaderType("h_t") { Field("v", 16) }
            Header("h", "h_t")
            Parser { State("start") { Extract(hdr.h); Truncate(length: 2) } }
            Ingress { Advance(bytes: hdr.h.v) }
            Deparser { Emit(hdr.h) }
        }
        let m = problems(misplaced)
        #expect(m.contains { $0.contains("truncates the packet outside a control") })
        #expect(m.contains { $0.contains("advances the packet cursor outside the parser") })
    }

    @Test func printedIR() throws {
        let text = IRPrinter.print(try Self.skipAndTruncate.verified().program) + IRPrinter.print(try Self.optionalValues.verified().program)
        #expect(text.contains("advance_bytes((bit<16>)hdr.l.n);"))
        #expect(text.contains("truncate(3);"))
        #expect(text.contains("hdr.q.depth = optional<bit<24>>(standard.enqQdepth);"))
    }
}
