import SluiceRuntime

/// Byte-level Ethernet/IPv4/UDP for hosts: writing headers into a packet buffer and reading
/// them back. Offsets are fixed (no VLAN, no IP options): what emulated hosts send.
enum HostStack {
    static let ethernet = 14
    static let ipv4 = 20
    static let udp = 8
    /// Bytes in front of a UDP payload.
    static let headers = ethernet + ipv4 + udp

    /// ECN codepoints (the low two bits of the IPv4 TOS byte).
    static let ect0: UInt8 = 0b10
    static let ce: UInt8 = 0b11

    // Whole words in network order, at any alignment: one load or store each, not one a byte.
    @inline(__always) static func put16(_ p: UnsafeMutablePointer<UInt8>, _ v: UInt16) {
        UnsafeMutableRawPointer(p).storeBytes(of: v.bigEndian, as: UInt16.self)
    }
    @inline(__always) static func put32(_ p: UnsafeMutablePointer<UInt8>, _ v: UInt32) {
        UnsafeMutableRawPointer(p).storeBytes(of: v.bigEndian, as: UInt32.self)
    }
    @inline(__always) static func put64(_ p: UnsafeMutablePointer<UInt8>, _ v: UInt64) {
        UnsafeMutableRawPointer(p).storeBytes(of: v.bigEndian, as: UInt64.self)
    }
    @inline(__always) static func get16(_ p: UnsafePointer<UInt8>) -> UInt16 {
        UInt16(bigEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt16.self))
    }
    @inline(__always) static func get32(_ p: UnsafePointer<UInt8>) -> UInt32 {
        UInt32(bigEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt32.self))
    }
    @inline(__always) static func get64(_ p: UnsafePointer<UInt8>) -> UInt64 {
        UInt64(bigEndian: UnsafeRawPointer(p).loadUnaligned(as: UInt64.self))
    }
    /// A 48-bit MAC address (the low bits of the word).
    @inline(__always) static func getMAC(_ p: UnsafePointer<UInt8>) -> UInt64 {
        UInt64(get32(p)) << 16 | UInt64(get16(p + 4))
    }
    @inline(__always) static func putMAC(_ p: UnsafeMutablePointer<UInt8>, _ mac: UInt64) {
        put32(p, UInt32(truncatingIfNeeded: mac >> 16)); put16(p + 4, UInt16(truncatingIfNeeded: mac))
    }

    /// Write Ethernet, IPv4 (DF, TTL 64, checksum) and UDP (checksum 0, which IPv4 allows) headers
    /// for `payload` bytes at the start of `p`. The payload bytes are the caller's.
    @inline(__always) static func writeUDP(_ p: UnsafeMutablePointer<UInt8>, srcMAC: UInt64, dstMAC: UInt64,
                                           srcIP: UInt32, dstIP: UInt32, srcPort: UInt16, dstPort: UInt16,
                                           tos: UInt8, id: UInt16, payload: Int) {
        putMAC(p, dstMAC)
        putMAC(p + 6, srcMAC)
        put16(p + 12, 0x0800)
        let ip = p + ethernet
        // Version 4, IHL 5, TOS, total length; identification, DF; TTL 64, UDP, checksum 0.
        put32(ip, 0x4500_0000 | UInt32(tos) << 16 | UInt32(UInt16(ipv4 + udp + payload)))
        put32(ip + 4, UInt32(id) << 16 | 0x4000)
        put32(ip + 8, 64 << 24 | 17 << 16)
        put32(ip + 12, srcIP)
        put32(ip + 16, dstIP)
        put16(ip + 10, InternetChecksum.checksum(UnsafeRawBufferPointer(start: ip, count: ipv4)))
        let u = ip + ipv4
        put32(u, UInt32(srcPort) << 16 | UInt32(dstPort))
        put32(u + 4, UInt32(UInt16(udp + payload)) << 16)
    }

    /// Set CE on an ECN-capable IPv4 packet, fixing the header checksum incrementally
    /// (RFC 1624). Returns false (and changes nothing) for non-IPv4 or not-ECT packets.
    @inline(__always) static func markCE(_ p: UnsafeMutablePointer<UInt8>, length: Int) -> Bool {
        guard length >= ethernet + ipv4, p[12] == 0x08, p[13] == 0x00 else { return false }
        let ip = p + ethernet
        let tos = ip[1]
        guard tos & 0b11 != 0, tos & 0b11 != 0b11 else { return false }
        let old = UInt16(ip[0]) << 8 | UInt16(tos)
        let new = old | 0b11
        ip[1] = tos | 0b11
        var sum = UInt32(~get16(ip + 10)) + UInt32(~old) + UInt32(new)
        while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
        put16(ip + 10, ~UInt16(sum))
        return true
    }
}
