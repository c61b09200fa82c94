// The parser (select on one and several keys, masks, ranges, defaults, lookahead, verify,
// reject policies, truncation) and user metadata.

import Testing
import Sluice
import SluiceIR
import SluiceRuntime
import SluiceTesting

@Suite struct DSLFeatureParserTests {
    static func program(_ policy: ParserRejectPolicy) -> SwitchProgram {
        SwitchProgram("parser-\(policy.rawValue)") {
            HeaderType("h_t") { Field("k1", 8); Field("k2", 8); Field("k3", 16) }
            HeaderType("x_t") { Field("v", 16) }
            HeaderType("r_t") { Field("path", 8); Field("err", 16); Field("la", 16) }
            Header("h", "h_t")
            Header("x", "x_t")
            Header("r", "r_t")
            Metadata { Field("path", 8); Field("la", 16) }
            Errors("BadK2", "Other")
            OnParserReject(policy)
            Parser {
                State("start") {
                    Extract(hdr.h)
                    // One key, exact values and a default.
                    Select(hdr.h.k1) {
                        Case(1, next: "exact1")
                        Case(2, next: "multi")
                        Case(3, next: "maskRange")
                        Case(4, next: "look")
                        Case(5, next: "ver")
                        Case(6, next: "reject")
                        Case(7, next: "accept")
                        Default(next: "dflt")
                    }
                }
                State("exact1") { Assign(meta.path, 1); Accept() }
                State("dflt") { Assign(meta.path, 9) }
                State("multi") {
                    Select(hdr.h.k2, hdr.h.k3) {
                        Case(1, 0x1234, next: "m1")
                        Case(.masked(0x10, 0xF0), .any, next: "m2")
                        Case(.any, .range(0x100...0x1FF), next: "m3")
                        Default(keys: 2, next: "reject")
                    }
                }
                State("m1") { Assign(meta.path, 21) }
                State("m2") { Assign(meta.path, 22) }
                State("m3") { Assign(meta.path, 23) }
                State("maskRange") {
                    // No default: no match rejects with NoMatch.
                    Select(hdr.h.k2) {
                        Case(.masked(0xA0, 0xF0), next: "mask")
                        Case(.range(0x10...0x1F), next: "range")
                    }
                }
                State("mask") { Assign(meta.path, 31) }
                State("range") { Assign(meta.path, 32) }
                State("look") {
                    Assign(meta.la, lookahead(16))
                    Select(lookahead(8)) { Case(0xBE, next: "lookHit"); Default(next: "accept") }
                }
                State("lookHit") { Assign(meta.path, 41); Extract(hdr.x) }
                State("ver") {
                    Verify(hdr.h.k2 == 0x55, error: "BadK2")
                    Assign(meta.path, 51)
                }
            }
            Ingress {
                SetValid(hdr.r)
                Assign(hdr.r.path, meta.path)
                Assign(hdr.r.err, standard.parserError)
                Assign(hdr.r.la, meta.la)
            }
            Deparser { Emit(hdr.h); Emit(hdr.x); Emit(hdr.r) }
        }
    }

    /// The bytes of the result header: path, parser error, lookahead value.
    func r(_ path: UInt8, _ err: UInt16 = 0, _ la: UInt16 = 0) -> [UInt8] {
        [path] + be(UInt128(err), 2) + be(UInt128(la), 2)
    }

    static let badK2 = UInt16(StandardError.allCases.count)  // the first program error
    static let noMatch = UInt16(StandardError.allCases.firstIndex(of: .noMatch)!)
    static let tooShort = UInt16(StandardError.allCases.firstIndex(of: .packetTooShort)!)

    @Test func selectOnOneKeyWithExactValuesAndDefault() throws {
        let pl = try pipeline(Self.program(.drop))
        let tail: [UInt8] = [0xAA, 0xBB]
        #expect(try runOne(pl, [1, 0, 0, 0] + tail).bytes == [1, 0, 0, 0] + r(1) + tail)
        #expect(try runOne(pl, [0x99, 0, 0, 0] + tail).bytes == [0x99, 0, 0, 0] + r(9) + tail)
        // Straight to accept: nothing else set.
        #expect(try runOne(pl, [7, 1, 2, 3] + tail).bytes == [7, 1, 2, 3] + r(0) + tail)
    }

