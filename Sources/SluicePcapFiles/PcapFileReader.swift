#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads a capture file, classic pcap (microsecond or nanosecond stamps, either byte order, and
/// the Kuznetzov variant) or pcapng (any number of sections and interfaces, each interface with
/// its own `if_tsresol` and `if_tsoffset`, either byte order), one packet at a time.
///
/// Pure Swift over `read(2)` into one reusable buffer: no libpcap, nothing allocated per packet,
/// and when the file is damaged (a truncated record, a bad magic, an absurd caplen, a corrupt
/// block length) the error names the file and the byte offset and says what would be valid,
/// after every packet before the damage has been delivered.
///
/// ```swift
/// let reader = try PcapFileReader(path: "in.pcapng")
/// try reader.forEach { packet in use(packet.bytes, packet.timestamp) }
/// ```
public final class PcapFileReader {
    public enum Format: Equatable, Sendable, CustomStringConvertible {
        /// Classic pcap: `nanosecond` stamps (magic a1b23c4d) or microsecond ones (a1b2c3d4);
        /// `swapped` when the file's byte order is not the host's; `modified` for the Kuznetzov
        /// variant (a1b2cd34, 8 more bytes per record header).
        case pcap(nanosecond: Bool, swapped: Bool, modified: Bool)
        case pcapng

        public var description: String {
            switch self {
            case .pcapng: return "pcapng"
            case .pcap(let ns, _, let modified): return modified ? "pcap (modified, microseconds)" : ns ? "pcap (nanoseconds)" : "pcap (microseconds)"
            }
        }
    }

    /// The largest caplen accepted (Wireshark's and tcpdump's limit for ordinary link types).
    public static let maxCaptureLength = 262_144
    /// The largest pcapng block accepted.
    public static let maxBlockLength = 16 * 1024 * 1024

    public let path: String
    @exclusivity(unchecked) public private(set) var format: Format = .pcapng
    /// Size of the file when it is a regular file (for progress), else nil.
    public let fileSize: Int?
    /// Packets delivered so far.
    @exclusivity(unchecked) public private(set) var packetsRead = 0
    /// Classic pcap: the header's snaplen and link type. pcapng: those of interface 0, once seen.
    @exclusivity(unchecked) public private(set) var snaplen = 0
    @exclusivity(unchecked) public private(set) var linkType: UInt32 = 1

    /// Byte offset in the file of the next unread byte.
    public var offset: Int { base + lo }

    @exclusivity(unchecked) private var fd: Int32
    @exclusivity(unchecked) private var buffer: UnsafeMutableRawPointer
    @exclusivity(unchecked) private var capacity: Int
    /// `buffer[lo..<hi]` holds the file's bytes from offset `base + lo` on.
    @exclusivity(unchecked) private var lo = 0
    @exclusivity(unchecked) private var hi = 0
    @exclusivity(unchecked) private var base = 0
    @exclusivity(unchecked) private var atEnd = false

    // Classic pcap.
    @exclusivity(unchecked) private var swapped = false
    @exclusivity(unchecked) private var recordHeaderSize = 16
    @exclusivity(unchecked) private var fractionToNanoseconds: Int64 = 1000

    // pcapng: interfaces of the current section.
    struct Interface {
        var linkType: UInt32
        var snaplen: Int
        /// Nanoseconds per tick when the resolution divides a second into whole nanoseconds;
        /// 0 when the general (128-bit) conversion is needed.
        var nanosecondsPerTick: UInt64
        var ticksPerSecond: UInt64
        var offsetNanoseconds: Int64
    }
    @exclusivity(unchecked) private var interfaces: [Interface] = []
    @exclusivity(unchecked) private var lastTimestamp: Int64 = 0

