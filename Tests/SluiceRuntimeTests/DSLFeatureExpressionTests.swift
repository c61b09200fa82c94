// Expressions: fixed-width arithmetic, saturation, shifts, bitwise and logical operators,
// comparisons (unsigned and signed), slices, concatenation, casts, sign extension and mux.
// Each case is one output field of a purpose-built program; its expected value is computed here
// by a reference written independently of the runtime.

import Testing
import Sluice
import SluiceIR
import SluiceRuntime
import SluiceTesting

@Suite struct DSLFeatureExpressionTests {
    /// Inputs, as the packet carries them.
    struct In {
        var a: UInt64, b: UInt64, c: UInt64, d: UInt64
        /// Bit patterns of the signed 8-bit fields.
        var s: UInt64, t: UInt64
        var bytes: [UInt8] { [UInt8(a), UInt8(b)] + be(UInt128(c), 2) + be(UInt128(d), 2) + [UInt8(s), UInt8(t)] }
        var si: Int64 { Int64(Int8(bitPattern: UInt8(s))) }
        var ti: Int64 { Int64(Int8(bitPattern: UInt8(t))) }
        var ai: Int64 { Int64(Int8(bitPattern: UInt8(a))) }
        var bi: Int64 { Int64(Int8(bitPattern: UInt8(b))) }
    }

    struct Case {
        var name: String
        var width: Int
        var expr: Value
        var expected: (In) -> UInt64
        init(_ name: String, _ width: Int, _ expr: Value, _ expected: @escaping (In) -> UInt64) {
            self.name = name; self.width = width; self.expr = expr; self.expected = expected
        }
        init(_ name: String, _ expr: Value, _ expected: @escaping (In) -> UInt64) {
            self.init(name, 8, expr, expected)
        }
    }

    static func m8(_ v: UInt64) -> UInt64 { v & 0xFF }
    static func m16(_ v: UInt64) -> UInt64 { v & 0xFFFF }
    static func b(_ c: Bool) -> UInt64 { c ? 1 : 0 }
    static func s8(_ v: Int64) -> UInt64 { UInt64(bitPattern: v) & 0xFF }
    static func clamp8(_ v: Int64) -> UInt64 { s8(min(max(v, -128), 127)) }

    static let a = hdr.i.a, bb = hdr.i.b, c = hdr.i.c, d = hdr.i.d, s = hdr.i.s, t = hdr.i.t

