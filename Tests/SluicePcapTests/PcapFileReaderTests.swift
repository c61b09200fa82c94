import Foundation
import Testing
import SluiceTesting
@testable import SluicePcap
@testable import SluicePcapFiles

/// Frames with nanosecond stamps that exercise every digit (and one cut by a snaplen).
private func samplePackets(_ n: Int = 6) -> [CapturedPacket] {
    testFrames(n).enumerated().map { i, f in
        CapturedPacket(timestamp: 1_700_000_000_000_000_000 + Int64(i) * 1_234_567_891 + Int64(i * 7), bytes: f)
    }
}

/// Hand-built pcapng blocks in either byte order.
private struct PcapngBuilder {
    var bigEndian: Bool
    func u16(_ v: UInt16) -> [UInt8] { bigEndian ? be16(v) : le16(v) }
    func u32(_ v: UInt32) -> [UInt8] { bigEndian ? be32(v) : le32(v) }
    func u64(_ v: UInt64) -> [UInt8] { bigEndian ? be32(UInt32(v >> 32)) + be32(UInt32(truncatingIfNeeded: v)) : le32(UInt32(truncatingIfNeeded: v)) + le32(UInt32(v >> 32)) }
    func padded(_ b: [UInt8]) -> [UInt8] { b + [UInt8](repeating: 0, count: (4 - b.count % 4) % 4) }

    func block(_ type: UInt32, _ body: [UInt8]) -> [UInt8] {
        let body = padded(body)
        let length = UInt32(12 + body.count)
        return u32(type) + u32(length) + body + u32(length)
    }
    func option(_ code: UInt16, _ value: [UInt8]) -> [UInt8] { u16(code) + u16(UInt16(value.count)) + padded(value) }

    func section() -> [UInt8] { block(0x0a0d_0d0a, u32(0x1a2b_3c4d) + u16(1) + u16(0) + [UInt8](repeating: 0xff, count: 8)) }
    func interface(linkType: UInt16 = 1, snaplen: UInt32 = 0, tsresol: UInt8? = nil, tsoffset: Int64? = nil) -> [UInt8] {
        var options: [UInt8] = []
        if let r = tsresol { options += option(9, [r]) }
        if let o = tsoffset { options += option(14, u64(UInt64(bitPattern: o))) }
        if !options.isEmpty { options += option(0, []) }
        return block(1, u16(linkType) + u16(0) + u32(snaplen) + options)
    }
    func enhanced(interface: UInt32, ticks: UInt64, _ data: [UInt8], original: Int? = nil) -> [UInt8] {
        block(6, u32(interface) + u32(UInt32(ticks >> 32)) + u32(UInt32(truncatingIfNeeded: ticks))
              + u32(UInt32(data.count)) + u32(UInt32(original ?? data.count)) + padded(data))
    }
    func simple(_ data: [UInt8]) -> [UInt8] { block(3, u32(UInt32(data.count)) + padded(data)) }
    func nameResolution() -> [UInt8] { block(4, u16(0) + u16(0)) }
}

/// tshark's view of a file: epoch time (nanoseconds; nil when the packet has none), frame
/// length, captured length.
private func tsharkFrames(_ path: String) throws -> [(ns: Int64?, length: Int, captured: Int)]? {
    guard let tshark = findTool("tshark") else { return nil }
    let r = try run(tshark, ["-r", path, "-T", "fields", "-e", "frame.time_epoch", "-e", "frame.len", "-e", "frame.cap_len"])
    #expect(r.status == 0, "tshark: \(r.err)")
    return r.out.split(separator: "\n").map { line in
        let f = line.split(separator: "\t", omittingEmptySubsequences: false)
        let parts = f[0].split(separator: ".")
        var ns: Int64?
        if parts.count == 2, let s = Int64(parts[0]), let frac = Int64(String(parts[1]).padding(toLength: 9, withPad: "0", startingAt: 0)) {
            ns = s * 1_000_000_000 + frac
        }
        return (ns, Int(f[1]) ?? -1, Int(f[2]) ?? -1)
    }
}

