import SluicePcapFiles

extension Emulator {
    /// A frame leaves a host's NIC (`sent`) or reaches a host: write it to the traces asked
    /// for (`EmulatorOptions.hostTrace`, `hostTraceDirectory`).
    func traceHostFrame(direction dir: UnsafeMutablePointer<LinkDirection>, packet p: Int32, length: Int, sent: Bool) {
        let bytes = UnsafeRawBufferPointer(start: pool.data(p), count: length)
        let node = sent ? dir.pointee.fromNode : dir.pointee.toNode
        let h = Int(hostOfNode[Int(node)])
        if sent {
            if let slot, options.hostTrace != nil {
                // One file for every host: the parallel run merges the partitions' frames.
                slot.captureCut(link: -1, inbound: false, time: clock, bytes: pool.data(p), length: length)
            } else {
                hostTraceWriter?.write(timestampPicoseconds: now, bytes: bytes)
            }
        }
        if h >= 0 && h < hostTraceWriters.count { hostTraceWriters[h]?.write(timestampPicoseconds: now, bytes: bytes) }
    }

    /// Host trace files written so far (path, packets, bytes), and the first write error of
    /// each, if any.
    public var hostTraceFiles: [(path: String, packets: Int, bytes: Int, error: String?)] {
        ([hostTraceWriter] + hostTraceWriters).compactMap { $0 }.map { w in
            (w.path, w.packetsWritten, w.bytesWritten, w.error.map { "\($0)" })
        }
    }

    /// Per transport connection (a source and destination host pair): what the sender queued
    /// and sent and what the receiver took, for checks such as "every byte of the collective
    /// arrived exactly once".
    public var connectionStats: [ConnectionStats] {
        connections.map { c in
            ConnectionStats(source: Int(c.src), destination: Int(c.dst), bytesQueued: c.sendLimit, bytesDelivered: c.rcvNxt,
                            bytesAcknowledged: c.sndUna, messagesQueued: c.messages.count, messagesDelivered: c.deliveredMessages,
                            packetsSent: c.packetsSent, packetsDelivered: c.deliveredPackets,
                            duplicatePackets: c.duplicatePackets, outOfOrderPackets: c.outOfOrderPackets,
                            retransmittedBytes: c.retransmittedBytes, timeouts: c.timeouts, fastRetransmits: c.fastRetransmits)
        }
    }
}

/// One transport connection's counters (`Emulator.connectionStats`). Host indices are
/// positions in `Emulator.hostNames`.
public struct ConnectionStats: Sendable, Encodable {
    public var source: Int
    public var destination: Int
    /// Stream bytes the sender's applications queued, the receiver took in order, and the
    /// sender saw acknowledged.
    public var bytesQueued: UInt64
    public var bytesDelivered: UInt64
    public var bytesAcknowledged: UInt64
    public var messagesQueued: Int
    public var messagesDelivered: Int
    /// Data packets sent (retransmissions included) and taken in order by the receiver.
    public var packetsSent: UInt64
    public var packetsDelivered: UInt64
    /// Data packets the receiver got again after taking them (a retransmission's extra copy),
    /// and ahead of a gap (discarded, resent later).
    public var duplicatePackets: UInt64
    public var outOfOrderPackets: UInt64
    public var retransmittedBytes: UInt64
    public var timeouts: UInt64
    public var fastRetransmits: UInt64
}