    /// Opens the file and reads its header (pcap) or first section header block (pcapng).
    public init(path: String, bufferSize: Int = 1 << 20) throws(PcapError) {
        self.path = path
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            throw PcapError(path: path, offset: nil, message: "cannot open: \(String(cString: strerror(errno)))")
        }
        self.fd = fd
        var st = stat()
        fileSize = fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG ? Int(st.st_size) : nil
        capacity = max(bufferSize, 4096)
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        try readFileHeader()
    }

    deinit {
        if fd >= 0 { _ = close(fd) }
        buffer.deallocate()
    }

    /// The next packet, or nil at the end of the file. `bytes` stays valid until the next call.
    public func next() throws(PcapError) -> PcapPacket? {
        switch format {
        case .pcapng: return try nextPcapngPacket()
        case .pcap: return try nextPcapRecord()
        }
    }

    /// Calls `body` with every packet in order. On damage, throws the `PcapError` after
    /// `body` has seen every packet before it.
    public func forEach(_ body: (PcapPacket) throws -> Void) throws {
        while let p = try next() { try body(p) }
    }

    /// Every packet of a file, copied (for tests and small files). Throws on damage.
    public static func readAll(path: String) throws(PcapError) -> [CapturedPacket] {
        let r = try PcapFileReader(path: path)
        var out: [CapturedPacket] = []
        while let p = try r.next() { out.append(CapturedPacket(p)) }
        return out
    }

    // MARK: buffering

    /// Makes at least `n` bytes from the current position available if the file has them.
    /// Returns how many are available (fewer than `n` only at the end of the file).
    @inline(__always)
    private func fill(_ n: Int) throws(PcapError) -> Int {
        if hi - lo >= n || atEnd { return hi - lo }
        return try refill(n)
    }

    private func refill(_ n: Int) throws(PcapError) -> Int {
        if lo > 0 {
            if hi > lo { buffer.copyMemory(from: buffer + lo, byteCount: hi - lo) }
            base += lo
            hi -= lo
            lo = 0
        }
        if n > capacity {
            let bigger = max(n, capacity * 2)
            let b = UnsafeMutableRawPointer.allocate(byteCount: bigger, alignment: 16)
            if hi > 0 { b.copyMemory(from: buffer, byteCount: hi) }
            buffer.deallocate()
            buffer = b
            capacity = bigger
        }
        while hi < n && !atEnd {
            let r = read(fd, buffer + hi, capacity - hi)
            if r < 0 {
                if errno == EINTR { continue }
                throw PcapError(path: path, offset: base + hi, message: "read failed: \(String(cString: strerror(errno)))")
            }
            if r == 0 { atEnd = true } else { hi += r }
        }
        return hi - lo
    }

    @inline(__always) private var here: UnsafeRawPointer { UnsafeRawPointer(buffer + lo) }

    @inline(__always) private func u32(_ p: UnsafeRawPointer, _ at: Int) -> UInt32 {
        let v = p.loadUnaligned(fromByteOffset: at, as: UInt32.self)
        return swapped ? v.byteSwapped : v
    }

    @inline(__always) private func u16(_ p: UnsafeRawPointer, _ at: Int) -> UInt16 {
        let v = p.loadUnaligned(fromByteOffset: at, as: UInt16.self)
        return swapped ? v.byteSwapped : v
    }

    private func fail(_ at: Int, _ message: String) -> PcapError {
        PcapError(path: path, offset: at, message: message)
    }

    // MARK: file header

    static let pcapMicro: UInt32 = 0xa1b2_c3d4
    static let pcapNano: UInt32 = 0xa1b2_3c4d
    static let pcapModified: UInt32 = 0xa1b2_cd34
    static let pcapngSection: UInt32 = 0x0a0d_0d0a

    private func readFileHeader() throws(PcapError) {
        let have = try fill(24)
        guard have > 0 else {
            throw fail(0, "empty file (valid: a pcap file starts with a 24-byte header, a pcapng file with a section header block)")
        }
        guard have >= 4 else {
            throw fail(0, "file of \(have) bytes is too short for a pcap or pcapng header (a pcap header is 24 bytes)")
        }
        let magic = here.loadUnaligned(as: UInt32.self)
        var nano = false, modified = false
        switch magic {
        case Self.pcapngSection:
            format = .pcapng
            return
        case Self.pcapMicro: swapped = false
        case Self.pcapMicro.byteSwapped: swapped = true
        case Self.pcapNano: swapped = false; nano = true
        case Self.pcapNano.byteSwapped: swapped = true; nano = true
        case Self.pcapModified: swapped = false; modified = true
        case Self.pcapModified.byteSwapped: swapped = true; modified = true
        default:
            let first = (0..<4).map { hex2(here.load(fromByteOffset: $0, as: UInt8.self)) }.joined(separator: " ")
            if here.load(as: UInt8.self) == 0x1f && here.load(fromByteOffset: 1, as: UInt8.self) == 0x8b {
                throw fail(0, "bad magic: the file is gzip-compressed (starts with 1f 8b); decompress it first (gunzip)")
            }
            throw fail(0, "bad magic: not a pcap or pcapng file (it starts with \(first); valid: pcap's a1b2c3d4 (microseconds) or a1b23c4d (nanoseconds) in either byte order, or pcapng's section header block 0a 0d 0d 0a)")
        }
        guard have >= 24 else {
            throw fail(have, "truncated pcap file header: the file ends after \(have) of its 24 bytes")
        }
        let major = u16(here, 4), minor = u16(here, 6)
        guard major == 2 else {
            throw fail(4, "unsupported pcap version \(major).\(minor) (valid: 2.4)")
        }
        snaplen = Int(u32(here, 16))
        linkType = u32(here, 20) & 0xffff
        format = .pcap(nanosecond: nano, swapped: swapped, modified: modified)
        recordHeaderSize = modified ? 24 : 16
        fractionToNanoseconds = nano ? 1 : 1000
        lo += 24
    }

    // MARK: classic pcap

    @inline(__always)
    private func nextPcapRecord() throws(PcapError) -> PcapPacket? {
        let h = recordHeaderSize
        let have = try fill(h)
        if have == 0 { return nil }
        let at = offset
        guard have >= h else {
            throw fail(at, "truncated record header of packet \(packetsRead + 1): the file ends \(have) bytes into its \(h)-byte header")
        }
        let caplen = Int(u32(here, 8))
        guard caplen <= Self.maxCaptureLength else {
            throw fail(at, "absurd caplen \(caplen) in the record header of packet \(packetsRead + 1) (valid: at most \(Self.maxCaptureLength) bytes; the file's snaplen is \(snaplen))")
        }
        let whole = try fill(h + caplen)
        guard whole >= h + caplen else {
            throw fail(at, "truncated record of packet \(packetsRead + 1): its header says \(caplen) captured bytes, the file ends after \(whole - h)")
        }
        let p = here
        let seconds = Int64(u32(p, 0))
        let fraction = Int64(u32(p, 4))
        let original = Int(u32(p, 12))
        lo += h + caplen
        packetsRead += 1
        return PcapPacket(timestamp: seconds &* 1_000_000_000 &+ fraction &* fractionToNanoseconds,
                          bytes: UnsafeRawBufferPointer(start: p + h, count: caplen),
                          originalLength: max(original, caplen), interface: 0, linkType: linkType, offset: at)
    }

    // MARK: pcapng

    static func blockName(_ type: UInt32) -> String {
        switch type {
        case pcapngSection: return "section header block"
        case 1: return "interface description block"
        case 2: return "packet block"
        case 3: return "simple packet block"
        case 4: return "name resolution block"
        case 5: return "interface statistics block"
        case 6: return "enhanced packet block"
        default: return "block of type 0x" + String(type, radix: 16)
        }
    }

    private func nextPcapngPacket() throws(PcapError) -> PcapPacket? {
        while true {
            let have = try fill(12)
            if have == 0 { return nil }
            let at = offset
            guard have >= 8 else {
                throw fail(at, "truncated block header: the file ends \(have) bytes into an 8-byte block header")
            }
            let type = here.loadUnaligned(as: UInt32.self)  // the section-header type reads the same in both orders
            if type == Self.pcapngSection {
                guard have >= 12 else {
                    throw fail(at, "truncated section header block: the file ends \(have) bytes into it")
                }
                let order = here.loadUnaligned(fromByteOffset: 8, as: UInt32.self)
                if order == 0x1a2b_3c4d { swapped = false } else if order == UInt32(0x1a2b_3c4d).byteSwapped { swapped = true } else {
                    throw fail(at + 8, "bad byte-order magic 0x\(String(order, radix: 16)) in a section header block (valid: 1a2b3c4d in either byte order)")
                }
            } else if at == 0 {
                throw fail(0, "a pcapng file must start with a section header block")
            }
            let name = Self.blockName(swapped ? type.byteSwapped : type)
            let length = Int(u32(here, 4))
            guard length >= 12, length % 4 == 0, length <= Self.maxBlockLength else {
                throw fail(at + 4, "corrupt block length \(length) in \(article(name)) (valid: a multiple of 4 from 12 to \(Self.maxBlockLength))")
            }
            let whole = try fill(length)
            guard whole >= length else {
                throw fail(at, "truncated \(name): its length says \(length) bytes, the file ends after \(whole)")
            }
            let p = here
            let trailer = Int(u32(p, length - 4))
            guard trailer == length else {
                throw fail(at + length - 4, "corrupt \(name): its length is \(length) at its start but \(trailer) at its end (the two must match)")
            }
            switch u32(p, 0) {
            case Self.pcapngSection:
                guard length >= 28 else { throw fail(at + 4, "section header block of \(length) bytes is too short (valid: at least 28)") }
                let major = u16(p, 12), minor = u16(p, 14)
                guard major == 1 else { throw fail(at + 12, "unsupported pcapng version \(major).\(minor) (valid: 1.0)") }
                interfaces.removeAll(keepingCapacity: true)
            case 1:
                guard length >= 20 else { throw fail(at + 4, "interface description block of \(length) bytes is too short (valid: at least 20)") }
                try interfaces.append(describeInterface(p, length: length, at: at))
                if interfaces.count == 1 { snaplen = interfaces[0].snaplen; linkType = interfaces[0].linkType }
            case 6:
                guard length >= 32 else { throw fail(at + 4, "enhanced packet block of \(length) bytes is too short (valid: at least 32)") }
                return try packet(p, at: at, length: length, interface: Int(u32(p, 8)), dataAt: 28, ticksAt: 12, caplen: Int(u32(p, 20)), original: Int(u32(p, 24)))
            case 2:
                guard length >= 32 else { throw fail(at + 4, "packet block of \(length) bytes is too short (valid: at least 32)") }
                return try packet(p, at: at, length: length, interface: Int(u16(p, 8)), dataAt: 28, ticksAt: 12, caplen: Int(u32(p, 20)), original: Int(u32(p, 24)))
            case 3:
                guard length >= 16 else { throw fail(at + 4, "simple packet block of \(length) bytes is too short (valid: at least 16)") }
                guard let first = interfaces.first else {
                    throw fail(at, "simple packet block before any interface description block in its section (valid: an interface description block first)")
                }
                let original = Int(u32(p, 8))
                var caplen = min(original, length - 16)
                if first.snaplen > 0 { caplen = min(caplen, first.snaplen) }
                lo += length
                packetsRead += 1
                return PcapPacket(timestamp: lastTimestamp, bytes: UnsafeRawBufferPointer(start: p + 12, count: caplen),
                                  originalLength: max(original, caplen), interface: 0, linkType: first.linkType, offset: at)
            default:
                break  // name resolution, statistics, custom and other blocks carry no packets
            }
            lo += length
        }
    }

    @inline(__always)
    private func packet(_ p: UnsafeRawPointer, at: Int, length: Int, interface: Int, dataAt: Int, ticksAt: Int,
                        caplen: Int, original: Int) throws(PcapError) -> PcapPacket {
        guard interface < interfaces.count else {
            throw fail(at + 8, "packet \(packetsRead + 1) names interface \(interface), but its section has described \(interfaces.count) (valid: \(interfaces.isEmpty ? "an interface description block first" : "0...\(interfaces.count - 1)"))")
        }
        guard caplen <= Self.maxCaptureLength else {
            throw fail(at + 20, "absurd caplen \(caplen) in the block of packet \(packetsRead + 1) (valid: at most \(Self.maxCaptureLength) bytes)")
        }
        guard caplen <= length - dataAt - 4 else {
            throw fail(at + 20, "caplen \(caplen) of packet \(packetsRead + 1) runs past the end of its \(length)-byte block (valid: at most \(length - dataAt - 4))")
        }
        let ifc = interfaces[interface]
        let ticks = UInt64(u32(p, ticksAt)) << 32 | UInt64(u32(p, ticksAt + 4))
        let ns: UInt64
        if ifc.nanosecondsPerTick != 0 {
            ns = ticks &* ifc.nanosecondsPerTick
        } else {
            let (q, r) = ticks.quotientAndRemainder(dividingBy: ifc.ticksPerSecond)
            let wide = r.multipliedFullWidth(by: 1_000_000_000)
            ns = q &* 1_000_000_000 &+ ifc.ticksPerSecond.dividingFullWidth(wide).quotient
        }
        let timestamp = Int64(truncatingIfNeeded: ns) &+ ifc.offsetNanoseconds
        lastTimestamp = timestamp
        lo += length
        packetsRead += 1
        return PcapPacket(timestamp: timestamp, bytes: UnsafeRawBufferPointer(start: p + dataAt, count: caplen),
                          originalLength: max(original, caplen), interface: interface, linkType: ifc.linkType, offset: at)
    }

    private func describeInterface(_ p: UnsafeRawPointer, length: Int, at: Int) throws(PcapError) -> Interface {
        var ifc = Interface(linkType: UInt32(u16(p, 8)), snaplen: Int(u32(p, 12)), nanosecondsPerTick: 1000,
                            ticksPerSecond: 1_000_000, offsetNanoseconds: 0)
        var o = 16
        let end = length - 4
        while o + 4 <= end {
            let code = u16(p, o), size = Int(u16(p, o + 2))
            if code == 0 { break }
            guard o + 4 + size <= end else {
                throw fail(at + o, "corrupt option \(code) in an interface description block: its length \(size) runs past the block's end (valid: at most \(end - o - 4))")
            }
            if code == 9 && size >= 1 {
                let r = p.load(fromByteOffset: o + 4, as: UInt8.self)
                let exponent = UInt64(r & 0x7f)
                if r & 0x80 == 0 {
                    guard exponent <= 19 else {
                        throw fail(at + o + 4, "if_tsresol 10^-\(exponent) is out of range (valid: 10^-0 to 10^-19, or 2^-0 to 2^-63)")
                    }
                    var tps: UInt64 = 1
                    for _ in 0..<exponent { tps *= 10 }
                    ifc.ticksPerSecond = tps
                } else {
                    guard exponent <= 63 else {
                        throw fail(at + o + 4, "if_tsresol 2^-\(exponent) is out of range (valid: 10^-0 to 10^-19, or 2^-0 to 2^-63)")
                    }
                    ifc.ticksPerSecond = 1 << exponent
                }
                ifc.nanosecondsPerTick = 1_000_000_000 % ifc.ticksPerSecond == 0 ? 1_000_000_000 / ifc.ticksPerSecond : 0
            } else if code == 14 && size == 8 {
                // One 64-bit integer (seconds) in the section's byte order.
                let raw = p.loadUnaligned(fromByteOffset: o + 4, as: UInt64.self)
                ifc.offsetNanoseconds = Int64(bitPattern: swapped ? raw.byteSwapped : raw) &* 1_000_000_000
            }
            o += 4 + (size + 3) & ~3
        }
        return ifc
    }
}

/// "an enhanced packet block", "a section header block".
func article(_ noun: String) -> String {
    guard let c = noun.first else { return noun }
    return ("aeiou".contains(c) ? "an " : "a ") + noun
}

@inline(__always) func hex2(_ b: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(b >> 4)], digits[Int(b & 15)]])
}
