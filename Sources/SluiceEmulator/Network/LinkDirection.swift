import SluiceRuntime

/// One direction of a link together with the egress queue in front of it: the unit packets
/// move through. At most one transmission event and one arrival event are pending per
/// direction (htsim's rule): packets in flight wait in `pipe`, and only the first one's arrival
/// is scheduled.
@usableFromInline struct LinkDirection {
    // Wiring (fixed after build).
    var fromNode: Int32
    var fromPort: UInt16
    var toNode: Int32
    var toPort: UInt16
    /// The switch (index into `Emulator.switches`) at the sending end whose egress runs at
    /// dequeue, or -1 for a host.
    var fromSwitch: Int32
    /// The switch or host at the receiving end: switch index, or -(host index + 1).
    var toSwitchOrHost: Int32
    /// The link this direction belongs to (index into the spec's links).
    var link: Int32

    // Link properties.
    /// Bits per second. Setting it forgets the remembered serialization time.
    var rate: UInt64 { didSet { serializedLength = -1 } }
    var delay: VirtualTime
    /// Added to the arrival time: the receiving switch's pipeline latency (the packet joins its
    /// egress queue that much after it arrived, which is when ingress is modelled to run).
    var receiverLatency: VirtualTime
    /// Loss: a packet is lost when a draw from `rng` is below this (probability * 2^64).
    var lossThreshold: UInt64
    /// Largest frame (MTU + 14 bytes of Ethernet header).
    var maxFrame: Int
    var limitBytes: Int
    var limitPackets: Int
    /// ECN ramp in bytes of queue; `ecnKmin < 0`: no marking.
    var ecnKmin: Int
    var ecnKmax: Int
    /// Marking probability at kmax, scaled to 2^32.
    var ecnPmax: UInt64
    var rng: SplitMix64
    /// The pcap writer of this link times two, plus one from b to a (inbound in its pcapng);
    /// -1: not captured; -2 - (link times two, plus one from b to a): a cut link in a parallel
    /// run, captured through the partition (`PartitionSlot.captureCut`).
    var capture: Int32
    /// In a parallel run, the partition this direction's packets cross into; -1: its receiver
    /// is in this one.
    var crossesTo: Int32 = -1
    /// The frame length (wire overhead included) last serialized here, and its time at `rate`;
    /// -1: none yet, or `rate` changed since. A direction mostly carries frames of a few lengths
    /// (a flow's full datagrams), so this spares most packets the 64-bit division.
    var serializedLength = -1
    var serializedTime = VirtualTime.zero

    // State.
    var queue: Ring<Int32>
    var queueBytes = 0
    /// When the packet on the wire is fully sent.
    var busyUntil = VirtualTime.zero
    var transmitPending = false
    var pipe: Ring<InFlight>
    var arrivalPending = false
    /// The link (or a switch at either end) is down: `limitPackets` is 0 and `busyUntil` is
    /// `never`, so every packet takes `enqueue`'s drop branch, which counts it here instead of
    /// as a queue drop. Up links pay nothing for this.
    var isDown = false

    // Counters.
    var txPackets: UInt64 = 0
    var txBytes: UInt64 = 0
    var queueDrops: UInt64 = 0
    var mtuDrops: UInt64 = 0
    var egressDrops: UInt64 = 0
    var lost: UInt64 = 0
    /// Queued or on the wire when the link went down.
    var droppedAtFailure: UInt64 = 0
    /// Sent onto the link while it was down.
    var droppedWhileDown: UInt64 = 0
    var ecnMarks: UInt64 = 0
    var maxQueueBytes = 0
    /// The shallowest queue (bytes ahead) at which a packet was marked CE; Int.max if none.
    var minMarkedQueue = Int.max
    /// Largest queue since the last sample, and bytes sent at the last sample (observers).
    var sampleMaxQueue = 0
    var sampleTxBytes: UInt64 = 0

    @usableFromInline struct InFlight {
        var packet: Int32
        /// The sending node's sequence number for the arrival event (`EventOrder`), taken
        /// when the packet was sent.
        var sequence: UInt32
        var arrival: VirtualTime
        /// When it was sent: its arrival event's `scheduled`, whoever pushes it.
        var sent: VirtualTime
    }

    /// Time to serialize a frame of `bytes` (wire overhead included) at `rate`: exactly
    /// `VirtualTime.serialization`, without dividing again when the length is the last one's.
    @inline(__always) mutating func serialization(bytes: Int) -> VirtualTime {
        if bytes != serializedLength {
            serializedLength = bytes
            serializedTime = .serialization(bytes: bytes, rate: rate)
        }
        return serializedTime
    }

    /// Bytes serialized onto the wire by `time`: all sent bytes but the part of the frame still
    /// being serialized then.
    func serializedBytes(at time: VirtualTime) -> UInt64 {
        guard busyUntil > time, !isDown else { return txBytes }
        let pending = (busyUntil - time).bytes(atRate: rate)
        return txBytes &- min(txBytes, pending)
    }
}
