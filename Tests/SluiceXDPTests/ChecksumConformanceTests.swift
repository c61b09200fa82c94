import Testing
import Sluice
import SluiceIR
import SluiceRuntime
import SluiceTesting
import SluiceXDP

/// The XDP backend sums checksum words as the machine loads them, 32 bits at a time, and
/// puts the folded sum in network order once. Each tail a header can end in is checked
/// against the runtime's byte-pair sum: a 7-byte header (a 16-bit and a single byte after the
/// words), a 6-byte one (a 16-bit word) and an 8-byte one (words only), verified and then
/// updated after a field changes.
@Suite(.enabled(if: isRoot, "needs root: loads eBPF programs into the kernel (CI runs as root)"))
struct ChecksumConformanceTests {
    static let seed: UInt64 = 0xC5_0D_D5

    static func program() -> SwitchProgram {
        SwitchProgram("odd-csum") {
            HeaderType("eth_t") { Field("dst", 48); Field("src", 48); Field("type", 16) }
            HeaderType("o_t") { Field("csum", 16); Field("a", 32); Field("b", 8) }    // 7 bytes
            HeaderType("s_t") { Field("csum", 16); Field("a", 32) }                  // 6 bytes
            HeaderType("e_t") { Field("csum", 16); Field("a", 48) }                  // 8 bytes
            Header("eth", "eth_t")
            Header("o", "o_t")
            Header("s", "s_t")
            Header("e", "e_t")
            Parser {
                State("start") { Extract(hdr.eth); Select(hdr.eth.type) { Case(0x88B7, next: "o"); Default(next: "accept") } }
                State("o") { Extract(hdr.o); Extract(hdr.s); Extract(hdr.e); Goto("accept") }
            }
            Metadata { Field("o_bad", 8); Field("s_bad", 8) }
            Ingress {
                // Each header's own verdict, in the first 3 bytes of the source address.
                VerifyChecksum(hdr.o.csum, over: hdr.o)
                Assign(meta.o_bad, standard.checksumError.cast(8))
                Assign(standard.checksumError, 0)
                VerifyChecksum(hdr.s.csum, over: hdr.s)
                Assign(meta.s_bad, standard.checksumError.cast(8))
                Assign(standard.checksumError, 0)
                VerifyChecksum(hdr.e.csum, over: hdr.e)
                Assign(hdr.eth.src, meta.o_bad ++ meta.s_bad ++ standard.checksumError.cast(8) ++ hdr.eth.src[23, 0])
                // Change a field of each, then recompute.
                Assign(hdr.o.b, hdr.o.b + 1)
                Assign(hdr.s.a, hdr.s.a ^ hdr.eth.dst[31, 0])
                Assign(hdr.e.a, hdr.e.a + hdr.eth.dst[15, 0].cast(48))
                UpdateChecksum(hdr.o.csum, over: hdr.o)
                UpdateChecksum(hdr.s.csum, over: hdr.s)
                UpdateChecksum(hdr.e.csum, over: hdr.e)
                Assign(standard.egressSpec, 2)
            }
            Deparser { Emit(hdr.eth); Emit(hdr.o); Emit(hdr.s); Emit(hdr.e) }
        }
    }

    /// The Internet checksum of `bytes` as RFC 1071 writes it: byte pairs, big-endian, the last
    /// odd byte padded with a zero.
    static func internetChecksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        for j in stride(from: 0, to: bytes.count, by: 2) { sum += UInt32(bytes[j]) << 8 | UInt32(j + 1 < bytes.count ? bytes[j + 1] : 0) }
        while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }

    @Test func oddAndShortHeadersAgreeWithTheRuntime() throws {
        print("ChecksumConformanceTests seed \(Self.seed)")
        let ir = try Self.program().verified()
        let runtime = try SwitchHarness(ir)
        let xdp = try XDPProgram(ir)
        var rng = SplitMix64(seed: Self.seed)
        func byte() -> UInt8 { UInt8(truncatingIfNeeded: rng.next()) }
        var packets: [(bytes: [UInt8], port: UInt16)] = []
        var right = 0
        for _ in 0..<1500 {
            var p = (0..<12).map { _ in byte() } + [0x88, 0xB7]
            for size in [7, 6, 8] {
                var h = [0, 0] + (0..<(size - 2)).map { _ in byte() }
                if rng.next() % 2 == 0 {
                    let c = Self.internetChecksum(h)
                    h[0] = UInt8(c >> 8); h[1] = UInt8(c & 0xFF)
                    right += 1
                } else {
                    h[0] = byte(); h[1] = byte()
                }
                p += h
            }
            packets.append((p, 1))
        }
        var d = Differential()
        try d.run(runtime, xdp, packets)
        print("odd-csum: \(d.summary)")
        d.expectAgreement("odd-csum")
        #expect(d.forwarded == 1500)

        // And against RFC 1071 directly: what leaves carries a checksum that verifies, and the
        // verdicts in the source address are the ones the packets were made with.
        let observer = try SwitchHarness(ir)
        var verified = 0
        for p in packets {
            try observer.send(p.bytes, port: 1)
            let o = try #require(observer.drain().first)
            var at = 14
            for (i, size) in [7, 6, 8].enumerated() {
                let input = Array(p.bytes[at..<(at + size)])
                #expect(o.bytes[6 + i] == (Self.internetChecksum(input) == 0 ? 0 : 1))
                if Self.internetChecksum(input) == 0 { verified += 1 }
                #expect(Self.internetChecksum(Array(o.bytes[at..<(at + size)])) == 0)
                at += size
            }
        }
        #expect(verified >= right && right > 2000)
    }
}
