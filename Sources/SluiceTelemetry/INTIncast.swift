import SluicePrograms
import SluiceControlPlane
import Foundation
import SluiceEmulator
import SluiceReports
import SluiceIR
import SluiceRuntime

/// `sluice experiment int-incast`: INT sees an incast queue build, and what it reports is the
/// emulator's own queue trace, value for value.
///
/// A leaf-spine fabric (one spine, two leaves of ten hosts, 10 Gb/s links) where every switch
/// runs `int-md`. Eight senders under leaf1 (h1 ... h8) start an incast to h11 under leaf2
/// beside a background flow h9 -> h12 that runs from the start: 16 Gb/s of UDP meets leaf1's
/// 10 Gb/s uplink, so the queue builds at leaf1's port 11. leaf1 is the INT source (its
/// watchlist covers UDP from its host ports) and pushes the first hop, spine1 pushes the
/// second, leaf2 is the sink: it strips INT for the receivers and sends a Telemetry Report to
/// the collector, an `EmulatedTelemetryCollector` on h20 (leaf2's port 10).
///
/// The check: on every port INT reported, the occupancies in departure order (the hops'
/// egress timestamps) equal the emulator's queue trace of that port (bytes queued once each
/// packet joined, `EmulatorOptions.queueTrace`) entry for entry; and the port with the deepest
/// INT-reported queue is the trace's deepest queue over all switch ports, with the same depth.
public enum INTIncast {
    public struct Settings: Sendable {
        public var seed: UInt64 = 1
        /// Bytes each incast sender sends.
        public var incastBytes = 40_000
        /// Write a pcap of every link here (Wireshark: `sluice wireshark-dissector`).
        public var pcapDirectory: String?
        /// Partitions run on threads (`ParallelEmulation`, cut automatically: each leaf with
        /// its hosts); 1: one emulator. Either gives the same result and pcaps (as does a run
        /// under MPI, one partition a rank: `run(_:report:world:)`).
        public var threads = 1
        public init() {}
    }

    /// One port INT reported on, and how it compares with the queue trace.
    public struct PortCheck: Encodable, Sendable {
        public var switchName: String
        public var port: UInt16
        public var intSamples: Int
        public var traceEntries: Int
        public var maxINT: UInt32
        public var maxTrace: UInt32
        public var equal: Bool
        enum CodingKeys: String, CodingKey {
            case switchName = "switch", port, intSamples = "int_samples", traceEntries = "trace_entries",
                 maxINT = "max_int_bytes", maxTrace = "max_trace_bytes", equal
        }
    }

    public struct Result: Encodable, Sendable {
        public var reports: Int
        public var lostReports: Int
        public var malformedReports: Int
        public var hottestSwitch: String
        public var hottestPort: UInt16
        public var maxOccupancyBytes: UInt32
        /// The emulator's deepest switch queue over the run.
        public var traceHottestSwitch: String
        public var traceHottestPort: UInt16
        public var traceMaxBytes: UInt32
        public var matchesQueueTrace: Bool
        public var ports: [PortCheck]
        public var paths: [[String]]
        public var seed: UInt64
        public var simulatedPs: Int64
        enum CodingKeys: String, CodingKey {
            case reports, lostReports = "lost_reports", malformedReports = "malformed_reports", hottestSwitch = "hottest_switch",
                 hottestPort = "hottest_port", maxOccupancyBytes = "max_occupancy_bytes", traceHottestSwitch = "trace_hottest_switch",
                 traceHottestPort = "trace_hottest_port", traceMaxBytes = "trace_max_bytes", matchesQueueTrace = "matches_queue_trace",
                 ports, paths, seed, simulatedPs = "simulated_ps"
        }
    }

    public static let summary = "8 senders incast beside a background flow on a leaf-spine running int-md: INT's queue occupancies vs the emulator's queue trace"
    static let reportPort: UInt16 = 32766
    static let bitmap: UInt128 = 0xFC00   // node id, ports, hop latency, queue, both timestamps
    static let reportRid: UInt16 = 0x8000