    static let cases: [Case] = [
        // + - * wrap around at the field width (field operands, and constant right operands)
        Case("add", a + bb) { m8($0.a + $0.b) },
        Case("addK", a + 200) { m8($0.a + 200) },
        Case("sub", bb - a) { m8($0.b &- $0.a) },
        Case("subK", a - 201) { m8($0.a &- 201) },
        Case("mul", a * bb) { m8($0.a * $0.b) },
        Case("mulK", a * 3) { m8($0.a * 3) },
        Case("add16", 16, c + d) { m16($0.c + $0.d) },
        Case("sub16", 16, d - c) { m16($0.d &- $0.c) },
        Case("neg", -a) { m8(0 &- $0.a) },
        // saturating
        Case("addSat", a |+| bb) { min($0.a + $0.b, 255) },
        Case("addSatK", bb |+| 10) { min($0.b + 10, 255) },
        Case("addSat16", 16, c |+| d) { min($0.c + $0.d, 0xFFFF) },
        Case("subSat", bb |-| a) { $0.b > $0.a ? $0.b - $0.a : 0 },
        Case("subSatR", a |-| bb) { $0.a > $0.b ? $0.a - $0.b : 0 },
        Case("subSatK", a |-| 150) { $0.a > 150 ? $0.a - 150 : 0 },
        // shifts, including by the width or more
        Case("shl1", a << 1) { m8($0.a << 1) },
        Case("shl7", a << 7) { m8($0.a << 7) },
        Case("shl8", a << 8) { _ in 0 },
        Case("shl9", a << 9) { _ in 0 },
        Case("shlVar", a << bb) { $0.b >= 8 ? 0 : m8($0.a << $0.b) },
        Case("shr3", a >> 3) { $0.a >> 3 },
        Case("shr8", a >> 8) { _ in 0 },
        Case("shrVar", a >> bb) { $0.b >= 8 ? 0 : $0.a >> $0.b },
        Case("shl16", 16, c << 4) { m16($0.c << 4) },
        // bitwise
        Case("and", a & bb) { $0.a & $0.b },
        Case("andK", a & 0x0F) { $0.a & 0x0F },
        Case("or", a | bb) { $0.a | $0.b },
        Case("orK", a | 0x81) { $0.a | 0x81 },
        Case("xor", a ^ bb) { $0.a ^ $0.b },
        Case("not", ~a) { m8(~$0.a) },
        Case("not16", 16, ~c) { m16(~$0.c) },
        // comparisons (1 bit, cast to 8 to be stored)
        Case("lt", (a < bb).cast(8)) { b($0.a < $0.b) },
        Case("le", (a <= bb).cast(8)) { b($0.a <= $0.b) },
        Case("gt", (a > bb).cast(8)) { b($0.a > $0.b) },
        Case("ge", (a >= bb).cast(8)) { b($0.a >= $0.b) },
        Case("eq", (a == bb).cast(8)) { b($0.a == $0.b) },
        Case("ne", (a != bb).cast(8)) { b($0.a != $0.b) },
        Case("ltK", (a < 100).cast(8)) { b($0.a < 100) },
        Case("geK", (a >= 200).cast(8)) { b($0.a >= 200) },
        Case("eqK", (a == 200).cast(8)) { b($0.a == 200) },
        Case("neK", (c != 0x1234).cast(8)) { b($0.c != 0x1234) },
        Case("lt16", (c < d).cast(8)) { b($0.c < $0.d) },
        // logical
        Case("and&&", ((a > bb) && (bb != 0)).cast(8)) { b($0.a > $0.b && $0.b != 0) },
        Case("or||", ((a < bb) || (bb == 0)).cast(8)) { b($0.a < $0.b || $0.b == 0) },
        Case("not!", (!(a == bb)).cast(8)) { b(!($0.a == $0.b)) },
        // chains of comparisons with constants (compiled as one closure, up to four terms)
        Case("or3K", ((a < 10) || (bb >= 250) || (c == 0x1234)).cast(8)) { b($0.a < 10 || $0.b >= 250 || $0.c == 0x1234) },
        Case("and3K", ((a > 5) && (bb <= 200) && (c != 7)).cast(8)) { b($0.a > 5 && $0.b <= 200 && $0.c != 7) },
        Case("or4K", ((a == 1) || (bb == 2) || (a > 250) || (d < 3)).cast(8)) { b($0.a == 1 || $0.b == 2 || $0.a > 250 || $0.d < 3) },
        Case("and2K", ((a >= 128) && (d > 1000)).cast(8)) { b($0.a >= 128 && $0.d > 1000) },
        Case("or5K", ((a == 1) || (a == 2) || (bb == 3) || (bb == 4) || (c == 5)).cast(8)) { b($0.a == 1 || $0.a == 2 || $0.b == 3 || $0.b == 4 || $0.c == 5) },
        Case("orSignedK", ((s < 0) || (a == 3)).cast(8)) { b($0.si < 0 || $0.a == 3) },
        Case("andMixed", ((a > bb) && (c < 0x8000) && (d != 0)).cast(8)) { b($0.a > $0.b && $0.c < 0x8000 && $0.d != 0) },
        // slices, concatenation, casts, sign extension
        Case("slice++", a[7, 4] ++ bb[3, 0]) { ($0.a >> 4) << 4 | ($0.b & 0xF) },
        Case("slice", a[6, 2].cast(8)) { ($0.a >> 2) & 0x1F },
        Case("slice16", c[11, 4]) { ($0.c >> 4) & 0xFF },
        Case("concat16", 16, a ++ bb) { $0.a << 8 | $0.b },
        Case("trunc", c.cast(8)) { $0.c & 0xFF },
        Case("zext", 16, a.cast(16)) { $0.a },
        Case("sext", 16, a.signExtend(16)) { m16(UInt64(bitPattern: $0.ai)) },
        Case("sextS", 16, s.signExtend(16)) { m16(UInt64(bitPattern: $0.si)) },
        Case("sextTrunc", 4 * 2, c.signExtend(8)) { $0.c & 0xFF },
        // mux
        Case("mux", mux(a > bb, a, bb)) { max($0.a, $0.b) },
        Case("muxK", mux(a > bb, 1, 2)) { $0.a > $0.b ? 1 : 2 },
        // signed: declared signed fields, and Signed.* on unsigned ones
        Case("sLt", (s < t).cast(8)) { b($0.si < $0.ti) },
        Case("sGe", (s >= t).cast(8)) { b($0.si >= $0.ti) },
        Case("sLt0", (s < 0).cast(8)) { b($0.si < 0) },
        Case("SignedLt", Signed.lt(a, bb).cast(8)) { b($0.ai < $0.bi) },
        Case("SignedLe", Signed.le(a, bb).cast(8)) { b($0.ai <= $0.bi) },
        Case("SignedGt", Signed.gt(a, bb).cast(8)) { b($0.ai > $0.bi) },
        Case("SignedGe", Signed.ge(a, bb).cast(8)) { b($0.ai >= $0.bi) },
        Case("SignedShr", Signed.shr(a, 2)) { s8($0.ai >> 2) },
        Case("SignedShrVar", Signed.shr(a, bb)) { s8($0.ai >> min($0.b, 63)) },
        Case("unsignedShr", a >> 2) { $0.a >> 2 },
        Case("sShr", s >> 1) { s8($0.si >> 1) },
        Case("sAddSat", s |+| t) { clamp8($0.si + $0.ti) },
        Case("sSubSat", s |-| t) { clamp8($0.si - $0.ti) },
        Case("sAdd", s + t) { s8($0.si + $0.ti) },
    ]

