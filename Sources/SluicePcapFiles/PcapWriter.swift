#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a pcap file could not be opened or written: the path and the system's words for errno.
public struct PcapWriterError: Error, Equatable, Sendable, CustomStringConvertible {
    public let path: String
    public let operation: String
    public let code: Int32

    public var description: String {
        "cannot \(operation) \(path): \(String(cString: strerror(code)))"
    }
}

/// The file format a `PcapWriter` writes.
public enum PcapFormat: Sendable, Equatable {
    /// Classic pcap, nanosecond variant.
    case pcap
    /// pcapng with these interfaces (each frame names one, and its direction in `epb_flags`).
    case pcapng(interfaces: [PcapngInterface])
}

/// An interface of a pcapng file: its name (`if_name`) and description (`if_description`).
public struct PcapngInterface: Sendable, Equatable {
    public var name: String
    public var description: String
    public init(name: String, description: String = "") { self.name = name; self.description = description }
}

/// A frame's direction as pcapng's `epb_flags` writes it (bits 0-1).
public enum PacketDirection: UInt32, Sendable {
    case unknown = 0, inbound = 1, outbound = 2
}

/// Writes a classic pcap file (nanosecond variant, magic 0xa1b23c4d, host byte order, version
/// 2.4, Ethernet unless told otherwise) or a pcapng file (one section, the given interfaces at
/// nanosecond resolution, every frame an Enhanced Packet Block with its direction in
/// `epb_flags`) that Wireshark and tcpdump open. The emulator, `sluice
/// capture` and `sluice replay` call `write` once per packet in their loops, so records go into
/// one preallocated buffer and reach the file in large `write(2)` calls; nothing is allocated per
/// packet. Pure POSIX: no libpcap.
///
/// A write error is kept in `error` (the first one) and stops further output instead of
/// throwing from the hot loop; the emulator reads it after the run.
public final class PcapWriter {
    public static let magic: UInt32 = 0xa1b2_3c4d
    public static let globalHeaderSize = 24
    public static let recordHeaderSize = 16
    /// An Enhanced Packet Block without its data: 28 bytes of header, the `epb_flags` option
    /// (8), the end of options (4) and the trailing length (4).
    public static let enhancedPacketOverhead = 44
    public static let defaultBufferSize = 1 << 20

    public let path: String
    public let snaplen: Int
    /// The LINKTYPE_ value in the header (1: Ethernet).
    public let linkType: UInt32
    public let format: PcapFormat
    let isPcapng: Bool
    /// Packets and original (untruncated) bytes handed to `write`.
    @exclusivity(unchecked) public private(set) var packetsWritten = 0
    @exclusivity(unchecked) public private(set) var bytesWritten = 0
    /// The first failed `write(2)` or `close(2)`; output stops once set.
    @exclusivity(unchecked) public private(set) var error: PcapWriterError?

    @exclusivity(unchecked) private var fd: Int32
    private let buffer: UnsafeMutableRawPointer
    private let capacity: Int
    @exclusivity(unchecked) private var used = 0

