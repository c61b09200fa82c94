/// What a packet carries through a switch besides its bytes, packed in one word of the pool:
/// the port it entered on (bits 20-31, kept for a recirculated pass), whether it is a
/// multicast copy (bit 16) and its replica id (bits 0-15).
@usableFromInline struct PacketTag {
    @usableFromInline var raw: UInt32

    @inline(__always) init(raw: UInt32) { self.raw = raw }

    /// Not in a switch yet.
    static let none = PacketTag(raw: 0)
    static let portShift: UInt32 = 20
    static let portBits: UInt32 = 0xFFF0_0000
    static let replicaBit: UInt32 = 0x1_0000

    /// Entered a switch's ingress on `port`.
    @inline(__always) static func arrived(port: UInt16) -> PacketTag { PacketTag(raw: UInt32(port) << portShift) }

    @inline(__always) var ingressPort: UInt16 { UInt16(truncatingIfNeeded: raw >> Self.portShift) }
    @inline(__always) var isReplica: Bool { raw & Self.replicaBit != 0 }
    /// The replica id (`egress_rid`), 0 unless a multicast copy.
    @inline(__always) var rid: UInt16 { UInt16(truncatingIfNeeded: raw) }

    /// The same ingress port, sent to one port.
    @inline(__always) var unicast: PacketTag { PacketTag(raw: raw & Self.portBits) }
    /// The same ingress port, as multicast copy `rid`.
    @inline(__always) func replica(rid: UInt16) -> PacketTag {
        PacketTag(raw: raw & Self.portBits | Self.replicaBit | UInt32(rid))
    }
}
