import SluiceControlPlane
import SluiceRuntime
import SluiceSupport

/// Counters of one port: the sending end of a link direction and its egress queue.
public struct PortStats: Sendable, Codable {
    public var node: String
    public var port: UInt16
    public var peer: String
    public var peerPort: UInt16
    public var rate: UInt64
    public var txPackets: UInt64
    public var txBytes: UInt64
    /// Dropped because the queue (or the switch's shared buffer) was full.
    public var queueDrops: UInt64
    public var mtuDrops: UInt64
    public var egressDrops: UInt64
    /// Lost on the wire (the link's `loss`).
    public var lost: UInt64
    public var ecnMarks: UInt64
    /// Queued or on the wire when the link (or a switch at either end) went down.
    public var droppedAtFailure: UInt64 = 0
    /// Sent onto the link while it was down.
    public var droppedWhileDown: UInt64 = 0
    public var maxQueueBytes: Int
    /// The shallowest queue at which a packet was marked, if any was.
    public var minMarkedQueueBytes: Int?
}

/// Counters of one switch beyond its ports.
public struct SwitchStats: Sendable, Codable {
    public var name: String
    public var program: String
    public var received: UInt64
    public var parserDrops: UInt64
    public var ingressDrops: UInt64
    public var egressDrops: UInt64
    /// Ingress chose a port with no link.
    public var noPortDrops: UInt64
    public var bufferDrops: UInt64
    public var recirculations: UInt64
    /// Dropped on arrival by `Emulator.setArrivalDrop` (seeded per-port drops).
    public var arrivalDrops: UInt64 = 0
}

public struct HostStats: Sendable, Codable {
    public var name: String
    public var ipv4: String
    public var rxPackets: UInt64
    public var rxBytes: UInt64
    public var rxIgnored: UInt64
}

extension Emulator {
    public var flows: [FlowResult] { flowResults }

    public var ports: [PortStats] {
        (0..<dirCount).map { d in
            let x = dirs[d]
            return PortStats(node: spec.nodes[Int(x.fromNode)].name, port: x.fromPort,
                             peer: spec.nodes[Int(x.toNode)].name, peerPort: x.toPort, rate: x.rate,
                             txPackets: x.txPackets, txBytes: x.txBytes, queueDrops: x.queueDrops,
                             mtuDrops: x.mtuDrops, egressDrops: x.egressDrops, lost: x.lost, ecnMarks: x.ecnMarks,
                             droppedAtFailure: x.droppedAtFailure, droppedWhileDown: x.droppedWhileDown,
                             maxQueueBytes: x.maxQueueBytes, minMarkedQueueBytes: x.minMarkedQueue == .max ? nil : x.minMarkedQueue)
        }
    }

    public var switchStats: [SwitchStats] {
        switches.map { s in
            let st = s.pipeline.stats
            return SwitchStats(name: s.name, program: s.pipeline.program.name, received: st.received,
                               parserDrops: st.parserDrops, ingressDrops: st.ingressDrops, egressDrops: st.egressDrops,
                               noPortDrops: s.noPortDrops, bufferDrops: s.bufferDrops, recirculations: s.recirculations,
                               arrivalDrops: s.arrivalDrops.reduce(0, +))
        }
    }

    /// Which engine ran the switches' pipelines: its name when every switch ran the same one,
    /// else each engine with its switches ("native 18, closures 2"); and, per program the native
    /// engine was asked for but could not run, why.
    public var engineSummary: (engine: String, notes: [String]) {
        var counts: [(PipelineEngine, Int)] = []
        var notes: [String] = []
        for s in switches {
            let e = s.pipeline.engine
            if let i = counts.firstIndex(where: { $0.0 == e }) { counts[i].1 += 1 } else { counts.append((e, 1)) }
            if let note = s.pipeline.engineNote {
                let line = "\(s.pipeline.program.name): \(note)"
                if !notes.contains(line) { notes.append(line) }
            }
        }
        let engine = counts.count == 1 ? counts[0].0.rawValue : counts.map { "\($0.0.rawValue) \($0.1)" }.joined(separator: ", ")
        return (counts.isEmpty ? "none" : engine, notes)
    }

    public var hostStats: [HostStats] {
        hosts.map { h in
            HostStats(name: h.name, ipv4: ipv4Text(h.ipv4),
                      rxPackets: h.rxPackets, rxBytes: h.rxBytes, rxIgnored: h.rxIgnored)
        }
    }

    /// Host names in host-index order (`FlowResult.src` and `.dst` index this).
    public var hostNames: [String] { hosts.map(\.name) }

    /// Link transmissions so far (packet-hops).
    public var packetHops: UInt64 { (0..<dirCount).reduce(0) { $0 + dirs[$1].txPackets } }
    /// Packets hosts received.
    public var packetsDelivered: UInt64 { hosts.reduce(0) { $0 + $1.rxPackets } }
    /// Events processed so far, by kind.
    public var eventCounts: EventCounts { EventCounts(kindCounts) }
    /// Packets allocated and not yet released (in queues or in flight), and the most at once.
    public var packetsInFlight: Int { pool.inUse }
    public var peakPackets: Int { pool.peak }

    /// Pcap files that could not be written completely (path and reason); checked after a run.
    public var pcapErrors: [String] { captures.compactMap { $0.error.map { "\($0)" } } }

    /// The control plane of the switch named `name`: install entries before or during a run.
    public func controlPlane(switch name: String) -> (any ControlPlane)? {
        switches.first { $0.name == name }?.pipeline
    }
}

/// Events an emulator processed, by kind: exact and deterministic for a topology, options and
/// seed, so tests pin them (a regression that doubles the work fails without timing anything).
public struct EventCounts: Sendable, Equatable, Codable, CustomStringConvertible {
    public var transmitDone: UInt64 = 0
    public var arrival: UInt64 = 0
    public var udpSend: UInt64 = 0
    public var transportTimer: UInt64 = 0
    public var flowStart: UInt64 = 0
    public var recirculate: UInt64 = 0
    public var sample: UInt64 = 0
    public var appTimer: UInt64 = 0
    public var inject: UInt64 = 0
    /// Scheduled changes to the network, routing recomputes, and events a change cancelled.
    public var network: UInt64 = 0
    public var reroute: UInt64 = 0
    public var cancelled: UInt64 = 0

    static var kinds: Int { 16 }

    public init() {}

    init(_ counts: UnsafeMutablePointer<UInt64>) {
        func c(_ k: EventKind) -> UInt64 { counts[Int(k.rawValue)] }
        transmitDone = c(.transmitDone); arrival = c(.arrival); udpSend = c(.udpSend)
        transportTimer = c(.transportTimer); flowStart = c(.flowStart); recirculate = c(.recirculate)
        sample = c(.sample); appTimer = c(.appTimer); inject = c(.inject)
        network = c(.network); reroute = c(.reroute); cancelled = c(.cancelled)
    }

    public var total: UInt64 {
        transmitDone + arrival + udpSend + transportTimer + flowStart + recirculate + sample + appTimer + inject
            + network + reroute + cancelled
    }

    public var description: String {
        "\(total) events (transmitDone \(transmitDone), arrival \(arrival), udpSend \(udpSend), transportTimer \(transportTimer), "
            + "flowStart \(flowStart), recirculate \(recirculate), sample \(sample), appTimer \(appTimer), inject \(inject)"
            + (network + reroute + cancelled > 0 ? ", network \(network), reroute \(reroute), cancelled \(cancelled))" : ")")
    }
}
