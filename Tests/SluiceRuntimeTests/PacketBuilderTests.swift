// Externs (CRC, Internet checksum) and the test-packet builders, parser and address types.
// Expected packet bytes were produced once with scapy 2.x and pasted here; scapy is not needed
// to run these tests.

import Foundation
import Testing
import SluiceRuntime
import SluiceTesting

private func hex(_ text: String) -> [UInt8] {
    do { return try [UInt8](hex: text) } catch { fatalError("bad test hex: \(error)") }
}

// MARK: - CRC

@Suite struct ExternCRCTests {
    let check = Array("123456789".utf8)

    @Test func crc16ARCCheckValue() {
        #expect(CRC16.compute(check) == 0xBB3D)
        #expect(check.withUnsafeBytes { CRC16.compute($0) } == 0xBB3D)
        #expect(CRC16.compute([]) == 0)
    }

    @Test func crc32CheckValue() {
        #expect(CRC32.compute(check) == 0xCBF4_3926)
        #expect(check.withUnsafeBytes { CRC32.compute($0) } == 0xCBF4_3926)
        #expect(CRC32.compute([]) == 0)
        // zlib.crc32(b"The quick brown fox jumps over the lazy dog")
        #expect(CRC32.compute(Array("The quick brown fox jumps over the lazy dog".utf8)) == 0x414F_A339)
    }

    @Test func chainingEqualsOneShot() {
        for split in 0...check.count {
            let a = Array(check[..<split]), b = Array(check[split...])
            let c16 = b.withUnsafeBytes { CRC16.compute($0, continuing: CRC16.compute(a)) }
            let c32 = b.withUnsafeBytes { CRC32.compute($0, continuing: CRC32.compute(a)) }
            #expect(c16 == 0xBB3D)
            #expect(c32 == 0xCBF4_3926)
        }
    }
}

// MARK: - Internet checksum

@Suite struct ExternInternetChecksumTests {
    @Test func rfc1071Example() {
        // RFC 1071 §3: the 16-bit words 0001 f203 f4f5 f6f7 sum to 2ddf0, folded ddf2.
        let bytes = hex("00 01 f2 03 f4 f5 f6 f7")
        #expect(InternetChecksum.fold(InternetChecksum.sum(bytes)) == 0xDDF2)
        #expect(InternetChecksum.checksum(bytes) == 0x220D)
        #expect(bytes.withUnsafeBytes { InternetChecksum.checksum($0) } == 0x220D)
    }

    @Test func ipv4HeaderByHand() {
        // 4500 0073 0000 4000 4011 [b861] c0a8 0001 c0a8 00c7:
        // 4500+0073+0000+4000+4011+c0a8+0001+c0a8+00c7 = 2479c; 2+479c = 479e; ~479e = b861.
        var header = hex("45 00 00 73 00 00 40 00 40 11 00 00 c0 a8 00 01 c0 a8 00 c7")
        #expect(InternetChecksum.sum(header) % 0xFFFF == 0x2479C % 0xFFFF)
        #expect(InternetChecksum.fold(InternetChecksum.sum(header)) == 0x479E)
        #expect(InternetChecksum.checksum(header) == 0xB861)
        header[10] = 0xB8; header[11] = 0x61
        #expect(InternetChecksum.checksum(header) == 0)
    }

    @Test func oddLengthPadsWithZero() {
        #expect(InternetChecksum.sum([0xAB]) == 0xAB00)
        #expect(InternetChecksum.checksum([0x12, 0x34, 0x56]) == InternetChecksum.checksum([0x12, 0x34, 0x56, 0x00]))
        for n in 0..<8 {  // every tail length of the word loop
            let b = (0..<n).map { UInt8($0 &* 37 &+ 11) }
            var words: UInt32 = 0
            for i in stride(from: 0, to: n, by: 2) { words += UInt32(b[i]) << 8 | (i + 1 < n ? UInt32(b[i + 1]) : 0) }
            #expect(InternetChecksum.fold(InternetChecksum.sum(b)) == InternetChecksum.fold(words))
        }
    }