@Suite struct PcapFileReaderTests {
    @Test func readsBackWhatTheWriterWroteExactly() throws {
        let dir = try temporaryDirectory("reader")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/ns.pcap"
        let packets = samplePackets()
        try writePcap(path, packets)
        let r = try PcapFileReader(path: path)
        #expect(r.format == .pcap(nanosecond: true, swapped: false, modified: false))
        #expect(r.linkType == 1)
        #expect(r.snaplen == 65535)
        var got: [CapturedPacket] = []
        var offsets: [Int] = []
        try r.forEach { got.append(CapturedPacket($0)); offsets.append($0.offset) }
        #expect(got == packets)
        // Each record starts where the previous one ended.
        var expectedOffsets: [Int] = []
        var at = 24
        for p in packets { expectedOffsets.append(at); at += 16 + p.bytes.count }
        #expect(offsets == expectedOffsets)
        #expect(r.offset == at)
    }

    @Test func pcapngWrittenByEditcapGivesTheSameBytesAndNanosecondStamps() throws {
        let editcap = try #require(findTool("editcap"), "editcap (wireshark-common) is needed as the independent pcapng writer")
        let dir = try temporaryDirectory("pcapng")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let packets = samplePackets(40)
        try writePcap(dir + "/in.pcap", packets)
        let r = try run(editcap, ["-F", "pcapng", dir + "/in.pcap", dir + "/out.pcapng"])
        #expect(r.status == 0, "editcap: \(r.err)")
        let reader = try PcapFileReader(path: dir + "/out.pcapng")
        #expect(reader.format == .pcapng)
        var got: [CapturedPacket] = []
        try reader.forEach { got.append(CapturedPacket($0)) }
        #expect(got == packets)
    }

    @Test func microsecondAndModifiedPcapFromEditcapAreFlooredToMicroseconds() throws {
        let editcap = try #require(findTool("editcap"), "editcap (wireshark-common) is needed as the independent pcap writer")
        let dir = try temporaryDirectory("usec")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let packets = samplePackets(12)
        try writePcap(dir + "/in.pcap", packets)
        let floored = packets.map { p -> CapturedPacket in
            var q = p
            q.timestamp = p.timestamp / 1000 * 1000
            return q
        }
        for (format, expected) in [("pcap", PcapFileReader.Format.pcap(nanosecond: false, swapped: false, modified: false)),
                                   ("modpcap", .pcap(nanosecond: false, swapped: false, modified: true))] {
            let out = dir + "/out-\(format).pcap"
            let r = try run(editcap, ["-F", format, dir + "/in.pcap", out])
            #expect(r.status == 0, "editcap: \(r.err)")
            let reader = try PcapFileReader(path: out)
            #expect(reader.format == expected)
            var got: [CapturedPacket] = []
            try reader.forEach { got.append(CapturedPacket($0)) }
            #expect(got == floored, "\(format)")
        }
    }

    @Test(arguments: [false, true])
    func bigAndLittleEndianClassicPcapMatchTshark(nanosecond: Bool) throws {
        let dir = try temporaryDirectory("endian")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let frames = testFrames(3)
        let stamps: [(UInt32, UInt32)] = [(1_700_000_000, 1), (1_700_000_001, nanosecond ? 999_999_999 : 999_999), (4_000_000_000, 500)]
        for bigEndian in [false, true] {
            let u16 = bigEndian ? be16 : le16, u32 = bigEndian ? be32 : le32
            var file = u32(nanosecond ? 0xa1b2_3c4d : 0xa1b2_c3d4) + u16(2) + u16(4) + u32(0) + u32(0) + u32(1000) + u32(1)
            for (f, s) in zip(frames, stamps) {
                file += u32(s.0) + u32(s.1) + u32(UInt32(f.count)) + u32(UInt32(f.count + 100)) + f
            }
            let path = dir + "/\(bigEndian ? "be" : "le").pcap"
            try write(file, to: path)
            let reader = try PcapFileReader(path: path)
            #expect(reader.format == .pcap(nanosecond: nanosecond, swapped: bigEndian, modified: false))
            #expect(reader.snaplen == 1000)
            var got: [CapturedPacket] = []
            try reader.forEach { got.append(CapturedPacket($0)) }
            let expected = zip(frames, stamps).map { f, s in
                CapturedPacket(timestamp: Int64(s.0) * 1_000_000_000 + Int64(s.1) * (nanosecond ? 1 : 1000), bytes: f, originalLength: f.count + 100)
            }
            #expect(got == expected)
            if let oracle = try tsharkFrames(path) {
                #expect(oracle.map(\.ns) == expected.map { Optional($0.timestamp) })
                #expect(oracle.map(\.length) == expected.map(\.originalLength))
                #expect(oracle.map(\.captured) == frames.map(\.count))
            }
        }
    }

