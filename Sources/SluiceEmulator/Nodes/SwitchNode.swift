import SluiceRuntime

/// A switch: a compiled pipeline, its ports (each the sending end of a link direction) and the
/// traffic manager's shared state. Ingress runs when a packet arrives; the egress queues and
/// egress pipeline live on the link directions.
final class SwitchNode {
    let node: Int32
    let name: String
    let pipeline: Pipeline
    /// Port number -> link direction index, -1 where no link is attached.
    let portDirection: UnsafeMutablePointer<Int32>
    let portCount: Int
    let latency: VirtualTime
    /// Shared buffer over all the switch's queues (bytes); Int.max when unlimited.
    let buffer: Int
    @exclusivity(unchecked) var bufferUsed = 0
    var hasController = false
    /// The pipeline traces its packets (`--trace`): enqueues are traced too.
    let traced: Bool

    // Counters the pipeline does not keep.
    @exclusivity(unchecked) var noPortDrops: UInt64 = 0
    @exclusivity(unchecked) var bufferDrops: UInt64 = 0
    @exclusivity(unchecked) var recirculations: UInt64 = 0
    /// Packets dropped on arrival by `setArrivalDrop` (SwitchML's drop simulator), per port.
    @exclusivity(unchecked) var arrivalDrops: [UInt64] = []
    /// Per port: drop an arriving packet when a draw is below this (0: never); empty: no port drops.
    @exclusivity(unchecked) var arrivalDropThreshold: [UInt64] = []
    @exclusivity(unchecked) var arrivalRNG = SplitMix64(seed: 0)

    /// Whether any port drops arrivals (`arrivalDropThreshold` set): one load per arrival
    /// where the draw below would be an outlined call.
    @exclusivity(unchecked) var dropsArrivals = false
    /// The pipeline has an egress control (`Pipeline.hasEgress`): without one, sending a copy
    /// needs no queue values.
    let hasEgress: Bool
    /// `Pipeline.headerBytes`: how far past a packet's start a pass may write.
    let headerBytes: Int

    /// Seeded per-port ingress drop: true if the packet arriving on `port` is to be dropped.
    @inline(__always) func dropsOnArrival(port: UInt16) -> Bool {
        dropsArrivals && drawsArrivalDrop(port: port)
    }

    @inline(never) func drawsArrivalDrop(port: UInt16) -> Bool {
        guard Int(port) < arrivalDropThreshold.count else { return false }
        let t = arrivalDropThreshold[Int(port)]
        guard t != 0, arrivalRNG.next() < t else { return false }
        arrivalDrops[Int(port)] += 1
        return true
    }

    init(node: Int32, name: String, pipeline: Pipeline, ports: [UInt16: Int32], latency: VirtualTime, buffer: Int?) {
        self.node = node
        self.name = name
        self.pipeline = pipeline
        traced = pipeline.tracer != nil
        hasEgress = pipeline.hasEgress
        headerBytes = pipeline.headerBytes
        portCount = Int(ports.keys.max() ?? 0) + 1
        portDirection = .allocate(capacity: portCount)
        portDirection.initialize(repeating: -1, count: portCount)
        for (p, d) in ports { portDirection[Int(p)] = d }
        self.latency = latency
        self.buffer = buffer ?? Int.max
    }

    deinit { portDirection.deallocate() }

    /// The direction leaving `port`, or -1.
    @inline(__always) func direction(port: UInt16) -> Int32 {
        Int(port) < portCount ? portDirection[Int(port)] : -1
    }
}

/// A host: one NIC (the sending end of its link), an IPv4 address, UDP and the reliable
/// transport. Applications and flows send through it; it demultiplexes what arrives.
final class HostNode {
    let node: Int32
    let name: String
    let ipv4: UInt32
    let mac: UInt64
    /// The link direction leaving the NIC, or -1 for an unconnected host.
    @exclusivity(unchecked) var nic: Int32 = -1
    /// Connections waiting for the NIC queue to drain below `hostQueueLimit` (ids, oldest first).
    @exclusivity(unchecked) var held: [Int32] = []
    @exclusivity(unchecked) var ipID: UInt16 = 0

    @exclusivity(unchecked) var rxPackets: UInt64 = 0
    @exclusivity(unchecked) var rxBytes: UInt64 = 0
    /// Packets that arrived here but were not for this host or not understood.
    @exclusivity(unchecked) var rxIgnored: UInt64 = 0

    init(node: Int32, name: String, ipv4: UInt32, mac: UInt64) {
        self.node = node; self.name = name; self.ipv4 = ipv4; self.mac = mac
    }
}