    static func topology(_ s: Settings) -> String {
        """
        name: int-incast
        topology:
          generator:
            # spine1, leaf1, leaf2, h1..h20; leaf ports 1-10 to hosts, 11 to spine1.
            leaf-spine: {spines: 1, leaves: 2, hosts-per-leaf: 10}
          defaults:
            link: {rate: 10Gbps, delay: 1us, mtu: 1500, queue: {limit: 256KB}}
            switch: {program: int-md, routing: true}
        traffic:
          - {from: h9, to: h12, kind: udp, rate: 4Gbps, size: 400000, payload: 1000}
          - {pattern: incast, to: h11, from: [h1, h2, h3, h4, h5, h6, h7, h8], kind: udp, rate: 1.5Gbps, size: \(s.incastBytes), payload: 1000, start: 100us}
        """
    }

    /// The emulated fabric, configured, with the collector on its host; `run` it once.
    public final class Setup {
        public let settings: Settings
        /// The emulator; in a parallel run (`Settings.threads`), the partition that runs the
        /// collector's host (`parallel` runs them all and holds every switch's queue trace);
        /// under MPI, this rank's partition.
        public let emulator: Emulator
        public let parallel: ParallelEmulation?
        /// The collector that received the reports (in a parallel run, every partition
        /// attaches one on the collector's host; this is the one of the partition that runs it).
        /// Under MPI, after `run`, rank 0's is the one of the rank that runs the host (gathered).
        public private(set) var collector: TelemetryCollector
        /// Switch names by INT node id - 1.
        public let switchNames: [String]
        /// The MPI job of a run one partition a rank, and the partition (rank) that runs the collector's host.
        let world: MPIWorld?
        let collectorPartition: Int

        init(_ s: Settings, _ e: Emulator, _ p: ParallelEmulation?, _ c: TelemetryCollector, _ names: [String],
             world: MPIWorld? = nil, collectorPartition: Int = 0) {
            settings = s; emulator = e; parallel = p; collector = c; switchNames = names
            self.world = world; self.collectorPartition = collectorPartition
        }

        /// The enqueues at a switch port (from the partition that runs the switch).
        public func queueTrace(switch name: String, port: UInt16) throws -> [QueueTraceEntry] {
            try parallel?.queueTrace(switch: name, port: port) ?? emulator.queueTrace(switch: name, port: port)
        }

        public var queueTracePorts: [(switch: String, port: UInt16)] { parallel?.queueTracePorts ?? emulator.queueTracePorts }
        public var now: Int64 { parallel?.now ?? emulator.now }

        /// The switch an INT node id stands for.
        public func name(ofNode node: UInt32) -> String {
            node >= 1 && Int(node) <= switchNames.count ? switchNames[Int(node) - 1] : "node \(node)"
        }

        /// Runs the traffic to the end (20 ms of virtual time, long after the last packet).
        /// Under MPI every rank calls it; then the collector of the rank that runs its host
        /// goes to rank 0 (`MPIWorld.gather`).
        @discardableResult public func run() -> RunStats {
            let stats = parallel?.run(until: 20_000_000_000) ?? emulator.run(until: 20_000_000_000)
            if let world {
                let all = world.gather(world.rank == collectorPartition ? collector : nil, what: "the INT collector's reports")
                if let all {
                    guard let c = all[collectorPartition] else { world.fail("rank \(collectorPartition) sent no INT collector") }
                    collector = c
                }
            }
            return stats
        }
    }

    /// Runs the experiment; `report`: also write the report folder there.
    public static func run(_ s: Settings, report: String? = nil) throws -> Result {
        try run(s, report: report, world: nil)!
    }

    /// Runs the experiment, under MPI (`world`) one partition a rank: every rank calls it, rank
    /// 0 gets the result of one partition and writes the report folder, the others nil.
    public static func run(_ s: Settings, report: String? = nil, world: MPIWorld?) throws -> Result? {
        let setup = try setUp(s, world: world)
        setup.run()
        guard (world?.rank ?? 0) == 0 else { return nil }
        let r = try result(setup)
        if let dir = report { try writeReport(r, setup, to: dir) }
        return r
    }