    @Test(arguments: [false, true])
    func pcapngResolutionsOffsetsSectionsAndSimplePackets(bigEndian: Bool) throws {
        let dir = try temporaryDirectory("ng")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let b = PcapngBuilder(bigEndian: bigEndian)
        let f = testFrames(7)
        var file = b.section()
        file += b.interface(tsresol: 3)                                   // milliseconds
        file += b.interface(linkType: 1, snaplen: 80, tsresol: 0x80 | 20) // 2^-20 s
        file += b.interface(tsoffset: 100)                                // microseconds + 100 s
        file += b.enhanced(interface: 0, ticks: 1_700_000_000_123, f[0])
        file += b.nameResolution()
        file += b.enhanced(interface: 1, ticks: (1_700_000_000 << 20) + (1 << 18), f[1], original: 2000)
        file += b.enhanced(interface: 2, ticks: 1_600_000_000_000_001, f[2])
        file += b.simple(f[3])                                            // interface 0, previous stamp
        file += b.section()                                               // a new section: interfaces restart
        file += b.interface(tsresol: 9)
        file += b.enhanced(interface: 0, ticks: 1_700_000_000_000_000_042, f[4])
        let path = dir + "/hand.pcapng"
        try write(file, to: path)

        let expected = [
            CapturedPacket(timestamp: 1_700_000_000_123_000_000, bytes: f[0]),
            CapturedPacket(timestamp: 1_700_000_000_250_000_000, bytes: f[1], originalLength: 2000, interface: 1),
            CapturedPacket(timestamp: 1_600_000_100_000_001_000, bytes: f[2], interface: 2),
            CapturedPacket(timestamp: 1_600_000_100_000_001_000, bytes: f[3]),
            CapturedPacket(timestamp: 1_700_000_000_000_000_042, bytes: f[4]),
        ]
        let reader = try PcapFileReader(path: path)
        var got: [CapturedPacket] = []
        try reader.forEach { got.append(CapturedPacket($0)) }
        #expect(got == expected)
        if let oracle = try tsharkFrames(path) {
            // tshark gives a simple packet block no time of its own; compare the others.
            #expect(oracle.count == expected.count)
            for i in [0, 1, 2, 4] where i < oracle.count {
                #expect(oracle[i].ns == expected[i].timestamp, "packet \(i + 1)")
                #expect(oracle[i].captured == expected[i].bytes.count, "packet \(i + 1)")
            }
        }
    }

    // MARK: damage

    /// A pcap of 5 packets and the offset of each record.
    private func fivePacketPcap(_ dir: String) throws -> (path: String, packets: [CapturedPacket], offsets: [Int]) {
        let packets = samplePackets(5)
        let path = dir + "/five.pcap"
        try writePcap(path, packets)
        var offsets: [Int] = []
        var at = 24
        for p in packets { offsets.append(at); at += 16 + p.bytes.count }
        return (path, packets, offsets)
    }

    @Test func aTruncatedRecordHeaderIsNamedAndEarlierPacketsAreDelivered() throws {
        let dir = try temporaryDirectory("trunc")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (path, packets, offsets) = try fivePacketPcap(dir)
        try write(Array(try bytes(ofFile: path).prefix(offsets[3] + 7)), to: path)
        let (got, error) = readAllowingDamage(path)
        #expect(got == Array(packets.prefix(3)))
        let e = try #require(error)
        #expect(e.offset == offsets[3])
        #expect(e.description == "\(path): byte \(offsets[3]): truncated record header of packet 4: the file ends 7 bytes into its 16-byte header")
    }

