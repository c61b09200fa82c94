/// One hop of one reported packet: where it was (node, ports, position on the path), when the
/// report arrived, and what the hop measured. Absent values are all ones, as on the wire.
public struct HopSample: Sendable, Equatable, Codable {
    /// When the report arrived at the collector (picoseconds: virtual time in the emulator, the
    /// monotonic clock since the start on a socket).
    public var time: Int64
    public var node: UInt32
    public var ingressPort: UInt16
    public var egressPort: UInt16
    public var queueID: UInt8
    public var occupancy: UInt32
    public var hopLatency: UInt32
    /// The hop's own timestamps (device units: nanoseconds on Sluice switches).
    public var ingressTimestamp: UInt64
    public var egressTimestamp: UInt64
    /// Index into `TelemetryCollector.flows`, and the hop's position on the path (0 = first).
    public var flow: Int32
    public var position: UInt8
}

/// The collector: decodes Telemetry Report v2.0 packets, counts lost reports per source by
/// sequence, keeps per-flow paths, per-path latency and per-hop queue occupancy and latency
/// samples. Transport-free: the UDP socket (`UDPTelemetryCollector`) and the emulated host
/// (`EmulatedTelemetryCollector`) both hand it payloads.
///
/// Decoding allocates nothing; recording appends to arrays (amortized) and looks the flow and
/// the source up by small integer keys. One thread at a time (exclusivity is not checked at run
/// time on the per-report state).
public final class TelemetryCollector {
    public let decoder: TelemetryDecoder
    /// Samples kept at most (memory bound); past it `samplesNotKept` counts them.
    public let maxSamples: Int
    /// Flows kept at most (memory bound: forged reports can name any number of 5-tuples); a
    /// report of a flow not yet kept once this many are counts in `flowsDropped` and records
    /// nothing more (no path, no samples).
    public let maxFlows: Int
    public static let defaultMaxFlows = 65_536
    /// Report sources (node id, hardware id) followed at most (memory bound: a forged report
    /// can name any node); a report from a source not yet followed once this many are counts
    /// in `sourcesDropped`, its sequence number is not tracked, and the rest of it is recorded.
    public let maxSources: Int
    public static let defaultMaxSources = 16_384
    /// Distinct paths kept at most (memory bound: forged stacks can name any node ids); a
    /// report on a path not yet kept once this many are counts in `pathsDropped`, and its flow
    /// and hops are recorded without a path or a path latency.
    public let maxPaths: Int
    public static let defaultMaxPaths = 65_536
    /// Path latencies kept at most, over all paths together (memory bound: one per report
    /// otherwise); past it `latenciesNotKept` counts them, and the paths' distributions are of
    /// the latencies kept.
    public let maxLatencies: Int
    public static let defaultMaxLatencies = 4_000_000

    @exclusivity(unchecked) public private(set) var packets = 0
    @exclusivity(unchecked) public private(set) var reports = 0
    /// INT reports whose original packet carried an INT-MD stack.
    @exclusivity(unchecked) public private(set) var intReports = 0
    /// Reports read but not INT-MD (another report type, inner type or shim type).
    @exclusivity(unchecked) public private(set) var otherReports = 0
    /// Per `MalformedReport.rawValue`.
    @exclusivity(unchecked) public private(set) var malformed = [Int](repeating: 0, count: MalformedReport.allCases.count)
    @exclusivity(unchecked) public private(set) var samples: [HopSample] = []
    @exclusivity(unchecked) public private(set) var samplesNotKept = 0

    public struct SourceKey: Hashable, Sendable, Comparable, Codable {
        public var node: UInt32
        public var hardwareID: UInt8
        public static func < (a: SourceKey, b: SourceKey) -> Bool { (a.node, a.hardwareID) < (b.node, b.hardwareID) }
    }
    @exclusivity(unchecked) public private(set) var sources: [SourceKey: SequenceTracker] = [:]
    /// Reports from new sources past `maxSources` (each such report counts).
    @exclusivity(unchecked) public private(set) var sourcesDropped = 0

    public struct Flow: Sendable, Codable {
        public var key: FlowKey
        public var reports = 0
        /// Index into `paths` of the latest path (-1 when that path was not kept: past
        /// `maxPaths`), and how often the path changed (a change to or from a path not kept
        /// counts; one such path to another cannot be told apart and does not).
        public var path = -1
        public var pathChanges = 0
    }
    @exclusivity(unchecked) public private(set) var flows: [Flow] = []
    /// INT-MD reports of new flows past `maxFlows` (each such report counts: nothing is kept to
    /// tell their flows apart).
    @exclusivity(unchecked) public private(set) var flowsDropped = 0
    @exclusivity(unchecked) var flowIndex: [FlowKey: Int32] = [:]