    /// Builds the fabric (one emulator, `threads` partitions, or under MPI this rank's
    /// partition of `world.size`), installs the INT entries and attaches the collector (in a
    /// parallel run, in every partition).
    public static func setUp(_ s: Settings, world: MPIWorld? = nil) throws -> Setup {
        let spec = try TopologyFile.parse(topology(s), file: "int-incast.yaml", baseDirectory: ".", seed: s.seed, programs: .builtIn)
        var options = EmulatorOptions()
        options.seed = s.seed
        options.queueTrace = true
        options.pcapDirectory = s.pcapDirectory
        let switchNames = spec.switches.map { spec.nodes[$0].name }
        guard s.threads > 1 || world != nil else {
            let emulator = try Emulator(spec, options: options, programs: .builtIn)
            let collector = try configure(emulator, spec, switchNames)
            return Setup(s, emulator, nil, collector, switchNames)
        }
        let cut = try Partitioning.automatic(spec, count: world?.size ?? s.threads)
        let parallel = try world.map { try ParallelEmulation(spec, options: options, programs: .builtIn, partitioning: cut, world: $0) }
            ?? ParallelEmulation(spec, options: options, programs: .builtIn, partitioning: cut)
        let collectors = try parallel.eachPartition { try configure($0, spec, switchNames) }
        let owner = Int(cut.partitionOf[spec.node(named: collectorHost)!])
        // Under MPI this rank's partition is the only one here.
        let here = world == nil ? owner : 0
        return Setup(s, parallel.eachPartition { $0 }[here], parallel, collectors[here], switchNames, world: world, collectorPartition: owner)
    }

    static let collectorHost = "h20"

    /// Install the INT entries in `emulator`'s switches and attach the collector on its host.
    static func configure(_ emulator: Emulator, _ spec: TopologySpec, _ switchNames: [String]) throws -> TelemetryCollector {
        func host(_ name: String) -> (ip: UInt32, mac: UInt64) {
            let n = spec.node(named: name)!
            guard case .host(let h) = spec.nodes[n].kind else { return (0, 0) }
            return (h.ipv4, spec.nodes[n].mac)
        }
        guard let up = emulator.uplink(ofHost: collectorHost) else { throw TelemetryError("\(collectorHost) is not connected") }
        // Node ids 1, 2, 3 in the order of the topology's switches.
        for (i, name) in switchNames.enumerated() {
            let cp: any ControlPlane = try emulator.controlPlane(switch: name)
            try cp.setDefault("int_config", ActionCall("int_config", [UInt128(i + 1), UInt128(0x0A00_FF00 + i + 1), 1500]))
            guard name.hasPrefix("leaf") else { continue }
            for port in UInt16(1)...10 {
                // Source: UDP from a host port (the ternary masks leave the rest open).
                _ = try cp.insert("int_watchlist", TableEntry([.ternary(UInt128(port), mask: 0x1FF), .ternary(0, mask: 0), .ternary(0, mask: 0),
                                                               .ternary(17, mask: 0xFF), .ternary(0, mask: 0), .ternary(0, mask: 0)],
                                                              ActionCall("int_source", [bitmap, 8]), priority: 1))
            }
            // Sink at the collector's leaf: host ports other than the collector's.
            guard name == up.switch else { continue }
            let collector = host(collectorHost)
            for port in UInt16(1)...10 where port != up.port {
                _ = try cp.insert("int_sink", TableEntry([.exact(UInt128(port))], ActionCall("int_sink", [UInt128(port)])))
                try cp.setMulticastGroup(port, [MulticastMember(port: port, rid: 0), MulticastMember(port: up.port, rid: reportRid)])
            }
            _ = try cp.insert("int_report", TableEntry([.exact(UInt128(reportRid))],
                                                       ActionCall("int_report", [UInt128(collector.mac), UInt128(collector.ip), UInt128(reportPort), 0, 256])))
        }
        let app = EmulatedTelemetryCollector(port: reportPort, collector: TelemetryCollector(detection: INTDetection(udpPort: nil, dscp: 0x17)))
        for (i, name) in switchNames.enumerated() { app.collector.nodeNames[UInt32(i + 1)] = name }
        try emulator.attach(app, host: collectorHost)
        return app.collector
    }

