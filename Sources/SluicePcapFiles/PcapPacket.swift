/// One packet of a capture file or a live capture, as the reader hands it out.
///
/// `bytes` points into the reader's buffer: it is valid only until the next call to the reader
/// (or inside the `forEach` closure). Copy what you keep.
public struct PcapPacket {
    /// Nanoseconds since the Unix epoch (the file's resolution, widened; pcapng interface
    /// offsets applied).
    public var timestamp: Int64
    /// The captured bytes (`caplen` of them).
    public var bytes: UnsafeRawBufferPointer
    /// The frame's length on the wire; more than `bytes.count` when the capture cut it.
    public var originalLength: Int
    /// pcapng interface index (0 for classic pcap and live captures).
    public var interface: Int
    /// LINKTYPE_ of the frame (1: Ethernet).
    public var linkType: UInt32
    /// Byte offset of the packet's record (pcap) or block (pcapng) in the file; 0 when live.
    public var offset: Int

    public init(timestamp: Int64, bytes: UnsafeRawBufferPointer, originalLength: Int, interface: Int = 0,
                linkType: UInt32 = 1, offset: Int = 0) {
        self.timestamp = timestamp
        self.bytes = bytes
        self.originalLength = originalLength
        self.interface = interface
        self.linkType = linkType
        self.offset = offset
    }

    /// The captured bytes as an array (allocates; for tests and tools, not for hot loops).
    public var data: [UInt8] { Array(bytes) }
}

/// A packet copied out of a reader: owns its bytes.
public struct CapturedPacket: Hashable, Sendable {
    public var timestamp: Int64
    public var bytes: [UInt8]
    public var originalLength: Int
    public var interface: Int
    public var linkType: UInt32

    public init(timestamp: Int64, bytes: [UInt8], originalLength: Int? = nil, interface: Int = 0, linkType: UInt32 = 1) {
        self.timestamp = timestamp
        self.bytes = bytes
        self.originalLength = originalLength ?? bytes.count
        self.interface = interface
        self.linkType = linkType
    }

    public init(_ p: PcapPacket) {
        self.init(timestamp: p.timestamp, bytes: p.data, originalLength: p.originalLength, interface: p.interface, linkType: p.linkType)
    }
}
