#if canImport(Glibc)
import Glibc
#endif

/// What `sluice fuzz` leaves behind when a packet crashes the process: the packet (seed, index,
/// port and bytes) on standard error and in a one-packet pcap, written from the signal handler
/// with nothing but `write` (no allocation, no locks), then exit status 70.
///
/// The packet being processed is copied into fixed storage before each run (`current`), so the
/// handler has everything it needs without touching Swift objects.
enum CrashReport {
    static let capacity = 65536
    nonisolated(unsafe) static var packet = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
    nonisolated(unsafe) static var length = 0
    nonisolated(unsafe) static var index = 0
    nonisolated(unsafe) static var port: UInt16 = 0
    nonisolated(unsafe) static var armed = false
    /// The text written before the numbers ("sluice fuzz PROGRAM --seed S: crash on packet #"),
    /// and the pcap's path, as C strings made once.
    nonisolated(unsafe) static var prefix: [CChar] = []
    nonisolated(unsafe) static var path: [CChar] = []
    /// Scratch for the handler's text.
    nonisolated(unsafe) static var text = UnsafeMutablePointer<UInt8>.allocate(capacity: 2 * capacity + 256)

    static let signals: [Int32] = [SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGFPE, SIGABRT]

    static func install(path: String, program: String, seed: String) {
        prefix = Array("\nsluice fuzz \(program) --seed \(seed): CRASH (signal ".utf8CString.dropLast())
        self.path = Array(path.utf8CString)
        for s in signals { signal(s, handler) }
    }

    @inline(__always) static func current(index i: Int, port p: UInt16, bytes: [UInt8]) {
        let n = min(bytes.count, capacity)
        bytes.withUnsafeBufferPointer { b in if n > 0 { packet.update(from: b.baseAddress!, count: n) } }
        length = n
        index = i
        port = p
        armed = true
    }

    static func clear() {
        armed = false
        for s in signals { signal(s, SIG_DFL) }
    }

    static let handler: @convention(c) (Int32) -> Void = { sig in
        for s in CrashReport.signals { signal(s, SIG_DFL) }
        guard CrashReport.armed else { _exit(70) }
        var out = CrashReport.text
        func put(_ bytes: UnsafeBufferPointer<CChar>) { for c in bytes { out.pointee = UInt8(bitPattern: c); out += 1 } }
        func put(_ s: StaticString) { s.withUTF8Buffer { for c in $0 { out.pointee = c; out += 1 } } }
        func put(_ v: Int) {
            var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            var n = 0, x = v < 0 ? 0 : v
            withUnsafeMutableBytes(of: &digits) { d in
                repeat { d[n] = UInt8(48 + x % 10); x /= 10; n += 1 } while x > 0
                while n > 0 { n -= 1; out.pointee = d[n]; out += 1 }
            }
        }
        CrashReport.prefix.withUnsafeBufferPointer { put($0) }
        put(Int(sig))
        put(") on packet #")
        put(CrashReport.index)
        put(", port ")
        put(Int(CrashReport.port))
        put(", ")
        put(CrashReport.length)
        put(" bytes:\n")
        let hex: StaticString = "0123456789abcdef"
        hex.withUTF8Buffer { h in
            for i in 0..<CrashReport.length {
                out.pointee = h[Int(CrashReport.packet[i] >> 4)]; out += 1
                out.pointee = h[Int(CrashReport.packet[i] & 15)]; out += 1
            }
        }
        put("\nwritten to ")
        CrashReport.path.withUnsafeBufferPointer { put(UnsafeBufferPointer(rebasing: $0.dropLast())) }
        put("\n")
        _ = write(2, CrashReport.text, out - CrashReport.text)

        // The pcap: global header (microsecond format, Ethernet) and the one record.
        let fd = CrashReport.path.withUnsafeBufferPointer { open($0.baseAddress!, O_WRONLY | O_CREAT | O_TRUNC, 0o644) }
        if fd >= 0 {
            var header: (UInt32, UInt16, UInt16, Int32, UInt32, UInt32, UInt32) = (0xA1B2_C3D4, 2, 4, 0, 0, 65535, 1)
            _ = withUnsafeBytes(of: &header) { write(fd, $0.baseAddress!, 24) }
            let n = UInt32(CrashReport.length)
            var record: (UInt32, UInt32, UInt32, UInt32) = (0, 0, n, n)
            _ = withUnsafeBytes(of: &record) { write(fd, $0.baseAddress!, 16) }
            _ = write(fd, CrashReport.packet, CrashReport.length)
            close(fd)
        }
        _exit(70)
    }
}
