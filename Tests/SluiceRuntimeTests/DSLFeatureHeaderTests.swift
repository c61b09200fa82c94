// Header fields of every width, 128-bit values, validity and header stacks.

import Testing
import Sluice
import SluiceIR
import SluiceRuntime
import SluiceTesting

@Suite struct DSLFeatureHeaderTests {
    // MARK: odd widths, unaligned fields, 48/64/128 bits

    /// `odd_t`: 1, 3, 4, 13 and 19-bit fields, then 48, 64 and 128-bit fields at unaligned
    /// offsets between padding; `al_t`: byte-aligned 48, 64 and 128-bit fields.
    static let oddWidths = [1, 3, 4, 13, 19, 3, 48, 64, 5, 4, 128, 4]
    static let alignedWidths = [48, 64, 128]

    static func oddProgram() -> SwitchProgram {
        SwitchProgram("odd-widths") {
            HeaderType("odd_t") {
                Field("a", 1); Field("b", 3); Field("c", 4); Field("d", 13); Field("e", 19)
                Field("p1", 3); Field("m", 48); Field("q", 64); Field("p2", 5)
                Field("p3", 4); Field("w", 128); Field("p4", 4)
            }
            HeaderType("al_t") { Field("mac", 48); Field("big", 64); Field("v128", 128) }
            Header("o", "odd_t")
            Header("al", "al_t")
            Metadata { Field("t", 128) }
            Parser {
                State("start") { Extract(hdr.o); Extract(hdr.al); Accept() }
            }
            Ingress {
                Assign(hdr.o.a, ~hdr.o.a)
                Assign(hdr.o.b, hdr.o.b + 1)
                Assign(hdr.o.c, hdr.o.c ^ 0xF)
                Assign(hdr.o.d, hdr.o.d + 3)
                Assign(hdr.o.e, hdr.o.e - 1)
                Assign(hdr.o.m, hdr.o.m + 1)
                Assign(hdr.o.q, hdr.o.q + hdr.o.q)
                // Swap the unaligned and the aligned 128-bit fields through 128-bit metadata.
                Assign(meta.t, hdr.o.w)
                Assign(hdr.o.w, hdr.al.v128)
                Assign(hdr.al.v128, meta.t)
                Assign(hdr.al.mac, hdr.al.mac ^ 0xFFFF_FFFF_FFFF)
                Assign(hdr.al.big, hdr.al.big - 1)
            }
            Deparser { Emit(hdr.o); Emit(hdr.al) }
        }
    }

    @Test func oddWidthFieldsReadAndWrittenExactly() throws {
        let pl = try pipeline(Self.oddProgram())
        let w1: UInt128 = 0x0011_2233_4455_6677_8899_AABB_CCDD_EEFF
        let w2: UInt128 = 0xF0E1_D2C3_B4A5_9687_7869_5A4B_3C2D_1E0F
        let inOdd: [UInt128] = [0, 7, 0b1010, 0x1FFE, 0, 0b101, 0x00FF_FFFF_FFFF, 0x8000_0000_0000_0001, 0b10011, 0b1001, w1, 0b0110]
        let inAl: [UInt128] = [0x0123_4567_89AB, 0, w2]
        let payload: [UInt8] = [0xDE, 0xAD]
        let input = pack(Array(zip(inOdd, Self.oddWidths))) + pack(Array(zip(inAl, Self.alignedWidths))) + payload
        #expect(input.count == 37 + 30 + 2)

        let out = try runOne(pl, input)
        let outOdd: [UInt128] = [1, 0, 0b0101, 0x0001, 0x7FFFF, 0b101, 0x0100_0000_0000, 2, 0b10011, 0b1001, w2, 0b0110]
        let outAl: [UInt128] = [0xFEDC_BA98_7654, 0xFFFF_FFFF_FFFF_FFFF, w1]
        let expected = pack(Array(zip(outOdd, Self.oddWidths))) + pack(Array(zip(outAl, Self.alignedWidths))) + payload
        #expect(out.bytes == expected)
        // Spot checks of the reference packing itself, so that the expectation cannot drift.
        #expect(Array(expected[0..<5]) == [0x85, 0x00, 0x0F, 0xFF, 0xFF])  // a=1 b=0 c=5 | d=1 | e=0x7FFFF
        #expect(unpack(expected, bitOffset: 40 + 3, width: 48) == 0x0100_0000_0000)
    }

