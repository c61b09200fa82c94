/// The wire constants of INT v2.1 (INT-MD over UDP) and Telemetry Report v2.0, as the collector
/// and the Wireshark dissector read them. Bit 0 is the most significant bit; all fields are
/// big-endian.
///
/// Units are device-defined in the spec; Sluice's `int-md` reports hop latency and timestamps in
/// nanoseconds and queue occupancy in bytes (queued once the packet joined, itself included).
/// The collector keeps the raw values. A value a hop cannot provide is all ones and is kept out
/// of the series.
public enum INTFormat {
    /// The UDP destination port that marks INT over UDP (not assigned by IANA; the common
    /// placeholder 0x4568).
    public static let defaultINTPort: UInt16 = 0x4568
    /// The DSCP value that marks INT (the spec's example), when a domain detects INT by DSCP.
    public static let defaultINTDSCP: UInt8 = 0x17
    /// A common collector port for Telemetry Report v2.0.
    public static let defaultReportPort: UInt16 = 32766

    /// Shim types.
    public static let shimMD: UInt8 = 1
    public static let shimDestination: UInt8 = 2
    public static let shimMX: UInt8 = 3
    public static let shimBytes = 4
    public static let mdHeaderBytes = 12
    public static let version: UInt8 = 2

    /// Bytes of metadata for each instruction bit (bit 0 = mask 0x8000 first). Reserved bits
    /// 9 ... 14 take 4 bytes each; bit 15, the checksum complement, 4 bytes.
    public static let metadataBytes: [Int] = [4, 4, 4, 4, 8, 8, 8, 4, 4, 4, 4, 4, 4, 4, 4, 4]

    /// The per-hop metadata length in 4-byte words that `bitmap` asks for.
    @inline(__always) public static func hopWords(bitmap: UInt16) -> Int {
        // Bits 4, 5, 6 (masks 0x0800, 0x0400, 0x0200) are 8 bytes; every other set bit 4.
        let wide = (bitmap & 0x0E00).nonzeroBitCount
        return bitmap.nonzeroBitCount + wide
    }

    /// Telemetry Report v2.0.
    public static let groupHeaderBytes = 8
    public static let individualHeaderBytes = 4
    /// Bytes after the individual report header of an INT report: RepMdBits | DomainSpecificID,
    /// DSMdBits | DSMdStatus. `MDLength` counts the variable metadata after them.
    public static let intReportFixedBytes = 8
    /// ReportLength 0xFF: the report runs to the end of the payload.
    public static let lengthToEnd: UInt8 = 0xFF
    /// Group-header sequence numbers are 22 bits.
    public static let sequenceModulus: UInt32 = 1 << 22

    public enum ReportType: UInt8 { case innerOnly = 0, int = 1, ioam = 2 }
    public enum InnerType: UInt8 { case none = 0, tlv = 1, domainSpecific = 2, ethernet = 3, ipv4 = 4, ipv6 = 5 }
}
