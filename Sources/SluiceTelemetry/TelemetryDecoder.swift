/// How INT is detected in an original packet: a UDP destination port, or a DSCP value (one
/// method per domain; both may be set, the port is tried first). The default takes both
/// common markers: UDP port 0x4568 and DSCP 0x17 (what `int-md` uses).
public struct INTDetection: Sendable, Equatable, Codable {
    public var udpPort: UInt16?
    public var dscp: UInt8?
    public init(udpPort: UInt16? = INTFormat.defaultINTPort, dscp: UInt8? = INTFormat.defaultINTDSCP) { self.udpPort = udpPort; self.dscp = dscp }
}

/// Decodes Telemetry Report v2.0 packets (UDP payloads) without allocating: a report's fields
/// land in a `TelemetryReport` value and its INT-MD stack in `hops`, a buffer made once. Every
/// read is bounds-checked; a bad packet yields a `MalformedReport`, never a trap.
public final class TelemetryDecoder {
    /// The most hops a stack can hold: a shim Length of 255 words less the 3-word header, at one
    /// word a hop.
    public static let maxHops = 252
    public let detection: INTDetection
    /// The hops of the last decoded report's stack, newest first (`int.hopCount` of them).
    public let hops: UnsafeMutablePointer<INTHop>

    public init(detection: INTDetection = INTDetection()) {
        self.detection = detection
        hops = .allocate(capacity: Self.maxHops)
        hops.initialize(repeating: INTHop(), count: Self.maxHops)
    }

    deinit { hops.deallocate() }

    /// The group header: hardware id, sequence and node id; nil and `problem` when bad.
    public func group(_ p: UnsafeRawBufferPointer, into r: inout TelemetryReport) -> MalformedReport? {
        guard p.count >= INTFormat.groupHeaderBytes else { return .shortGroupHeader }
        let w0 = p.be32(0)
        guard w0 >> 28 == UInt32(INTFormat.version) else { return .badReportVersion }
        r.hardwareID = UInt8(w0 >> 22 & 0x3F)
        r.sequence = w0 & 0x3F_FFFF
        r.nodeID = p.be32(4)
        return nil
    }

    /// Decodes the individual report at `offset` (after the group header) into `r` and its stack
    /// into `hops`. `next` is where the following report starts (the payload's end for 0xFF).
    /// A problem after the header was read still sets `next`, so the caller can go on.
    public func individual(_ p: UnsafeRawBufferPointer, at offset: Int, into r: inout TelemetryReport, next: inout Int) -> MalformedReport? {
        next = p.count
        guard offset + INTFormat.individualHeaderBytes <= p.count else { return .shortIndividualHeader }
        let w = p.be32(offset)
        r.reportType = UInt8(w >> 28)
        r.innerType = UInt8(w >> 24 & 0xF)
        r.reportLength = UInt8(w >> 16 & 0xFF)
        r.mdLength = UInt8(w >> 8 & 0xFF)
        r.dropped = w & 0x80 != 0; r.congested = w & 0x40 != 0; r.tracked = w & 0x20 != 0; r.intermediate = w & 0x10 != 0
        r.reportMetadataBits = 0; r.domainID = 0; r.dsMetadataBits = 0; r.dsMetadataStatus = 0
        r.local = INTHop(); r.dropReason = 0
        r.hasFlow = false; r.hasINT = false; r.int = INTHeader()
        let body = offset + INTFormat.individualHeaderBytes
        let end: Int
        if r.reportLength == INTFormat.lengthToEnd { end = p.count } else {
            end = body + 4 * Int(r.reportLength)
            guard end <= p.count else { return .reportBeyondPayload }
        }
        next = end
        var inner = body
        if r.reportType == INTFormat.ReportType.int.rawValue {
            guard body + INTFormat.intReportFixedBytes <= end else { return .metadataBeyondReport }
            r.reportMetadataBits = p.be16(body); r.domainID = p.be16(body + 2)
            r.dsMetadataBits = p.be16(body + 4); r.dsMetadataStatus = p.be16(body + 6)
            let md = body + INTFormat.intReportFixedBytes
            inner = md + 4 * Int(r.mdLength)
            guard inner <= end, INTFormat.hopWords(bitmap: r.reportMetadataBits) <= Int(r.mdLength) else { return .metadataBeyondReport }
            r.local = INTHop.read(p, at: md, bitmap: r.reportMetadataBits, reportBits: true, dropReason: &r.dropReason)
            r.local.nodeID = r.nodeID
        }
        switch r.innerType {
        case INTFormat.InnerType.ethernet.rawValue:
            return ethernet(UnsafeRawBufferPointer(rebasing: p[inner..<end]), into: &r)
        case INTFormat.InnerType.ipv4.rawValue:
            return ipv4(UnsafeRawBufferPointer(rebasing: p[inner..<end]), into: &r)
        default:
            return nil
        }
    }