    /// The figures of a finished run, checked against the queue trace.
    public static func result(_ setup: Setup) throws -> Result {
        let c = setup.collector, s = setup.settings
        let name = setup.name(ofNode:)
        var checks: [PortCheck] = []
        var byPort: [TelemetryCollector.HopKey: [HopSample]] = [:]
        for (k, v) in c.samplesByHop() { byPort[k] = v.sorted { $0.egressTimestamp < $1.egressTimestamp } }
        for (key, samples) in byPort.sorted(by: { $0.key < $1.key }) {
            let trace = try setup.queueTrace(switch: name(key.node), port: key.egressPort).map(\.bytes)
            let reported = samples.map(\.occupancy)
            checks.append(PortCheck(switchName: name(key.node), port: key.egressPort, intSamples: reported.count, traceEntries: trace.count,
                                    maxINT: reported.max() ?? 0, maxTrace: trace.max() ?? 0, equal: reported == trace))
        }
        var traceMax: (String, UInt16, UInt32) = ("", 0, 0)
        for (sw, port) in setup.queueTracePorts {
            let m = try setup.queueTrace(switch: sw, port: port).map(\.bytes).max() ?? 0
            if m > traceMax.2 { traceMax = (sw, port, m) }
        }
        let summary = c.summary()
        let hot = summary.hottest
        let result = Result(
            reports: c.reports, lostReports: c.lostReports, malformedReports: c.malformedTotal,
            hottestSwitch: hot.map { name($0.node) } ?? "", hottestPort: hot?.egressPort ?? 0, maxOccupancyBytes: hot?.maxOccupancy ?? 0,
            traceHottestSwitch: traceMax.0, traceHottestPort: traceMax.1, traceMaxBytes: traceMax.2,
            matchesQueueTrace: !checks.isEmpty && checks.allSatisfy(\.equal) && hot.map { name($0.node) } == traceMax.0
                && hot?.egressPort == traceMax.1 && hot?.maxOccupancy == traceMax.2,
            ports: checks, paths: summary.paths.map { $0.nodes.map(name) }, seed: s.seed, simulatedPs: setup.now)
        return result
    }

    /// The terminal lines.
    public static func text(_ r: Result) -> String { summary(r).text }

    /// The figures as lines and the per-port comparison as a table.
    public static func summary(_ r: Result) -> ReportSummary {
        var t = TextTable(header: ["switch", "port", "INT samples", "trace entries", "max INT", "max trace", "equal"])
        for p in r.ports {
            t.append([p.switchName, "\(p.port)", "\(p.intSamples)", "\(p.traceEntries)", formatBytes(p.maxINT), formatBytes(p.maxTrace), p.equal ? "yes" : "NO"])
        }
        var out = ReportSummary()
        out.add(line: "\(r.reports) reports, \(r.lostReports) lost, \(r.malformedReports) malformed; paths: \(r.paths.map { $0.joined(separator: " > ") }.joined(separator: ", "))")
        out.add(line: "hottest queue by INT: \(r.hottestSwitch) port \(r.hottestPort), \(r.maxOccupancyBytes) bytes; by the emulator's queue trace: \(r.traceHottestSwitch) port \(r.traceHottestPort), \(r.traceMaxBytes) bytes")
        out.add(table: t)
        out.add(line: "INT occupancies match the queue trace: \(r.matchesQueueTrace ? "yes, entry for entry" : "NO")")
        return out
    }

    static func writeReport(_ r: Result, _ setup: Setup, to dir: String) throws {
        let c = setup.collector
        let trace = try setup.queueTrace(switch: r.traceHottestSwitch, port: r.traceHottestPort)
        let node = UInt32((setup.switchNames.firstIndex(of: r.hottestSwitch) ?? -1) + 1)
        let int = c.samples.filter { $0.node == node && $0.egressPort == r.hottestPort && $0.ingressTimestamp != .max }
        try c.writeReport(to: dir, title: "int-incast: INT telemetry of an incast", occupancyUnit: "queue occupancy (bytes)",
                          extraSummary: ReportSummary(text: "seed \(r.seed)") + summary(r)) { w in
            // The hottest port's trace beside what INT reported there, and the comparison.
            let plot = LinePlot(title: "\(r.traceHottestSwitch) port \(r.traceHottestPort): the emulator's queue trace and INT",
                                xLabel: "enqueue time (simulated)", yLabel: "queue depth (bytes)",
                                series: [(name: "queue trace", points: trace.map { (x: Double($0.time) / 1e12, y: Double($0.bytes)) }),
                                         (name: "INT (hop ingress time)", points: int.map { (x: Double($0.ingressTimestamp) / 1e9, y: Double($0.occupancy)) })],
                                step: true, xFormat: .seconds)
            try w.write(svg: plot.svg(), name: "trace-vs-int.svg", caption: "The queue trace of the hottest port and the occupancies INT reported there",
                        data: ["hop-samples.csv"])
            try w.writeJSON(r, name: "int-incast.json", description: "The experiment's figures and the per-port comparison with the queue trace")
        }
    }
}
