import SluiceControlPlane
import Testing
import Sluice
import SluiceIR
@testable import SluiceRuntime
import SluiceTesting

/// Edge cases of the pipeline's semantics: each test pins a behaviour the README documents.
@Suite struct PipelineEdgeCaseTests {
    /// One 4-byte header `h` (a, b: 8 bits; c: 16 bits) and optionally a second one `x`.
    static func program(onReject: ParserRejectPolicy = .drop, parserNeedsX: Bool = false,
                        @StatementBuilder ingress: () -> [Stmt], @StatementBuilder egress: () -> [Stmt] = { [] },
                        @StatementBuilder deparse: () -> [Stmt] = { [] }, extra: [any ProgramComponent] = []) -> SwitchProgram {
        let ing = ingress(), eg = egress(), dep = deparse()
        return SwitchProgram("edge") {
            HeaderType("h_t") {
                Field("a", 8)
                Field("b", 8)
                Field("c", 16)
            }
            Header("h", "h_t")
            Header("x", "h_t")
            OnParserReject(onReject)
            Parser {
                State("start") {
                    Extract(hdr.h)
                    if parserNeedsX { Extract(hdr.x) }
                    Accept()
                }
            }
            extra
            Ingress { ing }
            if !eg.isEmpty { Egress { eg } }
            Deparser {
                dep
                Emit(hdr.h)
                Emit(hdr.x)
            }
        }
    }

    @Test func signedSaturationAt64BitsCompilesAndClamps() throws {
        let p = SwitchProgram("sat64") {
            HeaderType("w_t") {
                Field("a", 64, signed: true)
                Field("b", 64, signed: true)
                Field("sum", 64, signed: true)
                Field("diff", 64, signed: true)
            }
            Header("w", "w_t")
            Parser { State("start") { Extract(hdr.w); Accept() } }
            Ingress {
                Assign(hdr.w.sum, hdr.w.a |+| hdr.w.b)
                Assign(hdr.w.diff, hdr.w.a |-| hdr.w.b)
            }
            Deparser { Emit(hdr.w) }
        }
        let pipe = try Pipeline(p.verified())
        func be(_ v: Int64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: UInt64(bitPattern: v) >> UInt64(56 - 8 * $0)) } }
        let out = pipe.process(be(Int64.max - 1) + be(5) + [UInt8](repeating: 0, count: 16), port: 0)
        #expect(out.first?.bytes == be(Int64.max - 1) + be(5) + be(Int64.max) + be(Int64.max - 6))
        let out2 = pipe.process(be(Int64.min + 1) + be(5) + [UInt8](repeating: 0, count: 16), port: 0)
        #expect(out2.first?.bytes == be(Int64.min + 1) + be(5) + be(Int64.min + 6) + be(Int64.min))
    }

    @Test func aHeaderSetInvalidReadsAsZero() throws {
        let p = Self.program(parserNeedsX: true) {
            SetInvalid(hdr.x)
            Assign(hdr.h.a, hdr.x.a)
            Assign(hdr.h.c, hdr.x.c)
        }
        let out = try Pipeline(p.verified()).process([1, 2, 0, 3, 0x77, 0x77, 0x77, 0x77], port: 0)
        #expect(out.first?.bytes == [0, 2, 0, 0])
    }

    @Test func egressParserRejectFollowsTheProgramsPolicy() throws {
        // Ingress removes `x`; egress parses again, needs `x`, and rejects.
        let ingress: () -> [Stmt] = { SetInvalid(hdr.x).statements + Forward(port: 1).statements }
        let egress: () -> [Stmt] = { Assign(hdr.h.b, 0x42).statements }
        let drop = try Pipeline(Self.program(parserNeedsX: true, ingress: ingress, egress: egress).verified())
        #expect(drop.process([1, 2, 0, 3, 9, 9, 9, 9], port: 0).isEmpty)
        #expect(drop.stats.parserDrops == 1)
        let cont = try Pipeline(Self.program(onReject: .continue, parserNeedsX: true, ingress: ingress, egress: egress).verified())
        let out = cont.process([1, 2, 0, 3, 9, 9, 9, 9], port: 0)
        #expect(out.map(\.port) == [1])
        #expect(out.first?.bytes == [1, 0x42, 0, 3])
    }

    @Test func exitEndsTheControlButNotTheDeparser() throws {
        let p = Self.program(ingress: {
            Call("mark")
            Exit()
        }, deparse: {
            Call("mark")
            Assign(hdr.h.b, 0x42)
        }, extra: [Action("mark") { Assign(hdr.h.a, hdr.h.a + 1) }])
        let out = try Pipeline(p.verified()).process([1, 2, 0, 3], port: 0)
        #expect(out.first?.bytes == [3, 0x42, 0, 3])
    }

    @Test func multicastCopiesMayRecirculate() throws {
        // Pass 0: multicast to ports 1 and 2; the copy for port 2 recirculates with c += 1 and
        // is then sent to port 3 on its second pass.
        let p = Self.program(ingress: {
            If(standard.passCount == 0) {
                Multicast(group: 7)
            } else: {
                Forward(port: 3)
            }
        }, egress: {
            If(standard.egressPort == 2) {
                Assign(hdr.h.c, hdr.h.c + 1)
                Recirculate()
            }
        })
        let pipe = try Pipeline(p.verified())
        try pipe.setMulticastGroup(7, [MulticastMember(port: 1, rid: 1), MulticastMember(port: 2, rid: 2)])
        let out = pipe.process([1, 2, 0, 3], port: 0)
        #expect(out.map(\.port) == [1, 3])
        #expect(out.map(\.bytes) == [[1, 2, 0, 3], [1, 2, 0, 4]])
    }

    @Test func aDuplicateTernaryEntryIsReportedAsSuch() throws {
        let p = Self.program(ingress: { Apply("t") }, extra: [
            Action("set", Param("v", 8)) { Assign(hdr.h.b, param.v) },
            Table("t") {
                Key(hdr.h.a, .ternary)
                Actions("set")
                DefaultAction("set", 0)
            },
        ])
        let pipe = try Pipeline(p.verified())
        try pipe.insert("t", TableEntry([.ternary(0x10, mask: 0xF0)], ActionCall("set", [1]), priority: 5))
        for e in [TableEntry([.ternary(0x10, mask: 0xF0)], ActionCall("set", [2]), priority: 6),
                  TableEntry([.ternary(0x1F, mask: 0xF0)], ActionCall("set", [2]), priority: 5)] {
            #expect(throws: ControlPlaneError("table 't' already has an entry \(IRPrinter.match(e.matches[0])); modify it or delete it first")) {
                try pipe.insert("t", e)
            }
        }
        #expect(throws: ControlPlaneError("table 't': priority 9999999999 is outside -2147483648...2147483647")) {
            try pipe.insert("t", TableEntry([.ternary(0x20, mask: 0xF0)], ActionCall("set", [2]), priority: 9_999_999_999))
        }
        #expect(throws: ControlPlaneError("key hdr.h.a of table 't': 0x100 does not fit in 8 bits")) {
            try pipe.insert("t", TableEntry([.exact(0x100)], ActionCall("set", [2]), priority: 1))
        }
    }

    @Test func exactTablesUseTheExactMatchPath() throws {
        let p = Self.program(ingress: { Apply("t") }, extra: [
            Action("set", Param("v", 8)) { Assign(hdr.h.b, param.v) },
            Table("t") {
                Key(hdr.h.c, .exact)
                Actions("set")
                DefaultAction("set", 0)
            },
        ])
        let pipe = try Pipeline(p.verified())
        try pipe.insert("t", TableEntry([.exact(3)], ActionCall("set", [9])))
        #expect(pipe.compiler.tables["t"]?.tuples?.exactSingle == true)
        #expect(pipe.process([1, 2, 0, 3], port: 0).first?.bytes == [1, 9, 0, 3])
    }

    @Test func multicastPortsMustFitNineBits() throws {
        let pipe = try Pipeline(Self.program(ingress: { Drop() }).verified())
        #expect(throws: ControlPlaneError("multicast group 1: port 600 is outside 0...511 (ports are 9 bits)")) {
            try pipe.setMulticastGroup(1, [MulticastMember(port: 600, rid: 0)])
        }
    }
}