    // MARK: 128-bit values: IPv6 addresses

    static let a1: IPv6Address = "2001:db8::1"
    static let a2: IPv6Address = "2001:db8:0:1::2"
    static let a3: IPv6Address = "fe80::aa:bb"

    static func ipv6Program() -> SwitchProgram {
        SwitchProgram("ipv6") {
            HeaderType("eth_t") { Field("dst", 48); Field("src", 48); Field("type", 16) }
            HeaderType("ipv6_t") {
                Field("version", 4); Field("tc", 8); Field("flow", 20); Field("plen", 16)
                Field("nh", 8); Field("hlim", 8); Field("src", 128); Field("dst", 128)
            }
            Header("eth", "eth_t")
            Header("ipv6", "ipv6_t")
            Metadata { Field("addr", 128); Field("hi32", 32); Field("mid16", 16) }
            Parser {
                State("start") {
                    Extract(hdr.eth)
                    Select(hdr.eth.type) { Case(0x86DD, next: "v6"); Default(next: "accept") }
                }
                State("v6") { Extract(hdr.ipv6) }
            }
            NoAction()
            Action("to", Param("port", 9)) { Forward(port: param.port) }
            Action("rewrite", Param("addr", 128), Param("port", 9)) {
                Assign(hdr.ipv6.dst, param.addr)
                Forward(port: param.port)
            }
            Table("v6_exact") {
                Key(hdr.ipv6.src, .exact)
                Actions("to", "NoAction")
            }
            Table("v6_lpm") {
                Key(hdr.ipv6.dst, .lpm)
                Actions("rewrite", "to", "NoAction")
            }
            Ingress {
                // copy through 128-bit metadata, compare, slice
                Assign(meta.addr, hdr.ipv6.src)
                If(meta.addr == hdr.ipv6.dst) {
                    Assign(hdr.ipv6.hlim, 1)
                } else: {
                    Assign(hdr.ipv6.hlim, 2)
                }
                If(hdr.ipv6.src != Value(Self.a1.value)) { Assign(hdr.ipv6.tc, 0xEE) }
                Assign(meta.hi32, hdr.ipv6.src[127, 96])
                Assign(meta.mid16, hdr.ipv6.src[71, 56])   // crosses the 64-bit boundary
                Assign(hdr.ipv6.flow, meta.hi32[19, 0])
                Assign(hdr.ipv6.plen, meta.mid16)
                Apply("v6_exact")
                Apply("v6_lpm")
                Assign(hdr.eth.src, meta.addr[47, 0])
            }
            Deparser { Emit(hdr.eth); Emit(hdr.ipv6) }
        }
    }

    func v6(_ src: IPv6Address, _ dst: IPv6Address, hlim: UInt8 = 64, tc: UInt8 = 0, flow: UInt32 = 0, plen: UInt16 = 4) -> [UInt8] {
        Packet.ethernet(dst: "00:00:00:00:00:01", src: "00:00:00:00:00:02")
            .ipv6(src: src, dst: dst, trafficClass: tc, flowLabel: flow, nextHeader: 253, hopLimit: hlim, payloadLength: plen)
            .payload([1, 2, 3, 4]).bytes
    }

