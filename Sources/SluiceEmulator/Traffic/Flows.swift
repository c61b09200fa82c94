/// A constant-rate UDP flow's sender state. Every datagram's payload starts with an 8-byte tag
/// (flow index, sequence number, big-endian) so the receiver can attribute it.
struct UDPFlowState {
    static let tagBytes = 8
    let flow: Int32
    let src: Int32
    let dst: Int32
    let rate: UInt64
    let payload: Int
    let total: Int
    let start: VirtualTime
    let srcPort: UInt16
    let dstPort: UInt16
    var sentPayload = 0
    var seq: UInt32 = 0
    /// The IP bytes sent so far, as bits at `rate` in picoseconds: the quotient and remainder
    /// of the division, carried forward datagram by datagram (`advance`), so the next send
    /// time is `start + ipBytes * 8 / rate` without drift; saturated: past `never`.
    var sentQuotient: UInt64 = 0
    var sentRemainder: UInt64 = 0
    var saturated = false
    /// The last datagram's IP bytes and their share of the quotient and remainder: a flow's
    /// datagrams are of one length but the last, so one division serves them all.
    var stepBytes: UInt64 = 0
    var stepQuotient: UInt64 = 0
    var stepRemainder: UInt64 = 0

    /// Count `bytes` more IP bytes sent; returns the time from `start` to send the next
    /// datagram: exactly `VirtualTime.transmission(bits:rate:)` of every IP byte sent so far,
    /// without its 128-bit division per datagram.
    mutating func advance(ipBytes bytes: UInt64) -> VirtualTime {
        if bytes != stepBytes {
            stepBytes = bytes
            let (hi, lo) = (bytes * 8).multipliedFullWidth(by: UInt64(VirtualTime.picosecondsPerSecond))
            if hi < rate { (stepQuotient, stepRemainder) = rate.dividingFullWidth((hi, lo)) } else { saturated = true }
        }
        guard !saturated else { return .never }
        var (q, overflow) = sentQuotient.addingReportingOverflow(stepQuotient)
        // Both remainders are below the rate; their sum may pass 2^64 (a rate near it), and is
        // then past the rate too: the wrapped difference is the true one.
        var (r, carried) = sentRemainder.addingReportingOverflow(stepRemainder)
        if carried || r >= rate { r = r &- rate; (q, overflow) = overflow ? (q, true) : q.addingReportingOverflow(1) }
        guard !overflow, q < UInt64(Int64.max) else { saturated = true; return .never }
        sentQuotient = q
        sentRemainder = r
        return VirtualTime(picoseconds: Int64(q) + (r > 0 ? 1 : 0))
    }

    init(flow: Int32, src: Int32, dst: Int32, rate: UInt64, payload: Int, total: Int, start: VirtualTime, srcPort: UInt16, dstPort: UInt16) {
        self.flow = flow; self.src = src; self.dst = dst; self.rate = rate; self.payload = payload
        self.total = total; self.start = start; self.srcPort = srcPort; self.dstPort = dstPort
    }
}

/// What happened to one flow of the topology's traffic.
public struct FlowResult: Sendable, Encodable {
    public var index: Int
    public var kind: FlowSpec.Kind
    /// Host indices (into the emulator's hosts, in node order).
    public var src: Int32
    public var dst: Int32
    /// Payload bytes to deliver.
    public var bytes: Int
    public var start: Int64
    public var packetsSent: UInt64 = 0
    public var packetsReceived: UInt64 = 0
    public var bytesReceived: Int = 0
    public var firstArrival: Int64?
    public var lastArrival: Int64?
    /// When the last byte arrived (all `bytes` received), picoseconds; nil if it never did.
    public var completed: Int64?
    /// Bulk flows: bytes sent again after a loss or timeout.
    public var retransmittedBytes: UInt64 = 0

    init(index: Int, kind: FlowSpec.Kind, src: Int32, dst: Int32, bytes: Int, start: Int64) {
        self.index = index; self.kind = kind; self.src = src; self.dst = dst; self.bytes = bytes; self.start = start
    }

    /// Flow completion time in picoseconds.
    public var completionTime: Int64? { completed.map { $0 - start } }
    /// Goodput over the flow's life (bits per second of payload), if it completed.
    public var goodput: Double? {
        guard let c = completionTime, c > 0 else { return nil }
        return Double(bytes) * 8 / (Double(c) / 1e12)
    }

    enum CodingKeys: String, CodingKey {
        case index, kind, src, dst, bytes, start, packetsSent, packetsReceived, bytesReceived, firstArrival, lastArrival, completed, retransmittedBytes
    }
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(index, forKey: .index)
        switch kind {
        case .udp: try c.encode("udp", forKey: .kind)
        case .bulk: try c.encode("bulk", forKey: .kind)
        }
        try c.encode(src, forKey: .src); try c.encode(dst, forKey: .dst)
        try c.encode(bytes, forKey: .bytes); try c.encode(start, forKey: .start)
        try c.encode(packetsSent, forKey: .packetsSent); try c.encode(packetsReceived, forKey: .packetsReceived)
        try c.encode(bytesReceived, forKey: .bytesReceived)
        try c.encodeIfPresent(firstArrival, forKey: .firstArrival); try c.encodeIfPresent(lastArrival, forKey: .lastArrival)
        try c.encodeIfPresent(completed, forKey: .completed)
        try c.encode(retransmittedBytes, forKey: .retransmittedBytes)
    }
}