/// A packet larger than a buffer is dropped and counted, not truncated; the largest IP packet fits.
@Test func oversizePacketsAreDroppedNotTruncated() throws {
    let p = try Pipeline(PipelineEdgeCaseTests.program(ingress: { Forward(port: 1) }).verified())
    let big = [UInt8](repeating: 7, count: 14 + 65_535)
    #expect(p.process(big, port: 0).first?.bytes == big)
    #expect(p.process([UInt8](repeating: 7, count: PacketBuffer.defaultCapacity), port: 0).isEmpty)
    #expect(p.stats.oversizeDrops == 1)
    #expect(p.stats.received == 2)
}

/// A counter counts what its kind says: packets, bytes, or both.
@Test func countersCountWhatTheirKindSays() throws {
    let p = try Pipeline(PipelineEdgeCaseTests.program(ingress: {
        Count("pk", index: 0)
        Count("by", index: 0)
        Count("both", index: 0)
    }, extra: [
        Counter("pk", size: 1, kind: .packets),
        Counter("by", size: 1, kind: .bytes),
        Counter("both", size: 1),
    ]).verified())
    _ = p.process([1, 2, 0, 3, 9, 9], port: 0)
    _ = p.process([1, 2, 0, 3], port: 0)
    #expect(try p.counter("pk", index: 0) == (2, 0))
    #expect(try p.counter("by", index: 0) == (0, 10))
    #expect(try p.counter("both", index: 0) == (2, 10))
}