    @Test func ipv6AddressesCopyCompareSliceAndMatch() throws {
        let pl = try pipeline(Self.ipv6Program())
        try pl.insert("v6_exact", TableEntry([.exact(Self.a1.value)], ActionCall("to", [5])))
        try pl.insert("v6_lpm", TableEntry([.lpm(IPv6Address("2001:db8::").value, prefixLength: 32)],
                                           ActionCall("rewrite", [Self.a3.value, 7])))
        try pl.insert("v6_lpm", TableEntry([.lpm(IPv6Address("2001:db8:0:1::").value, prefixLength: 64)], ActionCall("to", [9])))

        let hi32 = UInt32(truncatingIfNeeded: Self.a1.value >> 96), mid16 = UInt16(truncatingIfNeeded: Self.a1.value >> 56)
        let lo48 = MACAddress(value: UInt64(truncatingIfNeeded: Self.a1.value) & 0xFFFF_FFFF_FFFF)

        // src == a1: exact hit (port 5), then dst in 2001:db8::/32 only -> rewrite to a3, port 7.
        var out = try runOne(pl, v6(Self.a1, "2001:db8:5::9"))
        #expect(out.port == 7)
        #expect(out.bytes == Packet.ethernet(dst: "00:00:00:00:00:01", src: lo48)
            .ipv6(src: Self.a1, dst: Self.a3, flowLabel: hi32 & 0xFFFFF, nextHeader: 253, hopLimit: 2, payloadLength: mid16)
            .payload([1, 2, 3, 4]).bytes)