    func ethernet(_ p: UnsafeRawBufferPointer, into r: inout TelemetryReport) -> MalformedReport? {
        var o = 12
        guard p.count >= o + 2 else { return .innerTruncated }
        var type = p.be16(o)
        // Up to two VLAN tags (802.1Q, 802.1ad).
        var tags = 0
        while (type == 0x8100 || type == 0x88A8) && tags < 2 {
            o += 4; tags += 1
            guard p.count >= o + 2 else { return .innerTruncated }
            type = p.be16(o)
        }
        guard type == 0x0800 else { return .innerNotIPv4 }
        return ipv4(UnsafeRawBufferPointer(rebasing: p[(o + 2)...]), into: &r)
    }

    func ipv4(_ p: UnsafeRawBufferPointer, into r: inout TelemetryReport) -> MalformedReport? {
        guard p.count >= 20 else { return .innerTruncated }
        guard p[0] >> 4 == 4 else { return .innerNotIPv4 }
        let ihl = Int(p[0] & 0xF) * 4
        guard ihl >= 20, p.count >= ihl else { return .innerTruncated }
        let dscp = p[1] >> 2
        var proto = p[9]
        r.flow = FlowKey(source: p.be32(12), destination: p.be32(16), proto: proto, sourcePort: 0, destinationPort: 0)
        var o = ihl
        guard proto == 17 || proto == 6 else { r.hasFlow = true; return nil }
        guard p.count >= o + (proto == 17 ? 8 : 20) else { return .innerTruncated }
        r.flow.sourcePort = p.be16(o); r.flow.destinationPort = p.be16(o + 2)
        r.hasFlow = true
        let l4 = proto == 17 ? 8 : Int(p[o + 12] >> 4) * 4
        var intStart = -1
        if proto == 17, let port = detection.udpPort, r.flow.destinationPort == port { intStart = o + 8 }
        else if let d = detection.dscp, dscp == d, l4 >= 8 { intStart = o + l4 }
        guard intStart >= 0 else { return nil }
        o = intStart
        guard p.count >= o + INTFormat.shimBytes else { return .intTruncated }
        var h = INTHeader()
        h.shimType = p[o] >> 4; h.npt = p[o] >> 2 & 0x3; h.length = p[o + 1]; h.shimData = p.be16(o + 2)
        // Only INT-MD carries a stack; other shim types are reported as found, without hops.
        guard h.shimType == INTFormat.shimMD else { r.int = h; r.hasINT = true; return nil }
        guard Int(h.length) * 4 >= INTFormat.mdHeaderBytes else { return .intShortLength }
        let md = o + INTFormat.shimBytes
        guard p.count >= md + INTFormat.mdHeaderBytes else { return .intTruncated }
        let w0 = p.be32(md)
        h.version = UInt8(w0 >> 28)
        guard h.version == INTFormat.version else { return .intBadVersion }
        h.discard = w0 & 0x0800_0000 != 0; h.hopCountExceeded = w0 & 0x0400_0000 != 0; h.mtuExceeded = w0 & 0x0200_0000 != 0
        h.hopML = UInt8(w0 >> 8 & 0x1F); h.remainingHopCount = UInt8(truncatingIfNeeded: w0)
        h.instructionBitmap = p.be16(md + 4); h.domainID = p.be16(md + 6)
        h.dsInstruction = p.be16(md + 8); h.dsFlags = p.be16(md + 10)
        let stack = md + INTFormat.mdHeaderBytes
        let stackBytes = Int(h.length) * 4 - INTFormat.mdHeaderBytes
        guard p.count >= stack + stackBytes else { return .intTruncated }
        let hopBytes = Int(h.hopML) * 4
        if stackBytes > 0 {
            guard INTFormat.hopWords(bitmap: h.instructionBitmap) <= Int(h.hopML) else { return .intHopLengthTooSmall }
            guard hopBytes > 0, stackBytes % hopBytes == 0 else { return .intStackNotWholeHops }
            h.hopCount = stackBytes / hopBytes
            var unused: UInt8 = 0
            for i in 0..<h.hopCount {
                hops[i] = INTHop.read(p, at: stack + i * hopBytes, bitmap: h.instructionBitmap, reportBits: false, dropReason: &unused)
            }
        }
        r.int = h; r.hasINT = true
        // The 5-tuple the flow had before INT: NPT 1 kept the original destination port in the
        // shim; NPT 2 inserted a UDP header and kept the original protocol, whose own L4 header
        // follows the stack.
        if h.npt == 1 { r.flow.destinationPort = h.shimData }
        else if h.npt == 2 {
            proto = UInt8(truncatingIfNeeded: h.shimData)
            r.flow.proto = proto
            let after = stack + stackBytes
            if (proto == 17 || proto == 6), p.count >= after + 4 {
                r.flow.sourcePort = p.be16(after); r.flow.destinationPort = p.be16(after + 2)
            } else { r.flow.sourcePort = 0; r.flow.destinationPort = 0 }
        }
        return nil
    }
}