    @Test func selectOnSeveralKeysWithMasksRangesAndDefault() throws {
        let pl = try pipeline(Self.program(.drop))
        #expect(try runOne(pl, [2, 1, 0x12, 0x34]).bytes == [2, 1, 0x12, 0x34] + r(21))
        // k2 = 1 but k3 differs: the mask case does not match 0x01, the range case does.
        #expect(try runOne(pl, [2, 1, 0x01, 0x80]).bytes == [2, 1, 0x01, 0x80] + r(23))
        #expect(try runOne(pl, [2, 0x1F, 0x77, 0x77]).bytes == [2, 0x1F, 0x77, 0x77] + r(22))
        #expect(try runOne(pl, [2, 0x20, 0x01, 0x00]).bytes == [2, 0x20, 0x01, 0x00] + r(23))
        #expect(try runOne(pl, [2, 0x20, 0x01, 0xFF]).bytes == [2, 0x20, 0x01, 0xFF] + r(23))
        // Range bounds are inclusive; just outside goes to the default, which rejects.
        #expect(pl.process([2, 0x20, 0x02, 0x00], port: 0).isEmpty)
        #expect(pl.process([2, 0x20, 0x00, 0xFF], port: 0).isEmpty)
        #expect(pl.stats.parserDrops == 2)
    }

    @Test func masksAndRangesOnOneKeyAndNoMatch() throws {
        let pl = try pipeline(Self.program(.continue))
        #expect(try runOne(pl, [3, 0xA5, 0, 0]).bytes == [3, 0xA5, 0, 0] + r(31))
        #expect(try runOne(pl, [3, 0xAF, 0, 0]).bytes == [3, 0xAF, 0, 0] + r(31))
        #expect(try runOne(pl, [3, 0x10, 0, 0]).bytes == [3, 0x10, 0, 0] + r(32))
        #expect(try runOne(pl, [3, 0x1F, 0, 0]).bytes == [3, 0x1F, 0, 0] + r(32))
        // Neither: NoMatch, and ingress runs because the policy is .continue.
        #expect(try runOne(pl, [3, 0x20, 0, 0]).bytes == [3, 0x20, 0, 0] + r(0, Self.noMatch))
        #expect(Self.noMatch == 2)
        #expect(pl.stats.parserDrops == 0)
    }

    @Test func lookaheadDoesNotConsume() throws {
        let pl = try pipeline(Self.program(.drop))
        // 0xBE next: lookahead(16) saw 0xBEEF, then x is extracted from those same bytes.
        #expect(try runOne(pl, [4, 0, 0, 0, 0xBE, 0xEF, 0x01]).bytes == [4, 0, 0, 0, 0xBE, 0xEF] + r(41, 0, 0xBEEF) + [0x01])
        // Something else: accept; the looked-at bytes stay in the payload.
        #expect(try runOne(pl, [4, 0, 0, 0, 0x12, 0x34, 0x01]).bytes == [4, 0, 0, 0] + r(0, 0, 0x1234) + [0x12, 0x34, 0x01])
        // Looking past the end is PacketTooShort.
        let pc = try pipeline(Self.program(.continue))
        #expect(try runOne(pc, [4, 0, 0, 0, 0x12]).bytes == [4, 0, 0, 0] + r(0, Self.tooShort, 0) + [0x12])
    }

    @Test func verifyRaisesTheProgramsError() throws {
        let pc = try pipeline(Self.program(.continue))
        #expect(try runOne(pc, [5, 0x55, 0, 0]).bytes == [5, 0x55, 0, 0] + r(51))
        // The failed verify stops the state: path stays 0, the error is BadK2 (the first program error).
        #expect(try runOne(pc, [5, 0x56, 0, 0]).bytes == [5, 0x56, 0, 0] + r(0, Self.badK2))
        #expect(Self.badK2 == 7)
        #expect(ProgramIndex(Self.program(.continue).ir).errorCodes["Other"] == 8)
        // With .drop the packet is dropped and counted.
        let pd = try pipeline(Self.program(.drop))
        #expect(pd.process([5, 0x56, 0, 0], port: 0).isEmpty)
        #expect(pd.stats.parserDrops == 1)
        #expect(pd.stats.ingressDrops == 0)
    }