    @Test func aTruncatedRecordIsNamedAndEarlierPacketsAreDelivered() throws {
        let dir = try temporaryDirectory("trunc")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (path, packets, offsets) = try fivePacketPcap(dir)
        try write(Array(try bytes(ofFile: path).prefix(offsets[3] + 16 + 10)), to: path)
        let (got, error) = readAllowingDamage(path)
        #expect(got == Array(packets.prefix(3)))
        let e = try #require(error)
        #expect(e.description == "\(path): byte \(offsets[3]): truncated record of packet 4: its header says \(packets[3].bytes.count) captured bytes, the file ends after 10")
    }

    @Test func anAbsurdCaplenIsNamed() throws {
        let dir = try temporaryDirectory("caplen")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (path, packets, offsets) = try fivePacketPcap(dir)
        var b = try bytes(ofFile: path)
        b.replaceSubrange(offsets[1] + 8..<offsets[1] + 12, with: le32(0x7fff_ffff))
        try write(b, to: path)
        let (got, error) = readAllowingDamage(path)
        #expect(got == [packets[0]])
        let e = try #require(error)
        #expect(e.description == "\(path): byte \(offsets[1]): absurd caplen 2147483647 in the record header of packet 2 (valid: at most 262144 bytes; the file's snaplen is 65535)")
    }

