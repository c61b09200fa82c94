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

/// Writes a classic pcap file (nanosecond variant, magic 0xa1b23c4d, host byte order, version
/// 2.4, Ethernet unless told otherwise) that Wireshark and tcpdump open. The emulator, `sluice
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
    public static let defaultBufferSize = 1 << 20

    public let path: String
    public let snaplen: Int
    /// The LINKTYPE_ value in the header (1: Ethernet).
    public let linkType: UInt32
    /// Packets and original (untruncated) bytes handed to `write`.
    @exclusivity(unchecked) public private(set) var packetsWritten = 0
    @exclusivity(unchecked) public private(set) var bytesWritten = 0
    /// The first failed `write(2)` or `close(2)`; output stops once set.
    @exclusivity(unchecked) public private(set) var error: PcapWriterError?

    @exclusivity(unchecked) private var fd: Int32
    private let buffer: UnsafeMutableRawPointer
    private let capacity: Int
    @exclusivity(unchecked) private var used = 0

    /// Creates (or truncates) the file at `path` and writes the global header. `linkType` is the
    /// LINKTYPE_ of the frames (1: Ethernet; a live capture passes its interface's).
    public init(path: String, snaplen: Int = 65535, bufferSize: Int = PcapWriter.defaultBufferSize,
                linkType: UInt32 = 1) throws {
        precondition(snaplen > 0 && snaplen <= Int(UInt32.max), "snaplen must be positive")
        self.path = path
        self.snaplen = snaplen
        self.linkType = linkType
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw PcapWriterError(path: path, operation: "create", code: errno) }
        self.fd = fd
        // Room for at least one full record so `write` only ever flushes before copying.
        capacity = max(bufferSize, PcapWriter.globalHeaderSize + PcapWriter.recordHeaderSize + snaplen)
        buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 8)
        buffer.storeBytes(of: PcapWriter.magic, toByteOffset: 0, as: UInt32.self)
        buffer.storeBytes(of: UInt16(2), toByteOffset: 4, as: UInt16.self)
        buffer.storeBytes(of: UInt16(4), toByteOffset: 6, as: UInt16.self)
        buffer.storeBytes(of: Int32(0), toByteOffset: 8, as: Int32.self)    // thiszone
        buffer.storeBytes(of: UInt32(0), toByteOffset: 12, as: UInt32.self) // sigfigs
        buffer.storeBytes(of: UInt32(snaplen), toByteOffset: 16, as: UInt32.self)
        buffer.storeBytes(of: linkType, toByteOffset: 20, as: UInt32.self)
        used = PcapWriter.globalHeaderSize
        flush()
        if let e = error { throw e }
    }

    deinit {
        close()
        buffer.deallocate()
    }

    /// Appends one record. The timestamp is virtual time in picoseconds, floored to nanoseconds;
    /// frames longer than `snaplen` are cut, keeping their original length in the header.
    public func write(timestampPicoseconds: Int64, bytes: UnsafeRawBufferPointer) {
        let ps = max(timestampPicoseconds, 0)
        let seconds = ps / 1_000_000_000_000
        let nanoseconds = (ps - seconds * 1_000_000_000_000) / 1000
        append(seconds: seconds, nanoseconds: nanoseconds, bytes: bytes, originalLength: bytes.count)
    }

    /// Appends one record stamped with wall-clock (or file) time: nanoseconds since the Unix
    /// epoch (negative values are written as 0). `originalLength` is the frame's length on the
    /// wire when `bytes` is a cut capture of it (at least `bytes.count` is written).
    public func write(timestampNanoseconds: Int64, bytes: UnsafeRawBufferPointer, originalLength: Int? = nil) {
        let ns = max(timestampNanoseconds, 0)
        append(seconds: ns / 1_000_000_000, nanoseconds: ns % 1_000_000_000, bytes: bytes,
               originalLength: max(originalLength ?? bytes.count, bytes.count))
    }

    @inline(__always)
    private func append(seconds: Int64, nanoseconds: Int64, bytes: UnsafeRawBufferPointer, originalLength: Int) {
        let caplen = min(bytes.count, snaplen)
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

// The C calls, named apart from the methods that shadow them.
private func systemWrite(_ fd: Int32, _ p: UnsafeRawPointer, _ n: Int) -> Int { write(fd, p, n) }
private func systemClose(_ fd: Int32) -> Int32 { close(fd) }