        // src == dst: the 128-bit compare holds; the /64 is longer than the /32 -> port 9, no rewrite.
        let a2hi = UInt32(truncatingIfNeeded: Self.a2.value >> 96), a2mid = UInt16(truncatingIfNeeded: Self.a2.value >> 56)
        out = try runOne(pl, v6(Self.a2, Self.a2))
        #expect(out.port == 9)
        #expect(out.bytes == Packet.ethernet(dst: "00:00:00:00:00:01", src: MACAddress(value: UInt64(truncatingIfNeeded: Self.a2.value) & 0xFFFF_FFFF_FFFF))
            .ipv6(src: Self.a2, dst: Self.a2, trafficClass: 0xEE, flowLabel: a2hi & 0xFFFFF, nextHeader: 253, hopLimit: 1, payloadLength: a2mid)
            .payload([1, 2, 3, 4]).bytes)
        #expect(a2mid == 0x0100)  // bits 71..56 of 2001:db8:0:1::2: the low byte of group 4, the high byte of group 5
        #expect(unpack(Self.a2.bytes, bitOffset: 128 - 72, width: 16) == UInt128(a2mid))

        // No table hit at all: egressSpec stays 0.
        out = try runOne(pl, v6(Self.a3, "fe80::1"))
        #expect(out.port == 0)
        #expect(parse(out.bytes).ipv6?.dst == "fe80::1")
        // The exact table alone: src a1 to a destination outside both prefixes.
        out = try runOne(pl, v6(Self.a1, "3000::1"))
        #expect(out.port == 5)
    }

    // MARK: setValid / setInvalid

    static func tagProgram() -> SwitchProgram {
        SwitchProgram("tagging") {
            HeaderType("eth_t") { Field("dst", 48); Field("src", 48); Field("type", 16) }
            HeaderType("tag_t") { Field("id", 16); Field("pad", 16); Field("type", 16) }
            Header("eth", "eth_t")
            Header("tag", "tag_t")
            Parser {
                State("start") {
                    Extract(hdr.eth)
                    Select(hdr.eth.type) { Case(0x9999, next: "tag"); Default(next: "accept") }
                }
                State("tag") { Extract(hdr.tag) }
            }
            Ingress {
                If(hdr.tag.isValid) {
                    Assign(hdr.eth.type, hdr.tag.type)
                    SetInvalid(hdr.tag)
                } else: {
                    SetValid(hdr.tag)
                    Assign(hdr.tag.id, 0xBEEF)
                    Assign(hdr.tag.type, hdr.eth.type)
                    Assign(hdr.eth.type, 0x9999)
                }
            }
            Deparser { Emit(hdr.eth); Emit(hdr.tag) }
        }
    }

    @Test func setValidAddsAndSetInvalidRemovesAHeaderKeepingThePayload() throws {
        let pl = try pipeline(Self.tagProgram())
        let eth: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
        let payload: [UInt8] = Array(100..<120)
        let plain = eth + [0x08, 0x00] + payload
        let tagged = eth + [0x99, 0x99] + [0xBE, 0xEF, 0x00, 0x00, 0x08, 0x00] + payload
        #expect(try runOne(pl, plain).bytes == tagged)
        #expect(try runOne(pl, tagged).bytes == plain)
        // A tag whose pad is not zero keeps nothing of it once removed, and a new one starts zeroed.
        let dirty = eth + [0x99, 0x99] + [0x12, 0x34, 0x56, 0x78, 0x86, 0xDD] + payload
        #expect(try runOne(pl, dirty).bytes == eth + [0x86, 0xDD] + payload)
    }

    // MARK: header stacks

    static func label(_ l: UInt32, tc: UInt8 = 0, bos: Bool, ttl: UInt8) -> [UInt8] {
        pack([(UInt128(l), 20), (UInt128(tc), 3), (bos ? 1 : 0, 1), (UInt128(ttl), 8)])
    }
    static let ethMPLS: [UInt8] = [0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0x88, 0x47]

    static func mplsProgram(reject: ParserRejectPolicy = .drop, @StatementBuilder _ ingress: () -> [Stmt],
                            @StatementBuilder egress: () -> [Stmt] = { [] }) -> SwitchProgram {
        Fixtures.mplsProgram(reject: reject, ingress, egress: egress)
    }

    @Test func stackElementsByIndexAndLast() throws {
        let pl = try pipeline(Self.mplsProgram {
            Assign(hdr.mpls[0].ttl, hdr.mpls[0].ttl - 1)
            Assign(hdr.mpls[1].tc, 5)
            Assign(hdr.mpls.last.label, 0xABCDE)
            Assign(hdr.eth.dst, hdr.mpls[2].isValid.cast(48))
        })
        let payload: [UInt8] = [0xCA, 0xFE]
        // Two labels: last is element 1; element 2 is invalid.
        var input = Self.ethMPLS + Self.label(100, bos: false, ttl: 64) + Self.label(200, bos: true, ttl: 9) + payload
        var out = try runOne(pl, input)
        var eth = Self.ethMPLS
        eth[5] = 0
        #expect(out.bytes == eth + Self.label(100, bos: false, ttl: 63) + Self.label(0xABCDE, tc: 5, bos: true, ttl: 9) + payload)
        // Three labels: last is element 2, which is valid.
        input = Self.ethMPLS + Self.label(1, bos: false, ttl: 10) + Self.label(2, bos: false, ttl: 20) + Self.label(3, bos: true, ttl: 30) + payload
        out = try runOne(pl, input)
        eth[5] = 1
        #expect(out.bytes == eth + Self.label(1, bos: false, ttl: 9) + Self.label(2, tc: 5, bos: false, ttl: 20)
            + Self.label(0xABCDE, bos: true, ttl: 30) + payload)
    }

    @Test func pushFrontAddsAnElementAtTheFront() throws {
        let pl = try pipeline(Self.mplsProgram {
            PushFront(hdr.mpls, 1)
            SetValid(hdr.mpls[0])
            Assign(hdr.mpls[0].label, 77)
            Assign(hdr.mpls[0].ttl, 64)
        })
        let payload: [UInt8] = [0xCA, 0xFE]
        var out = try runOne(pl, Self.ethMPLS + Self.label(100, bos: false, ttl: 1) + Self.label(200, bos: true, ttl: 2) + payload)
        #expect(out.bytes == Self.ethMPLS + Self.label(77, bos: false, ttl: 64) + Self.label(100, bos: false, ttl: 1)
            + Self.label(200, bos: true, ttl: 2) + payload)
        // A full stack: the last element falls off.
        out = try runOne(pl, Self.ethMPLS + Self.label(1, bos: false, ttl: 1) + Self.label(2, bos: false, ttl: 2)
            + Self.label(3, bos: true, ttl: 3) + payload)
        #expect(out.bytes == Self.ethMPLS + Self.label(77, bos: false, ttl: 64) + Self.label(1, bos: false, ttl: 1)
            + Self.label(2, bos: false, ttl: 2) + payload)
    }

    @Test func popFrontRemovesTheFrontElement() throws {
        let pl = try pipeline(Self.mplsProgram {
            PopFront(hdr.mpls, 1)
            // After the pop, .last is the old element 1 (now element 0).
            Assign(hdr.mpls.last.ttl, hdr.mpls.last.ttl + 1)
        })
        let payload: [UInt8] = [0xCA, 0xFE]
        let out = try runOne(pl, Self.ethMPLS + Self.label(100, bos: false, ttl: 1) + Self.label(200, bos: true, ttl: 2) + payload)
        #expect(out.bytes == Self.ethMPLS + Self.label(200, bos: true, ttl: 3) + payload)
        // Pop two from a stack of three.
        let pl2 = try pipeline(Self.mplsProgram { PopFront(hdr.mpls, 2) })
        let out2 = try runOne(pl2, Self.ethMPLS + Self.label(1, bos: false, ttl: 1) + Self.label(2, bos: false, ttl: 2)
            + Self.label(3, bos: true, ttl: 3) + payload)
        #expect(out2.bytes == Self.ethMPLS + Self.label(3, bos: true, ttl: 3) + payload)
    }

    @Test func egressParsesAFullStackAfresh() throws {
        // Egress parses the packet again: its stack starts empty, not where ingress left it.
        let pl = try pipeline(Self.mplsProgram({
            Assign(hdr.mpls.last.ttl, hdr.mpls.last.ttl - 1)
        }, egress: {
            Assign(hdr.mpls.last.tc, 7)
            Assign(hdr.mpls[0].label, hdr.mpls[0].label + 1)
        }))
        let payload: [UInt8] = [0xCA, 0xFE]
        let out = try runOne(pl, Self.ethMPLS + Self.label(1, bos: false, ttl: 1) + Self.label(2, bos: false, ttl: 2)
            + Self.label(3, bos: true, ttl: 3) + payload)
        #expect(out.bytes == Self.ethMPLS + Self.label(2, bos: false, ttl: 1) + Self.label(2, bos: false, ttl: 2)
            + Self.label(3, tc: 7, bos: true, ttl: 2) + payload)
        #expect(pl.stats.parserDrops == 0)
    }

    @Test func stackOverflowRejectsWithStackOutOfBounds() throws {
        let four = Self.ethMPLS + Self.label(1, bos: false, ttl: 1) + Self.label(2, bos: false, ttl: 2)
            + Self.label(3, bos: false, ttl: 3) + Self.label(4, bos: true, ttl: 4)
        let pl = try pipeline(Self.mplsProgram {})
        #expect(pl.process(four, port: 0).isEmpty)
        #expect(pl.stats.parserDrops == 1)
        // With .continue, ingress sees the error code of StackOutOfBounds.
        let pl2 = try pipeline(Self.mplsProgram(reject: .continue) {
            Assign(hdr.eth.type, standard.parserError)
        })
        let out = try runOne(pl2, four)
        let code = UInt16(StandardError.allCases.firstIndex(of: .stackOutOfBounds)!)
        #expect(code == 3)
        #expect(Array(out.bytes[12..<14]) == [0, UInt8(code)])
        // The three extracted labels are emitted, the fourth stays in the payload.
        #expect(Array(out.bytes[14...]) == Array(four[14...]))
    }
}