    /// Creates (or truncates) the file at `path` and writes the global header (pcapng: the
    /// section header and one interface description per interface). `linkType` is the
    /// LINKTYPE_ of the frames (1: Ethernet; a live capture passes its interface's); frames
    /// longer than `snaplen` are cut, their original length kept.
    public init(path: String, snaplen: Int = 65535, bufferSize: Int = PcapWriter.defaultBufferSize,
                linkType: UInt32 = 1, format: PcapFormat = .pcap) throws {
        precondition(snaplen > 0 && snaplen <= Int(UInt32.max), "snaplen must be positive")
        self.path = path
        self.snaplen = snaplen
        self.linkType = linkType
        self.format = format
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw PcapWriterError(path: path, operation: "create", code: errno) }
        self.fd = fd
        var header: [UInt8] = []
        switch format {
        case .pcap:
            isPcapng = false
            header += le(PcapWriter.magic) + le16(2) + le16(4) + le(UInt32(0)) + le(UInt32(0)) + le(UInt32(snaplen)) + le(linkType)
        case .pcapng(let interfaces):
            isPcapng = true
            // Section Header Block: byte-order magic, version 1.0, section length unknown.
            header += block(0x0A0D_0D0A, le(UInt32(0x1A2B_3C4D)) + le16(1) + le16(0) + le(UInt32.max) + le(UInt32.max))
            for i in interfaces {
                var options = option(2, Array(i.name.utf8))
                if !i.description.isEmpty { options += option(3, Array(i.description.utf8)) }
                options += option(9, [9])   // if_tsresol: 10^-9 s
                options += le16(0) + le16(0)
                header += block(1, le16(UInt16(truncatingIfNeeded: linkType)) + le16(0) + le(UInt32(snaplen)) + options)
            }
        }
        // Room for the header and at least one full record, so `write` only ever flushes before copying.
        capacity = max(bufferSize, header.count + PcapWriter.enhancedPacketOverhead + snaplen + 3)
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
        header.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        used = header.count
        flush()
        if let e = error { throw e }
    }

    deinit {
        close()
        buffer.deallocate()
    }

    /// Appends one record. The timestamp is virtual time in picoseconds, floored to nanoseconds;
    /// frames longer than `snaplen` are cut, keeping their original length in the header. In a
    /// pcapng file the frame belongs to interface `interface` and goes in `direction`.
    public func write(timestampPicoseconds: Int64, bytes: UnsafeRawBufferPointer,
                      interface: UInt32 = 0, direction: PacketDirection = .unknown) {
        let ps = max(timestampPicoseconds, 0)
        let seconds = ps / 1_000_000_000_000
        let nanoseconds = (ps - seconds * 1_000_000_000_000) / 1000
        append(seconds: seconds, nanoseconds: nanoseconds, bytes: bytes, originalLength: bytes.count,
               interface: interface, direction: direction)
    }

    /// Appends one record stamped with wall-clock (or file) time: nanoseconds since the Unix
    /// epoch (negative values are written as 0). `originalLength` is the frame's length on the
    /// wire when `bytes` is a cut capture of it (at least `bytes.count` is written).
    public func write(timestampNanoseconds: Int64, bytes: UnsafeRawBufferPointer, originalLength: Int? = nil,
                      interface: UInt32 = 0, direction: PacketDirection = .unknown) {
        let ns = max(timestampNanoseconds, 0)
        append(seconds: ns / 1_000_000_000, nanoseconds: ns % 1_000_000_000, bytes: bytes,
               originalLength: max(originalLength ?? bytes.count, bytes.count), interface: interface, direction: direction)
    }

    @inline(__always)
    private func append(seconds: Int64, nanoseconds: Int64, bytes: UnsafeRawBufferPointer, originalLength: Int,
                        interface: UInt32, direction: PacketDirection) {
        let caplen = min(bytes.count, snaplen)
        if isPcapng {
            let padded = (caplen + 3) & ~3
            let total = PcapWriter.enhancedPacketOverhead + padded
            if used + total > capacity { flush() }
            guard fd >= 0 else { return }
            let p = buffer + used
            let stamp = UInt64(seconds) &* 1_000_000_000 &+ UInt64(nanoseconds)
            p.storeBytes(of: UInt32(6), toByteOffset: 0, as: UInt32.self)
            p.storeBytes(of: UInt32(truncatingIfNeeded: total), toByteOffset: 4, as: UInt32.self)
            p.storeBytes(of: interface, toByteOffset: 8, as: UInt32.self)
            p.storeBytes(of: UInt32(truncatingIfNeeded: stamp >> 32), toByteOffset: 12, as: UInt32.self)
            p.storeBytes(of: UInt32(truncatingIfNeeded: stamp), toByteOffset: 16, as: UInt32.self)
            p.storeBytes(of: UInt32(truncatingIfNeeded: caplen), toByteOffset: 20, as: UInt32.self)
            p.storeBytes(of: UInt32(truncatingIfNeeded: originalLength), toByteOffset: 24, as: UInt32.self)
            if caplen > 0, let base = bytes.baseAddress { (p + 28).copyMemory(from: base, byteCount: caplen) }
            if padded > caplen { (p + 28 + caplen).initializeMemory(as: UInt8.self, repeating: 0, count: padded - caplen) }
            let o = 28 + padded
            p.storeBytes(of: UInt32(2 | 4 << 16), toByteOffset: o, as: UInt32.self)       // epb_flags, 4 bytes
            p.storeBytes(of: direction.rawValue, toByteOffset: o + 4, as: UInt32.self)
            p.storeBytes(of: UInt32(0), toByteOffset: o + 8, as: UInt32.self)              // opt_endofopt
            p.storeBytes(of: UInt32(truncatingIfNeeded: total), toByteOffset: o + 12, as: UInt32.self)
            used += total
        } else {
            if used + PcapWriter.recordHeaderSize + caplen > capacity { flush() }
            guard fd >= 0 else { return }
            let p = buffer + used
            p.storeBytes(of: UInt32(truncatingIfNeeded: seconds), toByteOffset: 0, as: UInt32.self)
            p.storeBytes(of: UInt32(truncatingIfNeeded: nanoseconds), toByteOffset: 4, as: UInt32.self)
            p.storeBytes(of: UInt32(truncatingIfNeeded: caplen), toByteOffset: 8, as: UInt32.self)
            p.storeBytes(of: UInt32(truncatingIfNeeded: originalLength), toByteOffset: 12, as: UInt32.self)
            if caplen > 0, let base = bytes.baseAddress {
                (p + PcapWriter.recordHeaderSize).copyMemory(from: base, byteCount: caplen)
            }
            used += PcapWriter.recordHeaderSize + caplen
        }
        packetsWritten += 1
        bytesWritten += originalLength
    }

    /// Hands buffered records to the kernel.
    public func flush() {
        guard fd >= 0 else { used = 0; return }
        var offset = 0
        while offset < used {
            let n = systemWrite(fd, buffer + offset, used - offset)
            if n < 0 {
                if errno == EINTR { continue }
                fail("write", errno)
                break
            }
            offset += n
        }
        used = 0
    }

    /// Flushes and closes the file; later writes are ignored. Safe to call twice.
    public func close() {
        guard fd >= 0 else { return }
        flush()
        guard fd >= 0 else { return }
        if systemClose(fd) != 0 { fail("close", errno) }
        fd = -1
    }

    private func fail(_ operation: String, _ code: Int32) {
        if error == nil { error = PcapWriterError(path: path, operation: operation, code: code) }
        _ = systemClose(fd)
        fd = -1
    }
}

// Header bytes in host order, as the records are written.
private func le(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v) { Array($0) } }
private func le16(_ v: UInt16) -> [UInt8] { withUnsafeBytes(of: v) { Array($0) } }

/// A pcapng option: code, length, value padded to 4 bytes.
private func option(_ code: UInt16, _ value: [UInt8]) -> [UInt8] {
    le16(code) + le16(UInt16(truncatingIfNeeded: value.count)) + value + [UInt8](repeating: 0, count: (4 - value.count % 4) % 4)
}

/// A pcapng block: type, total length, body, total length.
private func block(_ type: UInt32, _ body: [UInt8]) -> [UInt8] {
    let total = UInt32(12 + body.count)
    return le(type) + le(total) + body + le(total)
}

// The C calls, named apart from the methods that shadow them.
private func systemWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { write(fd, p, n) }
private func systemClose(_ fd: Int32) -> Int32 { close(fd) }