    public struct Path: Sendable, Codable {
        /// Node ids from the first INT hop to the reporting node.
        public var nodes: [UInt32]
        public var reports = 0
        /// Sum of the hop latencies of each report on this path (hops that reported one).
        public var latencies: [UInt64] = []
    }
    @exclusivity(unchecked) public private(set) var paths: [Path] = []
    @exclusivity(unchecked) var pathIndex: [[UInt32]: Int] = [:]
    /// INT-MD reports on new paths past `maxPaths` (each such report counts).
    @exclusivity(unchecked) public private(set) var pathsDropped = 0
    /// Path latencies past `maxLatencies`, not kept.
    @exclusivity(unchecked) public private(set) var latenciesNotKept = 0
    /// Latencies kept, over all paths.
    @exclusivity(unchecked) var latencyCount = 0

    /// Names for node ids in tables and plots (switch names when the caller knows them).
    public var nodeNames: [UInt32: String] = [:]
    public func nodeName(_ id: UInt32) -> String { nodeNames[id] ?? "node \(id)" }

    public init(detection: INTDetection = INTDetection(), maxSamples: Int = 4_000_000, maxFlows: Int = TelemetryCollector.defaultMaxFlows,
                maxSources: Int = TelemetryCollector.defaultMaxSources, maxPaths: Int = TelemetryCollector.defaultMaxPaths,
                maxLatencies: Int = TelemetryCollector.defaultMaxLatencies) {
        decoder = TelemetryDecoder(detection: detection)
        self.maxSamples = maxSamples
        self.maxFlows = maxFlows
        self.maxSources = maxSources
        self.maxPaths = maxPaths
        self.maxLatencies = maxLatencies
    }

    public var malformedTotal: Int { malformed.reduce(0, +) }
    public var lostReports: Int { sources.values.reduce(0) { $0 + $1.lost } }
    /// Reports whose sequence number jumped implausibly far ahead (`SequenceTracker`).
    public var implausibleSequence: Int { sources.values.reduce(0) { $0 + $1.implausible } }
    public func malformedCount(_ kind: MalformedReport) -> Int { malformed[kind.rawValue] }

    /// One report packet (a UDP payload) arrived at `time` (picoseconds).
    public func receive(_ payload: UnsafeRawBufferPointer, at time: Int64) {
        packets += 1
        var r = TelemetryReport()
        if let bad = decoder.group(payload, into: &r) { malformed[bad.rawValue] += 1; return }
        let source = SourceKey(node: r.nodeID, hardwareID: r.hardwareID)
        if sources[source] != nil || sources.count < maxSources {
            sources[source, default: SequenceTracker()].record(r.sequence)
        } else { sourcesDropped += 1 }
        var offset = INTFormat.groupHeaderBytes
        var next = 0
        // At least one individual report per packet; then as many as the payload holds.
        repeat {
            let bad = decoder.individual(payload, at: offset, into: &r, next: &next)
            if let bad { malformed[bad.rawValue] += 1 } else { record(r, at: time) }
            guard next > offset, bad != .shortIndividualHeader, bad != .reportBeyondPayload else { break }
            offset = next
        } while offset + INTFormat.individualHeaderBytes <= payload.count
    }

    public func receive(_ payload: [UInt8], at time: Int64) {
        payload.withUnsafeBytes { receive($0, at: time) }
    }

    func record(_ r: TelemetryReport, at time: Int64) {
        reports += 1
        guard r.hasINT, r.int.shimType == INTFormat.shimMD, r.hasFlow else { otherReports += 1; return }
        intReports += 1
        var f: Int
        if let i = flowIndex[r.flow] { f = Int(i) } else {
            guard flows.count < maxFlows else { flowsDropped += 1; return }
            f = flows.count
            flows.append(Flow(key: r.flow))
            flowIndex[r.flow] = Int32(f)
        }
        flows[f].reports += 1
        let stack = r.int.hopCount
        // The reporting node is a hop of its own unless it pushed its metadata on the stack.
        let sinkOnStack = stack > 0 && decoder.hops[0].nodeID == r.nodeID
        let addSink = !sinkOnStack && r.reportMetadataBits != 0
        let count = stack + (addSink ? 1 : 0)
        @inline(__always) func hop(_ i: Int) -> INTHop { i < stack ? decoder.hops[stack - 1 - i] : r.local }

        var p = flows[f].path
        if p < 0 || !sameNodes(paths[p].nodes, count: count, hop) {
            let nodes = (0..<count).map { hop($0).nodeID }
            if let known = pathIndex[nodes] { p = known } else if paths.count < maxPaths {
                p = paths.count
                paths.append(Path(nodes: nodes))
                pathIndex[nodes] = p
            } else { p = -1 }
            // A flow's first report sets its path; a later one that differs changes it.
            if flows[f].reports > 1 && flows[f].path != p { flows[f].pathChanges += 1 }
            flows[f].path = p
        }
        if p >= 0 { paths[p].reports += 1 } else { pathsDropped += 1 }
        var latency: UInt64 = 0
        for i in 0..<count {
            let h = hop(i)
            if h.hasLatency { latency += UInt64(h.hopLatency) }
            if samples.count < maxSamples {
                samples.append(HopSample(time: time, node: h.nodeID, ingressPort: h.ingressPort, egressPort: h.egressPort,
                                         queueID: h.queueID, occupancy: h.queueOccupancy, hopLatency: h.hopLatency,
                                         ingressTimestamp: h.ingressTimestamp, egressTimestamp: h.egressTimestamp,
                                         flow: Int32(f), position: UInt8(truncatingIfNeeded: i)))
            } else { samplesNotKept += 1 }
        }
        guard p >= 0 else { return }
        if latencyCount < maxLatencies {
            paths[p].latencies.append(latency)
            latencyCount += 1
        } else { latenciesNotKept += 1 }
    }