    static func program() -> SwitchProgram {
        SwitchProgram("expressions") {
            HeaderType("in_t") {
                Field("a", 8); Field("b", 8); Field("c", 16); Field("d", 16)
                Field("s", 8, signed: true); Field("t", 8, signed: true)
            }
            HeaderType("out_t") {
                for (i, k) in cases.enumerated() { Field("o\(i)", k.width) }
                Field("s64", 64)
                Field("s128", 128)
                Field("z128", 128)
            }
            Header("i", "in_t")
            Header("o", "out_t")
            Parser { State("start") { Extract(hdr.i); Extract(hdr.o) } }
            Ingress {
                for (i, k) in cases.enumerated() { Assign(hdr.o[dynamicMember: "o\(i)"], k.expr) }
                Assign(hdr.o.s64, hdr.i.s.signExtend(64))
                Assign(hdr.o.s128, hdr.i.s.signExtend(128))
                Assign(hdr.o.z128, hdr.i.s.cast(128))
            }
            Deparser { Emit(hdr.i); Emit(hdr.o) }
        }
    }

    static let inputs: [In] = [
        In(a: 200, b: 100, c: 0xFFFF, d: 2, s: 0x9C, t: 0x9C),   // s = t = -100
        In(a: 3, b: 5, c: 0x1234, d: 0x1235, s: 0xFB, t: 3),      // s = -5
        In(a: 0x80, b: 0, c: 0, d: 1, s: 127, t: 1),
        In(a: 0xF0, b: 9, c: 0x8001, d: 0x8000, s: 0x80, t: 0x7F), // s = -128
        In(a: 0x55, b: 0x55, c: 0x00FF, d: 0x00FF, s: 5, t: 0xFF), // t = -1
        // Edges of the comparison chains: a == 1 / b == 250 / c == 7 / d just over 1000; then
        // a just over 250, b == 2, c == 5, d == 0.
        In(a: 1, b: 250, c: 7, d: 1001, s: 0x10, t: 0),
        In(a: 251, b: 2, c: 5, d: 0, s: 0xFF, t: 1),
    ]

    @Test(arguments: Array(0..<7))
    func everyOperatorAgainstAReference(_ n: Int) throws {
        let pl = try pipeline(Self.program())
        let input = Self.inputs[n]
        let outWidth = Self.cases.reduce(0) { $0 + $1.width } + 64 + 128 + 128
        let bytes = input.bytes + [UInt8](repeating: 0, count: outWidth / 8)
        let out = try runOne(pl, bytes)
        try #require(out.bytes.count == bytes.count)
        #expect(Array(out.bytes[0..<8]) == input.bytes)
        let o = Array(out.bytes[8...])
        var bit = 0
        for k in Self.cases {
            let got = unpack(o, bitOffset: bit, width: k.width)
            #expect(got == UInt128(k.expected(input)), "\(k.name) with \(input)")
            bit += k.width
        }
        let sext = UInt64(bitPattern: input.si)
        #expect(unpack(o, bitOffset: bit, width: 64) == UInt128(sext), "signExtend(64)")
        let sext128 = input.si < 0 ? ~UInt128(0) << 8 | UInt128(input.s) : UInt128(input.s)
        #expect(unpack(o, bitOffset: bit + 64, width: 128) == sext128, "signExtend(128)")
        #expect(unpack(o, bitOffset: bit + 192, width: 128) == UInt128(input.s), "cast(128)")
    }

    /// A slice is not a place: assigning one names it and says what to do, rather than
    /// suggesting a metadata field by a made-up name.
    @Test func assigningASliceIsNamedAsNotAField() {
        let p = SwitchProgram("slice-assign") {
            HeaderType("eth_t") { Field("dst", 48); Field("src", 48); Field("type", 16) }
            Header("eth", "eth_t")
            Parser { State("start") { Extract(hdr.eth); Goto("accept") } }
            Ingress { Assign(hdr.eth.src[47, 40], 1) }
            Deparser { Emit(hdr.eth) }
        }
        #expect(throws: (any Error).self) { try p.verified() }
        do { _ = try p.verified() } catch {
            #expect("\(error)".contains("assigns hdr.eth.src[47:40], which is not a field"), "\(error)")
            #expect("\(error)".contains("assign the whole field from slices"), "\(error)")
            #expect(!"\(error)".contains("declare metadata"), "\(error)")
        }
    }
}
