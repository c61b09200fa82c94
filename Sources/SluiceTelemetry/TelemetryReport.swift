import SluiceEmulator
import SluiceSupport
/// A flow's 5-tuple (IPv4; ports 0 for other protocols).
public struct FlowKey: Hashable, Sendable, Comparable, Codable {
    public var source: UInt32
    public var destination: UInt32
    public var proto: UInt8
    public var sourcePort: UInt16
    public var destinationPort: UInt16

    public init(source: UInt32, destination: UInt32, proto: UInt8, sourcePort: UInt16, destinationPort: UInt16) {
        self.source = source; self.destination = destination; self.proto = proto
        self.sourcePort = sourcePort; self.destinationPort = destinationPort
    }

    public static func < (a: FlowKey, b: FlowKey) -> Bool {
        (a.source, a.destination, a.proto, a.sourcePort, a.destinationPort) < (b.source, b.destination, b.proto, b.sourcePort, b.destinationPort)
    }

    public var description: String {
        "\(ipv4Text(source)):\(sourcePort) > \(ipv4Text(destination)):\(destinationPort) \(proto == 17 ? "udp" : proto == 6 ? "tcp" : "proto \(proto)")"
    }
}

/// The INT-MD shim and header found in a report's original packet.
public struct INTHeader: Equatable, Sendable {
    public var shimType: UInt8 = 0
    public var npt: UInt8 = 0
    /// Shim Length: the INT-MD header plus the stack, in words.
    public var length: UInt8 = 0
    /// The shim's last 16 bits (original DSCP, UDP port or IP protocol, by NPT).
    public var shimData: UInt16 = 0
    public var version: UInt8 = 0
    public var discard = false
    public var hopCountExceeded = false
    public var mtuExceeded = false
    public var hopML: UInt8 = 0
    public var remainingHopCount: UInt8 = 0
    public var instructionBitmap: UInt16 = 0
    public var domainID: UInt16 = 0
    public var dsInstruction: UInt16 = 0
    public var dsFlags: UInt16 = 0
    /// Hops on the stack (decoded into the decoder's hop buffer, newest first).
    public var hopCount = 0
}

/// One individual report of a Telemetry Report v2.0 packet, decoded. Plain values: the hops of
/// its INT-MD stack stay in the decoder's buffer (`TelemetryDecoder.hops`).
public struct TelemetryReport: Equatable, Sendable {
    // Group header.
    public var hardwareID: UInt8 = 0
    public var sequence: UInt32 = 0
    public var nodeID: UInt32 = 0
    // Individual report header.
    public var reportType: UInt8 = 0
    public var innerType: UInt8 = 0
    public var reportLength: UInt8 = 0
    public var mdLength: UInt8 = 0
    public var dropped = false
    public var congested = false
    public var tracked = false
    public var intermediate = false
    // INT report contents (RepType 1).
    public var reportMetadataBits: UInt16 = 0
    public var domainID: UInt16 = 0
    public var dsMetadataBits: UInt16 = 0
    public var dsMetadataStatus: UInt16 = 0
    /// The reporting node's own metadata (node id from the group header).
    public var local = INTHop()
    public var dropReason: UInt8 = 0
    /// The original packet's 5-tuple (`hasFlow` when its headers were there).
    public var flow = FlowKey(source: 0, destination: 0, proto: 0, sourcePort: 0, destinationPort: 0)
    public var hasFlow = false
    /// The INT-MD header of the original packet (`hasINT` when it carried one).
    public var int = INTHeader()
    public var hasINT = false

    public init() {}
}