    @inline(__always) func sameNodes(_ nodes: [UInt32], count: Int, _ hop: (Int) -> INTHop) -> Bool {
        guard nodes.count == count else { return false }
        for i in 0..<count where nodes[i] != hop(i).nodeID { return false }
        return true
    }
}

/// What a collector recorded, to move it to another process: a run under MPI hands the
/// collector of the rank that ran its host to rank 0 (`MPIWorld.gather`). Decoded, it holds
/// the same figures, samples, flows, paths, sources and node names, its limits and detection.
extension TelemetryCollector: Codable {
    enum CodingKeys: String, CodingKey { case detection, limits, counts, malformed, samples, sources, flows, paths, nodeNames }

    struct Limits: Codable { var samples, flows, sources, paths, latencies: Int }
    struct Counts: Codable {
        var packets, reports, intReports, otherReports, samplesNotKept, sourcesDropped, flowsDropped, pathsDropped, latenciesNotKept: Int
    }
    struct Source: Codable {
        var key: SourceKey
        var tracker: SequenceTracker
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(decoder.detection, forKey: .detection)
        try c.encode(Limits(samples: maxSamples, flows: maxFlows, sources: maxSources, paths: maxPaths, latencies: maxLatencies), forKey: .limits)
        try c.encode(Counts(packets: packets, reports: reports, intReports: intReports, otherReports: otherReports, samplesNotKept: samplesNotKept,
                            sourcesDropped: sourcesDropped, flowsDropped: flowsDropped, pathsDropped: pathsDropped,
                            latenciesNotKept: latenciesNotKept), forKey: .counts)
        try c.encode(malformed, forKey: .malformed)
        try c.encode(samples, forKey: .samples)
        try c.encode(sources.sorted { $0.key < $1.key }.map { Source(key: $0.key, tracker: $0.value) }, forKey: .sources)
        try c.encode(flows, forKey: .flows)
        try c.encode(paths, forKey: .paths)
        try c.encode(nodeNames.sorted { $0.key < $1.key }.map { [String($0.key), $0.value] }, forKey: .nodeNames)
    }

    public convenience init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let limits = try c.decode(Limits.self, forKey: .limits)
        try self.init(detection: c.decode(INTDetection.self, forKey: .detection), maxSamples: limits.samples, maxFlows: limits.flows,
                      maxSources: limits.sources, maxPaths: limits.paths, maxLatencies: limits.latencies)
        let n = try c.decode(Counts.self, forKey: .counts)
        (packets, reports, intReports, otherReports, samplesNotKept) = (n.packets, n.reports, n.intReports, n.otherReports, n.samplesNotKept)
        (sourcesDropped, flowsDropped, pathsDropped, latenciesNotKept) = (n.sourcesDropped, n.flowsDropped, n.pathsDropped, n.latenciesNotKept)
        malformed = try c.decode([Int].self, forKey: .malformed)
        guard malformed.count == MalformedReport.allCases.count else {
            throw DecodingError.dataCorruptedError(forKey: .malformed, in: c, debugDescription: "\(malformed.count) counts, not \(MalformedReport.allCases.count)")
        }
        samples = try c.decode([HopSample].self, forKey: .samples)
        for s in try c.decode([Source].self, forKey: .sources) { sources[s.key] = s.tracker }
        flows = try c.decode([Flow].self, forKey: .flows)
        for (i, f) in flows.enumerated() { flowIndex[f.key] = Int32(i) }
        paths = try c.decode([Path].self, forKey: .paths)
        for (i, p) in paths.enumerated() { pathIndex[p.nodes] = i }
        guard flows.allSatisfy({ $0.path < paths.count }), samples.allSatisfy({ $0.flow >= 0 && Int($0.flow) < flows.count }) else {
            throw DecodingError.dataCorruptedError(forKey: .flows, in: c, debugDescription: "a flow's path or a sample's flow is out of range")
        }
        latencyCount = paths.reduce(0) { $0 + $1.latencies.count }
        for pair in try c.decode([[String]].self, forKey: .nodeNames) {
            guard pair.count == 2, let id = UInt32(pair[0]) else {
                throw DecodingError.dataCorruptedError(forKey: .nodeNames, in: c, debugDescription: "not a node id and a name: \(pair)")
            }
            nodeNames[id] = pair[1]
        }
    }
}