    @Test func rejectDropsAndCounts() throws {
        let pd = try pipeline(Self.program(.drop))
        #expect(pd.process([6, 0, 0, 0], port: 0).isEmpty)
        #expect(pd.process([6, 1, 2, 3, 4], port: 0).isEmpty)
        #expect(pd.stats.parserDrops == 2)
        #expect(pd.stats.received == 2)
        #expect(pd.stats.sent == 0)
        // .continue: ingress runs after an explicit reject too.
        let pc = try pipeline(Self.program(.continue))
        #expect(try runOne(pc, [6, 0, 0, 0]).bytes == [6, 0, 0, 0] + r(0))
        #expect(pc.stats.parserDrops == 0)
    }

    @Test func truncatedPacketIsPacketTooShort() throws {
        let pd = try pipeline(Self.program(.drop))
        #expect(pd.process([1, 2, 3], port: 0).isEmpty)
        #expect(pd.process([], port: 0).isEmpty)
        #expect(pd.stats.parserDrops == 2)
        let pc = try pipeline(Self.program(.continue))
        // h was not extracted: only r (added by ingress) comes out, then the unparsed bytes.
        #expect(try runOne(pc, [1, 2, 3]).bytes == r(0, Self.tooShort) + [1, 2, 3])
        // lookHit: x is cut short.
        #expect(try runOne(pc, [4, 0, 0, 0, 0xBE]).bytes == [4, 0, 0, 0] + r(0, Self.tooShort) + [0xBE])
    }

    @Test func advanceSkipsBytes() throws {
        let p = SwitchProgram("advance") {
            HeaderType("h_t") { Field("n", 8) }
            HeaderType("x_t") { Field("v", 16) }
            Header("h", "h_t")
            Header("x", "x_t")
            OnParserReject(.continue)
            Parser {
                State("start") { Extract(hdr.h); Advance(bits: 16); Extract(hdr.x) }
            }
            Ingress { Assign(hdr.h.n, standard.parserError.cast(8)) }
            Deparser { Emit(hdr.h); Emit(hdr.x) }
        }
        let pl = try pipeline(p)
        // The skipped bytes are dropped (they are neither a header nor payload).
        #expect(try runOne(pl, [9, 0xAA, 0xBB, 0x12, 0x34, 0x56]).bytes == [0, 0x12, 0x34, 0x56])
        // Advancing past the end is PacketTooShort.
        #expect(try runOne(pl, [9, 0xAA]).bytes == [UInt8(Self.tooShort), 0xAA])
    }

    // MARK: user metadata

    static func metadataProgram() -> SwitchProgram {
        SwitchProgram("metadata") {
            HeaderType("h_t") { Field("a", 8); Field("before", 8); Field("carried", 16); Field("wide", 64) }
            Header("h", "h_t")
            Metadata { Field("carry", 16); Field("w", 64); Field("flag", 1) }
            Parser { State("start") { Extract(hdr.h) } }
            Ingress {
                // Metadata is zero at the start of every packet, whatever the previous one left.
                Assign(hdr.h.before, mux(meta.flag == 1, Value.bits(0xEE, 8), meta.carry[7, 0]))
                Assign(meta.carry, hdr.h.a.cast(16) + 0x100)
                Assign(meta.w, 0xFFFF_0000_0000_FFFF)
                Assign(meta.flag, 1)
                Forward(port: 3)
            }
            Egress {
                // ... and carried from ingress to egress.
                Assign(hdr.h.carried, meta.carry)
                Assign(hdr.h.wide, meta.w)
            }
            Deparser { Emit(hdr.h) }
        }
    }

    @Test func metadataIsZeroedPerPacketAndCarriedToEgress() throws {
        let pl = try pipeline(Self.metadataProgram())
        for a: UInt8 in [5, 6] {
            let out = try runOne(pl, [a, 0x77, 0, 0] + [UInt8](repeating: 0, count: 8))
            #expect(out.port == 3)
            #expect(out.bytes == [a, 0x00, 0x01, a, 0xFF, 0xFF, 0, 0, 0, 0, 0xFF, 0xFF])
        }
    }
}
