/// The bytes of a SwitchML packet after the UDP header, as the `switchml` program parses them:
///
///     switchml_t   msg_type 4 | unused 1 | size 3 | job 8 | pkt_id 32 | pool_index 16   (8 bytes)
///     exponents_t  e0 8 | e1 8                                                          (2 bytes)
///     k x int32, big-endian
///
/// `pool_index` is the slot (bits 13..0) and the set (bit 15, the shadow copy). Exponents are
/// biased unsigned (`Quantization.bias`), 0 meaning none, so the switch max-reduces them with
/// an unsigned max. Updates go from workers to UDP ports 0xBEE0 ... 0xBEEF.
public enum SwitchMLFormat {
    public static let update: UInt8 = 0
    public static let result: UInt8 = 1
    public static let headerBytes = 8
    public static let exponentBytes = 2
    /// Bytes in front of the values.
    public static let prefixBytes = headerBytes + exponentBytes
    /// The aggregation service's UDP ports.
    public static let ports: ClosedRange<UInt16> = 0xBEE0 ... 0xBEEF

    /// The `size` code for k values per packet: 32 -> 0, 64 -> 1, 128 -> 2, 256 -> 3.
    public static func sizeCode(elements k: Int) -> UInt8? {
        switch k { case 32: 0; case 64: 1; case 128: 2; case 256: 3; default: nil }
    }

    /// UDP payload bytes of a packet of k values.
    public static func payloadBytes(elements k: Int) -> Int { prefixBytes + 4 * k }

    /// Payload efficiency on an Ethernet wire: value bytes over everything the frame costs
    /// (Ethernet 14 + FCS 4 + preamble 8 + gap 12, IPv4 20, UDP 8, these headers).
    public static func efficiency(elements k: Int) -> Double {
        let wire = 14 + 20 + 8 + payloadBytes(elements: k) + 24
        return Double(4 * k) / Double(wire)
    }

    @inline(__always) static func writeHeader(_ p: UnsafeMutableRawBufferPointer, type: UInt8, size: UInt8, job: UInt8,
                                              packet: UInt32, slot: Int, set: Int, e0: UInt8, e1: UInt8) {
        p[0] = type << 4 | (size & 0x7)
        p[1] = job
        p[2] = UInt8(truncatingIfNeeded: packet >> 24); p[3] = UInt8(truncatingIfNeeded: packet >> 16)
        p[4] = UInt8(truncatingIfNeeded: packet >> 8); p[5] = UInt8(truncatingIfNeeded: packet)
        let pool = UInt16(set & 1) << 15 | UInt16(slot & 0x3FFF)
        p[6] = UInt8(pool >> 8); p[7] = UInt8(truncatingIfNeeded: pool)
        p[8] = e0; p[9] = e1
    }

    /// The header fields of a received packet, or nil when it is too short for them.
    struct Header {
        var type: UInt8
        var size: UInt8
        var job: UInt8
        var packet: UInt32
        var slot: Int
        var set: Int
        var e0: UInt8
        var e1: UInt8
    }

    @inline(__always) static func readHeader(_ p: UnsafeRawBufferPointer) -> Header? {
        guard p.count >= prefixBytes else { return nil }
        let packet = UInt32(p[2]) << 24 | UInt32(p[3]) << 16 | UInt32(p[4]) << 8 | UInt32(p[5])
        let pool = Int(p[6]) << 8 | Int(p[7])
        return Header(type: p[0] >> 4, size: p[0] & 0x7, job: p[1], packet: packet,
                      slot: pool & 0x3FFF, set: pool >> 15, e0: p[8], e1: p[9])
    }

    @inline(__always) static func putInt32(_ p: UnsafeMutableRawBufferPointer, _ offset: Int, _ v: Int32) {
        p.storeBytes(of: UInt32(bitPattern: v).bigEndian, toByteOffset: offset, as: UInt32.self)
    }
    @inline(__always) static func getInt32(_ p: UnsafeRawBufferPointer, _ offset: Int) -> Int32 {
        Int32(bitPattern: UInt32(bigEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
    }
}
