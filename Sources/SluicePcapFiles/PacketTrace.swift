/// Every packet of a capture file in memory, read once: the bytes of all packets back to back in
/// one array, with each packet's offset, length and timestamp in parallel arrays. `sluice send`
/// loads a file this way so its send loop touches no file and allocates nothing.
public final class PacketTrace {
    public let path: String
    /// The captured bytes of every packet, back to back.
    public private(set) var bytes: [UInt8] = []
    /// Where packet i starts in `bytes`, and its length (caplen).
    public private(set) var offsets: [Int] = []
    public private(set) var lengths: [Int] = []
    /// Nanoseconds since the epoch, as in the file.
    public private(set) var timestamps: [Int64] = []
    /// Sum of `lengths`.
    public private(set) var totalBytes = 0
    /// Packets whose capture was cut (caplen < original length): sent as captured.
    public private(set) var truncatedPackets = 0
    /// Link type of the first packet (1: Ethernet).
    public private(set) var linkType: UInt32 = 1
    /// Set when the file is damaged after `count` intact packets: those were loaded.
    public private(set) var damage: PcapError?

    public var count: Int { lengths.count }

    /// Loads the intact part of the file. Throws only when the file cannot be opened or its
    /// header is bad; damage later on is kept in `damage`.
    public init(path: String) throws(PcapError) {
        self.path = path
        let reader = try PcapFileReader(path: path)
        linkType = reader.linkType
        if let size = reader.fileSize { bytes.reserveCapacity(size) }
        do throws(PcapError) {
            while let p = try reader.next() {
                offsets.append(bytes.count)
                lengths.append(p.bytes.count)
                timestamps.append(p.timestamp)
                bytes.append(contentsOf: p.bytes)
                if p.originalLength > p.bytes.count { truncatedPackets += 1 }
            }
        } catch {
            damage = error
        }
        totalBytes = bytes.count
    }
}