    @Test func sumsChain() {
        let a = hex("0a 00 00 01 0a 00 01 01 00 11 00 0b"), b = hex("04 d2 10 e1 00 0b 00 00 61 62 63")
        #expect(InternetChecksum.fold(InternetChecksum.sum(b, initial: InternetChecksum.sum(a)))
            == InternetChecksum.fold(InternetChecksum.sum(a + b)))
        // The UDP datagram of udp4odd below: checksum 10c1.
        #expect(~InternetChecksum.fold(InternetChecksum.sum(b, initial: InternetChecksum.sum(a))) == 0x10C1)
    }

    @Test func foldCarries() {
        #expect(InternetChecksum.fold(0) == 0)
        #expect(InternetChecksum.fold(0xFFFF) == 0xFFFF)
        #expect(InternetChecksum.fold(0x1_FFFF) == 0x0001)  // 1+ffff = 10000 -> 0+1
        #expect(InternetChecksum.fold(0xFFFF_FFFF) == 0xFFFF)
        // A long buffer does not overflow the partial sum.
        let big = [UInt8](repeating: 0xFF, count: 300_000)
        #expect(InternetChecksum.fold(InternetChecksum.sum(big)) == 0xFFFF)
    }

    @Test func rfc1624Example() {
        // RFC 1624 §4: HC = dd2f, m = 5555 -> m' = 3285 gives HC' = 0000 by eqn. 3.
        #expect(InternetChecksum.update(checksum: 0xDD2F, old: UInt16(0x5555), new: UInt16(0x3285)) == 0x0000)
    }

    /// Random IPv4 headers: changing a 16-bit word or an address and updating the checksum
    /// incrementally gives what a full recompute gives.
    @Test func incrementalEqualsRecompute() {
        var rng = SplitMix64(seed: testSeed("incrementalEqualsRecompute"))
        for _ in 0..<5_000 {
            let optionWords = Int.random(in: 0...10, using: &rng)
            var h = (0..<(20 + 4 * optionWords)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            h[0] = 0x45 + UInt8(optionWords)
            h[10] = 0; h[11] = 0
            let c = InternetChecksum.checksum(h)
            h[10] = UInt8(c >> 8); h[11] = UInt8(c & 0xFF)

            var changed = h
            let updated: UInt16
            if Bool.random(using: &rng) {
                // A 16-bit word other than the checksum (TTL+protocol, total length, ...).
                let word = ([0, 1, 2, 3, 4, 6, 7, 8, 9] + (10..<(h.count / 2)).map { $0 }).randomElement(using: &rng)!
                let old = UInt16(h[2 * word]) << 8 | UInt16(h[2 * word + 1])
                let new = UInt16.random(in: 0...0xFFFF, using: &rng)
                changed[2 * word] = UInt8(new >> 8); changed[2 * word + 1] = UInt8(new & 0xFF)
                updated = InternetChecksum.update(checksum: c, old: old, new: new)
            } else {
                // The source or destination address.
                let at = Bool.random(using: &rng) ? 12 : 16
                let old = h[at..<at + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
                let new = UInt32.random(in: 0...UInt32.max, using: &rng)
                for i in 0..<4 { changed[at + i] = UInt8(truncatingIfNeeded: new >> (24 - 8 * i)) }
                updated = InternetChecksum.update(checksum: c, old: old, new: new)
            }
            changed[10] = 0; changed[11] = 0
            let recomputed = InternetChecksum.checksum(changed)
            #expect(updated == recomputed, "header \(hexdump(h))")
            if updated != recomputed { return }
        }
    }
}

// MARK: - Builders: exact bytes (expected hex from scapy)

@Suite struct PacketBuilderTests {
    @Test func ethernetIPv4UDP() {
        let p = Packet.ethernet(dst: "00:00:00:00:01:01", src: "00:00:00:00:00:01")
            .ipv4(src: "10.0.0.1", dst: "10.0.1.1", ttl: 64)
            .udp(sport: 1234, dport: 4321)
            .payload(count: 18)
        // Header checksum by hand: 4500+002e+0001+0000+4011+0a00+0001+0a00+0101 = 9a42, ~ = 65bd.
        let expected = hex("""
            00 00 00 00 01 01  00 00 00 00 00 01  08 00                  # Ethernet
            45 00 00 2e 00 01 00 00 40 11 65 bd 0a 00 00 01 0a 00 01 01  # IPv4
            04 d2 10 e1 00 1a 8c b4                                      # UDP
            00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11        # payload
            """)
        #expect(p.bytes == expected, "\n\(hexdump(p.bytes))")
        #expect(p.bytes.count == 60)
    }

    @Test func vlanIPv4OptionsTCPOptions() {
        let p = Packet.ethernet(dst: "02:00:00:00:00:02", src: "02:00:00:00:00:01", vlan: .init(vid: 10, pcp: 3))
            .ipv4(src: "192.168.1.10", dst: "172.16.0.1", dscp: 46, ecn: 1, id: 0x1234, flags: .dontFragment, ttl: 17,
                  options: [0x94, 0x04, 0x00, 0x00])
            .tcp(sport: 80, dport: 12345, seq: 0x0102_0304, ack: 0xA0B0_C0D0, flags: [.psh, .ack], window: 65535,
                 options: [0x02, 0x04, 0x05, 0xB4, 0x01, 0x03, 0x03, 0x07])
            .payload("hello")
        let expected = hex("""
            02 00 00 00 00 02 02 00 00 00 00 01 81 00 60 0a 08 00
            46 b9 00 39 12 34 40 00 11 06 54 0a c0 a8 01 0a ac 10 00 01 94 04 00 00
            00 50 30 39 01 02 03 04 a0 b0 c0 d0 70 18 ff ff 3c 57 00 00 02 04 05 b4 01 03 03 07
            68 65 6c 6c 6f
            """)
        #expect(p.bytes == expected, "\n\(hexdump(p.bytes))")
        // tos overrides dscp/ecn
        let q = Packet.ipv4(src: "1.1.1.1", dst: "2.2.2.2", tos: 0xB9, dscp: 1, ecn: 0).bytes
        #expect(q[1] == 0xB9)
    }

    @Test func arpRequestAndReply() {
        let request = Packet.ethernet(dst: .broadcast, src: "00:00:00:00:00:01")
            .arp(.request, senderMAC: "00:00:00:00:00:01", senderIP: "10.0.0.1", targetIP: "10.0.0.2")
        #expect(request.bytes == hex("""
            ff ff ff ff ff ff 00 00 00 00 00 01 08 06
            00 01 08 00 06 04 00 01 00 00 00 00 00 01 0a 00 00 01 00 00 00 00 00 00 0a 00 00 02
            """))
        let reply = Packet.ethernet(dst: "00:00:00:00:00:01", src: "00:00:00:00:00:02")
            .arp(.reply, senderMAC: "00:00:00:00:00:02", senderIP: "10.0.0.2", targetMAC: "00:00:00:00:00:01", targetIP: "10.0.0.1")
        #expect(reply.bytes == hex("""
            00 00 00 00 00 01 00 00 00 00 00 02 08 06
            00 01 08 00 06 04 00 02 00 00 00 00 00 02 0a 00 00 02 00 00 00 00 00 01 0a 00 00 01
            """))
    }

    @Test func minimumFrameSizePads() {
        let arp = Packet.ethernet(dst: .broadcast, src: "00:00:00:00:00:01")
            .arp(senderMAC: "00:00:00:00:00:01", senderIP: "10.0.0.1", targetIP: "10.0.0.2")
        #expect(arp.bytes.count == 42)
        let padded = arp.minimumFrameSize().bytes
        #expect(padded.count == 60)
        #expect(padded[..<42].elementsEqual(arp.bytes))
        #expect(padded[42...].allSatisfy { $0 == 0 })
        // Padding is a trailer: IPv4 and UDP lengths and checksums ignore it.
        let small = Packet.ethernet(dst: "00:00:00:00:01:01", src: "00:00:00:00:00:01")
            .ipv4(src: "10.0.0.1", dst: "10.0.1.1").udp(sport: 1, dport: 2).payload([0xAA, 0xBB, 0xCC])
        let smallPadded = small.minimumFrameSize(Packet.ethernetMinimumFrameSize).bytes
        #expect(smallPadded.count == 60)
        #expect(smallPadded[..<small.bytes.count].elementsEqual(small.bytes))
        let parsed = parse(smallPadded)
        #expect(parsed.ipv4?.totalLength == 31)
        #expect(parsed.udp?.checksumValid == true)
        #expect(parsed.payload == [0xAA, 0xBB, 0xCC])
        #expect(parsed.trailer == [UInt8](repeating: 0, count: 60 - 45))
        #expect(!parsed.truncated)
        // Frames already long enough are unchanged.
        let long = Packet.ethernet(dst: .broadcast, src: .zero).payload(count: 100)
        #expect(long.minimumFrameSize().bytes == long.bytes)
    }

    @Test func ethernetIPv6UDP() {
        let p = Packet.ethernet(dst: "00:00:00:00:01:01", src: "00:00:00:00:00:01")
            .ipv6(src: "2001:db8::1", dst: "2001:db8::2", trafficClass: 0x12, flowLabel: 0x12345, hopLimit: 32)
            .udp(sport: 5000, dport: 53)
            .payload(count: 18)
        #expect(p.bytes == hex("""
            00 00 00 00 01 01 00 00 00 00 00 01 86 dd
            61 21 23 45 00 1a 11 20
            20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01
            20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 02
            13 88 00 35 00 1a 48 37
            00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f 10 11
            """), "\n\(hexdump(p.bytes))")
    }

    @Test func ipv6TCP() {
        let p = Packet.ipv6(src: "fe80::1", dst: "ff02::1:ff00:2")
            .tcp(sport: 1024, dport: 443, seq: 1, flags: .syn, window: 1000)
        #expect(p.bytes == hex("""
            60 00 00 00 00 14 06 40
            fe 80 00 00 00 00 00 00 00 00 00 00 00 00 00 01
            ff 02 00 00 00 00 00 00 00 00 00 01 ff 00 00 02
            04 00 01 bb 00 00 00 01 00 00 00 00 50 02 03 e8 a9 b6 00 00
            """), "\n\(hexdump(p.bytes))")
        #expect(parse(p.bytes, from: .ipv6).tcp?.checksumValid == true)
    }

    @Test func udpChecksumZeroWhenAsked() {
        let p = Packet.ethernet(dst: "00:00:00:00:01:01", src: "00:00:00:00:00:01")
            .ipv4(src: "10.0.0.1", dst: "10.0.1.1")
            .udp(sport: 1, dport: 2, checksum: 0)
            .payload([0xAA, 0xBB, 0xCC])
        #expect(p.bytes == hex("""
            00 00 00 00 01 01 00 00 00 00 00 01 08 00
            45 00 00 1f 00 01 00 00 40 11 65 cc 0a 00 00 01 0a 00 01 01
            00 01 00 02 00 0b 00 00 aa bb cc
            """))
        #expect(parse(p.bytes).udp?.checksumValid == nil)
    }

    @Test func udpOddPayloadWithoutEthernet() {
        let p = Packet.ipv4(src: "10.0.0.1", dst: "10.0.1.1").udp(sport: 1234, dport: 4321).payload("abc")
        #expect(p.bytes == hex("45 00 00 1f 00 01 00 00 40 11 65 cc 0a 00 00 01 0a 00 01 01  04 d2 10 e1 00 0b 10 c1 61 62 63"))
    }

    @Test func udpComputedZeroIsSentAsFFFF() {
        // With payload word w the checksum is ~fold(S + w); w = c (the checksum with w = 0) makes it 0.
        let base = Packet.ipv4(src: "10.0.0.1", dst: "10.0.1.1").udp(sport: 7, dport: 9)
        let c = parse(base.payload([0, 0]).bytes, from: .ipv4).udp!.checksum
        let p = base.payload([UInt8(c >> 8), UInt8(c & 0xFF)])
        let parsed = parse(p.bytes, from: .ipv4)
        #expect(parsed.udp?.checksum == 0xFFFF)
        #expect(parsed.udp?.checksumValid == true)
    }

    @Test func ipv4FragmentFieldsAndOverrides() {
        let p = Packet.ipv4(src: "1.2.3.4", dst: "5.6.7.8", id: 7, flags: .moreFragments, fragmentOffset: 100,
                            ttl: 255, protocol: 253).payload([1, 2, 3])
        #expect(p.bytes == hex("45 00 00 17 00 07 20 64 ff fd 8a 6b 01 02 03 04 05 06 07 08 01 02 03"))
        // Raw payload with no protocol given: 253 (experimental), like above.
        #expect(Packet.ipv4(src: "1.2.3.4", dst: "5.6.7.8", id: 7, flags: .moreFragments, fragmentOffset: 100, ttl: 255)
            .payload([1, 2, 3]).bytes == p.bytes)
        // Overrides are written as given.
        let bad = Packet.ipv4(src: "1.2.3.4", dst: "5.6.7.8", ihl: 6, totalLength: 999, checksum: 0xBEEF).bytes
        #expect(bad[0] == 0x46)
        #expect(bad[2...3].elementsEqual([0x03, 0xE7]))
        #expect(bad[10...11].elementsEqual([0xBE, 0xEF]))
        let parsed = parse(bad, from: .ipv4)
        #expect(parsed.ipv4?.checksumValid == false)
        #expect(parsed.truncated)  // ihl 6 promises 24 header bytes, only 20 are there
        // Odd options are padded to a multiple of 4.
        let opt = Packet.ipv4(src: "1.2.3.4", dst: "5.6.7.8", options: [0x01]).bytes
        #expect(opt.count == 24 && opt[0] == 0x46 && opt[20...].elementsEqual([1, 0, 0, 0]))
        #expect(parse(opt, from: .ipv4).ipv4?.checksumValid == true)
    }

    @Test func tcpOverridesAndFlags() {
        let p = Packet.ipv4(src: "10.0.0.1", dst: "10.0.0.2")
            .tcp(sport: 1, dport: 2, flags: [.syn, .ack, .ns], urgentPointer: 9, options: [1], dataOffset: 7, checksum: 0)
        let b = p.bytes
        #expect(b.count == 20 + 24)
        #expect(b[20 + 12] == 0x71 && b[20 + 13] == 0x12)
        #expect(b[20 + 16] == 0 && b[20 + 17] == 0)
        #expect(b[(20 + 18)...].elementsEqual([0, 9, 1, 0, 0, 0]))
        let t = parse(b, from: .ipv4).tcp
        #expect(t?.flags == [.syn, .ack, .ns])
        #expect(t?.checksumValid == false)
    }

    @Test func etherTypeAndVLANInference() {
        #expect(Packet.ethernet(dst: .broadcast, src: .zero).payload([]).bytes[12...].elementsEqual([0x88, 0xB5]))
        #expect(Packet.ethernet(dst: .broadcast, src: .zero, etherType: 0x1234).bytes[12...].elementsEqual([0x12, 0x34]))
        let v = Packet.ethernet(dst: .broadcast, src: .zero, vlan: 100).ipv6(src: "::1", dst: "::2").bytes
        #expect(v[12..<18].elementsEqual([0x81, 0x00, 0x00, 0x64, 0x86, 0xDD]))
        #expect(v[18 + 6] == 59)  // IPv6 with nothing after: No Next Header
        let tag = Packet.VLANTag(vid: 0xFFF, pcp: 7, dei: true)
        #expect(tag.tci == 0xFFFF)
        #expect(Packet.VLANTag(tci: 0xFFFF) == tag)
    }

    @Test func layersComputeAtEncodeTime() {
        // The UDP length and IPv4 total length see the payload added after them.
        let p = Packet.ipv4(src: "10.0.0.1", dst: "10.0.1.1").udp(sport: 1, dport: 2)
        let a = parse(p.payload(count: 10).bytes, from: .ipv4), b = parse(p.payload(count: 100).bytes, from: .ipv4)
        #expect(a.ipv4?.totalLength == 38 && a.udp?.length == 18)
        #expect(b.ipv4?.totalLength == 128 && b.udp?.length == 108)
        #expect(p.payload(count: 4, fill: .byte(0xEE)).bytes.suffix(4).elementsEqual([0xEE, 0xEE, 0xEE, 0xEE]))
        #expect(p.payload(count: 300).bytes.last == UInt8(299 % 256))
    }
}

// MARK: - Parsing

@Suite struct PacketParseTests {
    let udp4 = Packet.ethernet(dst: "00:00:00:00:01:01", src: "00:00:00:00:00:01", vlan: .init(vid: 5, pcp: 2))
        .ipv4(src: "10.0.0.1", dst: "10.0.1.1", dscp: 10, ecn: 2, id: 42, flags: .dontFragment, ttl: 7)
        .udp(sport: 1234, dport: 4321).payload(count: 18)

    @Test func decodesHeaders() {
        let p = parse(udp4.bytes)
        #expect(p.ethernet?.dst == "00:00:00:00:01:01")
        #expect(p.ethernet?.vlan?.vid == 5 && p.ethernet?.vlan?.pcp == 2)
        #expect(p.ethernet?.etherType == 0x0800)
        #expect(p.ipv4?.ttl == 7)
        #expect(p.ipv4?.dscp == 10 && p.ipv4?.ecn == 2 && p.ipv4?.tos == 42)
        #expect(p.ipv4?.identification == 42 && p.ipv4?.flags == .dontFragment)
        #expect(p.ipv4?.src == "10.0.0.1" && p.ipv4?.dst == "10.0.1.1")
        #expect(p.ipv4?.checksumValid == true)
        #expect(p.udp?.sport == 1234 && p.udp?.dport == 4321 && p.udp?.length == 26)
        #expect(p.udp?.checksumValid == true)
        #expect(p.payload == Array(0..<18))
        #expect(p.tcp == nil && p.ipv6 == nil && p.arp == nil)
        #expect(!p.truncated)
    }

    @Test func detectsCorruption() {
        var b = udp4.bytes
        b[18 + 8] &+= 1  // TTL: IPv4 checksum now wrong; UDP's pseudo-header does not cover TTL
        #expect(parse(b).ipv4?.checksumValid == false)
        #expect(parse(b).udp?.checksumValid == true)
        b = udp4.bytes
        b[b.count - 1] ^= 0xFF
        #expect(parse(b).ipv4?.checksumValid == true)
        #expect(parse(b).udp?.checksumValid == false)
    }

    @Test func arpAndIPv6() {
        let arp = parse(Packet.ethernet(dst: .broadcast, src: "00:00:00:00:00:01")
            .arp(.reply, senderMAC: "00:00:00:00:00:01", senderIP: "10.0.0.1", targetMAC: "00:00:00:00:00:02", targetIP: "10.0.0.2")
            .minimumFrameSize().bytes)
        #expect(arp.arp?.operation == .reply)
        #expect(arp.arp?.senderIP == "10.0.0.1" && arp.arp?.targetMAC == "00:00:00:00:00:02")
        #expect(arp.trailer.count == 18)

        let v6 = parse(Packet.ethernet(dst: .broadcast, src: .zero)
            .ipv6(src: "2001:db8::1", dst: "2001:db8::2", trafficClass: 0xAB, flowLabel: 0xFEDCB, hopLimit: 3)
            .tcp(sport: 1, dport: 2, seq: 99, ack: 100, flags: [.ack], options: [2, 4, 5, 0xDC]).payload(count: 5).bytes)
        #expect(v6.ipv6?.trafficClass == 0xAB && v6.ipv6?.flowLabel == 0xFEDCB && v6.ipv6?.hopLimit == 3)
        #expect(v6.ipv6?.nextHeader == 6 && v6.ipv6?.payloadLength == 24 + 5)
        #expect(v6.tcp?.seq == 99 && v6.tcp?.ack == 100 && v6.tcp?.flags == .ack && v6.tcp?.dataOffset == 6)
        #expect(v6.tcp?.options == [2, 4, 5, 0xDC])
        #expect(v6.tcp?.checksumValid == true)
        #expect(v6.payload.count == 5)
    }

    /// Every prefix of a packet parses without trapping; shorter ones say they are truncated
    /// and keep the headers that were whole.
    @Test func truncatedInputs() {
        let packets = [
            udp4.bytes,
            Packet.ethernet(dst: .broadcast, src: .zero).ipv6(src: "::1", dst: "::2").tcp(sport: 1, dport: 2, options: [1, 1, 1, 1]).payload(count: 3).bytes,
            Packet.ethernet(dst: .broadcast, src: .zero).arp(senderMAC: .zero, senderIP: .any, targetIP: .broadcast).bytes,
            Packet.ethernet(dst: .broadcast, src: .zero).ipv4(src: "1.1.1.1", dst: "2.2.2.2", options: [7, 7, 7, 7]).tcp(sport: 1, dport: 2).bytes,
        ]
        for full in packets {
            #expect(!parse(full).truncated)
            for n in 0..<full.count {
                let p = parse(Array(full[..<n]))
                #expect(p.truncated, "prefix of \(n) bytes")
                // Ethernet is kept from 14 bytes on; a cut VLAN tag leaves etherType = its TPID.
                #expect((p.ethernet != nil) == (n >= 14))
                #expect((p.ethernet?.vlans == parse(full).ethernet!.vlans) == (n >= 14 + 4 * parse(full).ethernet!.vlans.count))
            }
        }
        let cut = parse(Array(udp4.bytes[..<(18 + 20 + 4)]))
        #expect(cut.ipv4?.ttl == 7 && cut.udp == nil && cut.truncated)
        let cutPayload = parse(Array(udp4.bytes.dropLast(3)))
        #expect(cutPayload.udp?.sport == 1234 && cutPayload.udp?.checksumValid == nil && cutPayload.truncated)
    }
}

extension PacketParseTests {
    /// Random corruptions of valid packets (lengths, IHL, data offset, EtherTypes) never trap.
    @Test func fuzzedInputsDoNotTrap() {
        var rng = SplitMix64(seed: testSeed("fuzzedInputsDoNotTrap"))
        let seeds = [
            udp4.bytes,
            Packet.ethernet(dst: .broadcast, src: .zero).ipv6(src: "::1", dst: "::2").udp(sport: 1, dport: 2).payload(count: 9).bytes,
            Packet.ethernet(dst: .broadcast, src: .zero).ipv4(src: "1.1.1.1", dst: "2.2.2.2").tcp(sport: 1, dport: 2, options: [1, 1]).payload(count: 7).bytes,
            Packet.ethernet(dst: .broadcast, src: .zero).arp(senderMAC: .zero, senderIP: .any, targetIP: .broadcast).bytes,
        ]
        for _ in 0..<3_000 {
            var b = seeds.randomElement(using: &rng)!
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            b = Array(b.prefix(Int.random(in: 0...b.count, using: &rng)))
            for start in [ParsedPacket.Start.ethernet, .ipv4, .ipv6] { _ = parse(b, from: start) }
        }
    }
}

// MARK: - Addresses

@Suite struct PacketAddressTests {
    @Test func mac() throws {
        let text = "AA:bb:0c:d:00:ff", dashed = "01-02-03-04-05-06"
        let m = try MACAddress(text)
        #expect(m.value == 0xAABB_0C0D_00FF)
        #expect(m.description == "aa:bb:0c:0d:00:ff")
        #expect(try MACAddress(dashed).value == 0x0102_0304_0506)
        let literal: MACAddress = "01-02-03-04-05-06"
        #expect(literal.value == 0x0102_0304_0506)
        #expect(m.bytes == [0xAA, 0xBB, 0x0C, 0x0D, 0x00, 0xFF])
        #expect(MACAddress(bytes: m.bytes) == m)
        let multicast: MACAddress = "01:00:5e:00:00:01"
        #expect(MACAddress.broadcast.isBroadcast && multicast.isMulticast && !m.isMulticast)
        for bad in ["", "aa:bb:cc:dd:ee", "aa:bb:cc:dd:ee:ff:00", "aa:bb:cc:dd:ee:fg", "aa:bb:cc:dd:ee:123", "aa:bb:cc::ee:ff", "aa:bb-cc:dd:ee:ff"] {
            #expect(throws: AddressParseError.self, "\(bad)") { try MACAddress(bad) }
        }
        // A literal argument is a literal coercion (SE-0213: traps when bad), so parse a variable.
        let badText = "aa:bb:cc:dd:ee:zz"
        do { _ = try MACAddress(badText); Issue.record("parsed") } catch {
            #expect(error.text == "aa:bb:cc:dd:ee:zz")
            #expect(error.description.contains("'aa:bb:cc:dd:ee:zz'") && error.description.contains("'zz'"))
        }
    }

    @Test func ipv4() throws {
        for (text, value) in [("10.0.0.1", 0x0A00_0001), ("255.255.255.255", 0xFFFF_FFFF), ("0.0.0.0", 0)] as [(String, UInt32)] {
            #expect(try IPv4Address(text).value == value)
        }
        #expect(IPv4Address(192, 168, 1, 254).description == "192.168.1.254")
        #expect(IPv4Address(value: 0x0A00_0001).bytes == [10, 0, 0, 1])
        for bad in ["", "10.0.0", "10.0.0.1.2", "10.0.0.256", "10.0.0.-1", "10..0.1", "010.0.0.1", "1.2.3.4 ", "a.b.c.d", "1.2.3.1000", "0x1.2.3.4"] {
            #expect(throws: AddressParseError.self, "\(bad)") { try IPv4Address(bad) }
        }
        let badText = "10.0.0.256"
        do { _ = try IPv4Address(badText); Issue.record("parsed") } catch {
            #expect(error.kind == .ipv4 && error.text == "10.0.0.256")
            #expect(error.description == "invalid IPv4 address '10.0.0.256': octet '256' is greater than 255")
        }
    }

    @Test func ipv6ParsesAndPrintsCanonically() throws {
        // (text, value, RFC 5952 text); values cross-checked with Python's ipaddress.
        let cases: [(String, UInt128, String)] = [
            ("2001:db8::1", 0x2001_0db8_0000_0000_0000_0000_0000_0001, "2001:db8::1"),
            ("::", 0, "::"),
            ("::1", 1, "::1"),
            ("1::", 0x0001_0000_0000_0000_0000_0000_0000_0000, "1::"),
            ("2001:db8:0:0:1:0:0:1", 0x2001_0db8_0000_0000_0001_0000_0000_0001, "2001:db8::1:0:0:1"),
            ("2001:0DB8:0000:0000:0000:FF00:0042:8329", 0x2001_0db8_0000_0000_0000_ff00_0042_8329, "2001:db8::ff00:42:8329"),
            ("::ffff:10.0.0.1", 0xffff_0a00_0001, "::ffff:10.0.0.1"),
            ("64:ff9b::192.0.2.1", 0x0064_ff9b_0000_0000_0000_0000_c000_0201, "64:ff9b::c000:201"),
            ("1:2:3:4:5:6:7:8", 0x0001_0002_0003_0004_0005_0006_0007_0008, "1:2:3:4:5:6:7:8"),
            ("1:0:0:2:0:0:0:3", 0x0001_0000_0000_0002_0000_0000_0000_0003, "1:0:0:2::3"),
            ("fe80::", 0xfe80_0000_0000_0000_0000_0000_0000_0000, "fe80::"),
            ("1:2:3:4:5:6:1.2.3.4", 0x0001_0002_0003_0004_0005_0006_0102_0304, "1:2:3:4:5:6:102:304"),
            ("0:0:0:0:0:0:0:1", 1, "::1"),
            ("1:0:3:4:5:6:7:8", 0x0001_0000_0003_0004_0005_0006_0007_0008, "1:0:3:4:5:6:7:8"),
            ("::1.2.3.4", 0x0102_0304, "::102:304"),
            ("1::8", 0x0001_0000_0000_0000_0000_0000_0000_0008, "1::8"),
            ("1:2:3:4:5:6:7::", 0x0001_0002_0003_0004_0005_0006_0007_0000, "1:2:3:4:5:6:7:0"),
            ("::2:3:4:5:6:7:8", 0x0000_0002_0003_0004_0005_0006_0007_0008, "0:2:3:4:5:6:7:8"),
            ("1:0:0:4:0:0:7:8", 0x0001_0000_0000_0004_0000_0000_0007_0008, "1::4:0:0:7:8"),
        ]
        for (text, value, canonical) in cases {
            let a = try IPv6Address(text)
            #expect(a.value == value, "\(text)")
            #expect(a.description == canonical, "\(text)")
            #expect(try IPv6Address(a.description) == a)
            #expect(IPv6Address(bytes: a.bytes) == a && IPv6Address(groups: a.groups) == a)
        }
        #expect(IPv6Address(ipv4Mapped: "192.0.2.1").description == "::ffff:192.0.2.1")
    }

    @Test func ipv6Malformed() {
        let bad = [
            "", ":", ":::", "1:::2", "1::2::3", ":1:2:3:4:5:6:7", "1:2:3:4:5:6:7:", "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9",
            "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8", "12345::", "g::", "1:2:3:4:5:6:7:1.2.3.4", "1.2.3.4::",
            "::1.2.3.4:5", "::1.2.3", "::1.2.3.256", "::01.2.3.4", "fe80::1%eth0", "2001:db8::/32", " ::1", "1:2:3:4:5:6:1.2.3.4:8",
        ]
        for text in bad {
            #expect(throws: AddressParseError.self, "\(text)") { try IPv6Address(text) }
        }
        let badText = "2001:db8::12345"
        do { _ = try IPv6Address(badText); Issue.record("parsed") } catch {
            #expect(error.kind == .ipv6 && error.text == "2001:db8::12345")
            #expect(error.description.contains("'2001:db8::12345'") && error.description.contains("'12345'"))
        }
    }
}

// MARK: - Hex

@Suite struct PacketHexTests {
    @Test func parsesWithWhitespaceAndComments() throws {
        #expect(try [UInt8](hex: "00 01\tf2\n03  F4f5 0xf6f7  # comment 99\n\n") == [0x00, 0x01, 0xF2, 0x03, 0xF4, 0xF5, 0xF6, 0xF7])
        #expect(try [UInt8](hex: "") == [])
        #expect(try [UInt8](hex: "   \n # only a comment") == [])
    }

    @Test func errorsNameTheToken() {
        do { _ = try [UInt8](hex: "00 01\n0g 03"); Issue.record("parsed") } catch {
            #expect(error.token == "0g" && error.line == 2)
            #expect(error.description == "invalid hex token '0g' on line 2: not a hex digit")
        }
        do { _ = try [UInt8](hex: "00 012 03"); Issue.record("parsed") } catch {
            #expect(error.token == "012" && error.reason == "odd number of hex digits")
        }
        #expect(throws: HexParseError.self) { try [UInt8](hex: "0x") }
    }

    @Test func hexStringAndDump() {
        let b: [UInt8] = Array(0x41..<0x41 + 20)
        #expect([0x00, 0xAB, 0x0F].hexString() == "00 ab 0f")
        #expect([0x00, 0xAB, 0x0F].hexString(separator: "") == "00ab0f")
        #expect(hexdump(b) == """
            0000  41 42 43 44 45 46 47 48  49 4a 4b 4c 4d 4e 4f 50  ABCDEFGHIJKLMNOP
            0010  51 52 53 54                                       QRST
            """)
        #expect(hexdump([0x00, 0x7F, 0x20]) == "0000  00 7f 20                                          .. ")
        #expect(hexdump([]) == "")
    }

    @Test func description() {
        let p = Packet.ethernet(dst: "00:00:00:00:01:01", src: "00:00:00:00:00:01", vlan: 10)
            .ipv4(src: "10.0.0.1", dst: "10.0.1.1").udp(sport: 1, dport: 2).payload(count: 4).minimumFrameSize()
        #expect(p.description == "Ethernet(00:00:00:00:00:01 > 00:00:00:00:01:01, vlan: 10) / IPv4(10.0.0.1 > 10.0.1.1, ttl: 64) / UDP(1 > 2) / 4 bytes / pad to 60")
    }
}
