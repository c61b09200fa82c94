import Foundation

/// Everything a run measured, as one value: what `sluice emulate --json` prints and what the
/// report folder's `report.json` holds.
public struct RunReport: Sendable, Encodable {
    public var topology: String
    public var seed: UInt64
    /// Simulated time reached, picoseconds.
    public var simulatedPs: Int64
    public var wallSeconds: Double
    public var events: UInt64
    public var eventsPerSecond: Double
    /// Link transmissions (a packet crossing one link is one hop).
    public var packetHops: UInt64
    public var hopsPerSecond: Double
    public var packetsDelivered: UInt64
    /// Most packets alive at once (queued or on a wire).
    public var peakPackets: Int
    public var peakRSSMB: Double
    /// What ran the switches' pipelines (`Emulator.engineSummary`), and why not native where it was asked for.
    public var engine: String
    public var engineNotes: [String]
    public var flows: [FlowSummary]
    public var ports: [PortStats]
    public var switches: [SwitchStats]
    public var hosts: [HostStats]
    /// Captured frames injected into the run (`sluice replay --topology`).
    public var injections: [InjectionResult]
    /// Changes to the network during the run (`events`), and what each did.
    public var networkEvents: [NetworkEventRecord]

    /// A flow with names instead of indices and its derived figures.
    public struct FlowSummary: Sendable, Encodable {
        public var index: Int
        public var kind: String
        public var from: String
        public var to: String
        public var bytes: Int
        public var startPs: Int64
        public var packetsSent: UInt64
        public var packetsReceived: UInt64
        public var bytesReceived: Int
        /// Flow completion time (last byte received minus start), picoseconds.
        public var fctPs: Int64?
        public var goodputBps: Double?
        public var retransmittedBytes: UInt64
    }

    enum CodingKeys: String, CodingKey {
        case topology, seed, events, flows, ports, switches, hosts, injections, engine, engineNotes
        case simulatedPs = "simulated_ps", wallSeconds = "wall_s", eventsPerSecond = "events_per_s"
        case packetHops = "packet_hops", hopsPerSecond = "hops_per_s", packetsDelivered = "packets_delivered"
        case peakPackets = "peak_packets", peakRSSMB = "peak_rss_mb", networkEvents = "network_events"
    }

    public init(_ emu: Emulator, stats: RunStats) {
        topology = emu.spec.name
        seed = emu.options.seed
        simulatedPs = emu.now
        wallSeconds = stats.wallSeconds
        events = stats.events
        eventsPerSecond = stats.wallSeconds > 0 ? Double(stats.events) / stats.wallSeconds : 0
        packetHops = emu.packetHops
        hopsPerSecond = stats.wallSeconds > 0 ? Double(packetHops) / stats.wallSeconds : 0
        packetsDelivered = emu.packetsDelivered
        peakPackets = emu.peakPackets
        peakRSSMB = Self.peakRSSMegabytes()
        (engine, engineNotes) = emu.engineSummary
        flows = Self.summaries(emu.flows, hostNames: emu.hostNames)
        ports = emu.ports
        switches = emu.switchStats
        hosts = emu.hostStats
        injections = emu.injections
        networkEvents = emu.networkEventLog
    }

    static func summaries(_ flows: [FlowResult], hostNames names: [String]) -> [FlowSummary] {
        flows.map { f in
            let kind: String
            switch f.kind { case .udp: kind = "udp"; case .bulk: kind = "bulk" }
            return FlowSummary(index: f.index, kind: kind, from: names[Int(f.src)], to: names[Int(f.dst)], bytes: f.bytes,
                               startPs: f.start, packetsSent: f.packetsSent, packetsReceived: f.packetsReceived,
                               bytesReceived: f.bytesReceived, fctPs: f.completionTime, goodputBps: f.goodput,
                               retransmittedBytes: f.retransmittedBytes)
        }
    }

    /// The process's peak resident set (VmHWM), in MiB; 0 where /proc is not available.
    public static func peakRSSMegabytes() -> Double {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in s.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kb = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first.flatMap { Double($0) } ?? 0
            return kb / 1024
        }
        return 0
    }
}
