/// One hop's INT metadata, as pushed on an INT-MD stack or carried in a report's own metadata.
/// A field the instruction bitmap did not ask for, or that the hop could not provide, is all
/// ones (`INTHop.absent` tells which); the collector keeps such values out of its series.
public struct INTHop: Equatable, Sendable {
    public var nodeID: UInt32 = .max
    public var ingressPort: UInt16 = .max
    public var egressPort: UInt16 = .max
    public var hopLatency: UInt32 = .max
    public var queueID: UInt8 = .max
    /// 24 bits; 0xFFFFFF when absent.
    public var queueOccupancy: UInt32 = 0xFF_FFFF
    public var ingressTimestamp: UInt64 = .max
    public var egressTimestamp: UInt64 = .max
    public var level2Ingress: UInt32 = .max
    public var level2Egress: UInt32 = .max
    public var txUtilization: UInt32 = .max
    public var bufferID: UInt8 = .max
    public var bufferOccupancy: UInt32 = 0xFF_FFFF
    public var checksumComplement: UInt32 = .max

    public init() {}

    public static let absentOccupancy: UInt32 = 0xFF_FFFF
    public var hasQueue: Bool { queueOccupancy != Self.absentOccupancy }
    public var hasLatency: Bool { hopLatency != .max }

    /// Reads the metadata `bitmap` asks for, in bitmap order, from `p` at `offset` (the caller
    /// checked that `INTFormat.hopWords(bitmap:) * 4` bytes are there). `reportBits`: the
    /// report's RepMdBits meaning, where bit 0 is reserved (the node id is in the group header)
    /// and bit 15 is queue id(8) + drop reason(8) + padding(16), returned in `dropReason`.
    @inline(__always)
    static func read(_ p: UnsafeRawBufferPointer, at offset: Int, bitmap: UInt16, reportBits: Bool,
                     dropReason: inout UInt8) -> INTHop {
        var h = INTHop()
        var o = offset
        @inline(__always) func u32() -> UInt32 { defer { o += 4 }; return p.be32(o) }
        @inline(__always) func u64() -> UInt64 { defer { o += 8 }; return UInt64(p.be32(o)) << 32 | UInt64(p.be32(o + 4)) }
        if bitmap & 0x8000 != 0 { let v = u32(); if !reportBits { h.nodeID = v } }
        if bitmap & 0x4000 != 0 { let v = u32(); h.ingressPort = UInt16(v >> 16); h.egressPort = UInt16(truncatingIfNeeded: v) }
        if bitmap & 0x2000 != 0 { h.hopLatency = u32() }
        if bitmap & 0x1000 != 0 { let v = u32(); h.queueID = UInt8(v >> 24); h.queueOccupancy = v & 0xFF_FFFF }
        if bitmap & 0x0800 != 0 { h.ingressTimestamp = u64() }
        if bitmap & 0x0400 != 0 { h.egressTimestamp = u64() }
        if bitmap & 0x0200 != 0 { h.level2Ingress = u32(); h.level2Egress = u32() }
        if bitmap & 0x0100 != 0 { h.txUtilization = u32() }
        if bitmap & 0x0080 != 0 { let v = u32(); h.bufferID = UInt8(v >> 24); h.bufferOccupancy = v & 0xFF_FFFF }
        // Reserved bits 9 ... 14: a word each, skipped.
        o += 4 * (bitmap & 0x007E).nonzeroBitCount
        if bitmap & 0x0001 != 0 {
            let v = u32()
            if reportBits { h.queueID = UInt8(v >> 24); dropReason = UInt8(truncatingIfNeeded: v >> 16) } else { h.checksumComplement = v }
        }
        return h
    }
}

extension UnsafeRawBufferPointer {
    @inline(__always) func be16(_ o: Int) -> UInt16 { UInt16(self[o]) << 8 | UInt16(self[o + 1]) }
    @inline(__always) func be32(_ o: Int) -> UInt32 {
        UInt32(bigEndian: loadUnaligned(fromByteOffset: o, as: UInt32.self))
    }
}