    @Test func notACaptureFileIsNamedWithWhatWouldBeValid() throws {
        let dir = try temporaryDirectory("magic")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = dir + "/notes.txt", empty = dir + "/empty.pcap", gz = dir + "/x.pcap.gz"
        try write(Array("hello, world\n".utf8), to: text)
        try write([], to: empty)
        try write([0x1f, 0x8b, 8, 0, 0, 0, 0, 0], to: gz)
        #expect(throws: PcapError(path: text, offset: 0, message: "bad magic: not a pcap or pcapng file (it starts with 68 65 6c 6c; valid: pcap's a1b2c3d4 (microseconds) or a1b23c4d (nanoseconds) in either byte order, or pcapng's section header block 0a 0d 0d 0a)")) {
            _ = try PcapFileReader(path: text)
        }
        #expect(throws: PcapError(path: empty, offset: 0, message: "empty file (valid: a pcap file starts with a 24-byte header, a pcapng file with a section header block)")) {
            _ = try PcapFileReader(path: empty)
        }
        #expect(throws: PcapError(path: gz, offset: 0, message: "bad magic: the file is gzip-compressed (starts with 1f 8b); decompress it first (gunzip)")) {
            _ = try PcapFileReader(path: gz)
        }
        #expect(throws: PcapError(path: dir + "/missing.pcap", offset: nil, message: "cannot open: No such file or directory")) {
            _ = try PcapFileReader(path: dir + "/missing.pcap")
        }
    }

    /// An editcap pcapng of 5 packets and the offset of each packet's block.
    private func fivePacketPcapng(_ dir: String) throws -> (path: String, packets: [CapturedPacket], offsets: [Int]) {
        let editcap = try #require(findTool("editcap"), "editcap (wireshark-common) is needed to write pcapng")
        let packets = samplePackets(5)
        try writePcap(dir + "/five.pcap", packets)
        let path = dir + "/five.pcapng"
        let r = try run(editcap, ["-F", "pcapng", dir + "/five.pcap", path])
        #expect(r.status == 0, "editcap: \(r.err)")
        let reader = try PcapFileReader(path: path)
        var offsets: [Int] = []
        try reader.forEach { offsets.append($0.offset) }
        return (path, packets, offsets)
    }

    @Test func aCorruptPcapngBlockLengthIsNamedAndEarlierPacketsAreDelivered() throws {
        let dir = try temporaryDirectory("nglen")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (path, packets, offsets) = try fivePacketPcapng(dir)
        var b = try bytes(ofFile: path)
        b.replaceSubrange(offsets[2] + 4..<offsets[2] + 8, with: le32(13))
        try write(b, to: path)
        let (got, error) = readAllowingDamage(path)
        #expect(got == Array(packets.prefix(2)))
        let e = try #require(error)
        #expect(e.description == "\(path): byte \(offsets[2] + 4): corrupt block length 13 in an enhanced packet block (valid: a multiple of 4 from 12 to 16777216)")
    }

    @Test func aTruncatedPcapngBlockAndAMismatchedTrailerAreNamed() throws {
        let dir = try temporaryDirectory("ngtrunc")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (path, packets, offsets) = try fivePacketPcapng(dir)
        let original = try bytes(ofFile: path)
        let blockLength = Int(le32Value(original, offsets[3] + 4))

        try write(Array(original.prefix(offsets[3] + 30)), to: path)
        var (got, error) = readAllowingDamage(path)
        #expect(got == Array(packets.prefix(3)))
        #expect(error?.description == "\(path): byte \(offsets[3]): truncated enhanced packet block: its length says \(blockLength) bytes, the file ends after 30")

        let second = Int(le32Value(original, offsets[1] + 4))
        var b = original
        b.replaceSubrange(offsets[1] + second - 4..<offsets[1] + second, with: le32(UInt32(second + 4)))
        try write(b, to: path)
        (got, error) = readAllowingDamage(path)
        #expect(got == [packets[0]])
        #expect(error?.description == "\(path): byte \(offsets[1] + second - 4): corrupt enhanced packet block: its length is \(second) at its start but \(second + 4) at its end (the two must match)")
    }

    @Test func aPacketOfAnUndescribedInterfaceIsNamed() throws {
        let dir = try temporaryDirectory("ngif")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let b = PcapngBuilder(bigEndian: false)
        let f = testFrames(2)
        let head = b.section() + b.interface()
        let first = b.enhanced(interface: 0, ticks: 5, f[0])
        let path = dir + "/if.pcapng"
        try write(head + first + b.enhanced(interface: 3, ticks: 6, f[1]), to: path)
        let (got, error) = readAllowingDamage(path)
        #expect(got == [CapturedPacket(timestamp: 5000, bytes: f[0])])
        #expect(error?.description == "\(path): byte \(head.count + first.count + 8): packet 2 names interface 3, but its section has described 1 (valid: 0...0)")
    }

    /// Random damage anywhere never crashes the reader: it yields packets, then at most one error.
    @Test func randomDamageNeverCrashes() throws {
        let dir = try temporaryDirectory("fuzz")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (ngPath, _, _) = try fivePacketPcapng(dir)
        let (pcapPath, _, _) = try fivePacketPcap(dir)
        let seed = UInt64.random(in: 1...UInt64(UInt32.max))
        print("PcapFileReaderTests.randomDamageNeverCrashes: seed \(seed)")
        var rng = SplitMix(seed)
        for source in [ngPath, pcapPath] {
            let original = try bytes(ofFile: source)
            for i in 0..<400 {
                var b = original
                for _ in 0..<(1 + Int(rng.next() % 4)) {
                    let at = Int(rng.next() % UInt64(b.count))
                    b[at] = UInt8(truncatingIfNeeded: rng.next())
                }
                if i % 3 == 0 { b = Array(b.prefix(Int(rng.next() % UInt64(b.count)))) }
                let path = dir + "/m.bin"
                try write(b, to: path)
                let (got, _) = readAllowingDamage(path)
                #expect(got.count <= 5, "seed \(seed), mutant \(i)")
            }
        }
    }

    @Test func packetTraceLoadsTheIntactPartAndKeepsTheDamage() throws {
        let dir = try temporaryDirectory("trace")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (path, packets, offsets) = try fivePacketPcap(dir)
        try write(Array(try bytes(ofFile: path).prefix(offsets[4] + 20)), to: path)
        let trace = try PacketTrace(path: path)
        #expect(trace.count == 4)
        #expect(trace.totalBytes == packets.prefix(4).reduce(0) { $0 + $1.bytes.count })
        for i in 0..<4 {
            #expect(Array(trace.bytes[trace.offsets[i]..<trace.offsets[i] + trace.lengths[i]]) == packets[i].bytes)
            #expect(trace.timestamps[i] == packets[i].timestamp)
        }
        #expect(trace.damage?.offset == offsets[4])
    }
}

private func le32Value(_ b: [UInt8], _ at: Int) -> UInt32 {
    UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
}

/// A small seeded generator (SplitMix64), so a failing mutant can be replayed from its seed.
struct SplitMix {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
