import SluiceReports

/// What the collector saw, for `--json` and `report.json`: counts, lost reports per source,
/// flows and their paths, per-path latency and per-hop queue figures.
public struct CollectorSummary: Encodable, Sendable {
    public struct Source: Encodable, Sendable {
        public var node: UInt32
        public var hardwareID: UInt8
        public var received: Int
        public var lost: Int
        public var late: Int
        public var implausible: Int
        enum CodingKeys: String, CodingKey { case node, hardwareID = "hardware_id", received, lost, late, implausible }
    }
    public struct Flow: Encodable, Sendable {
        public var flow: String
        public var reports: Int
        public var path: Int
        public var pathChanges: Int
        enum CodingKeys: String, CodingKey { case flow, reports, path, pathChanges = "path_changes" }
    }
    public struct Distribution: Encodable, Sendable {
        public var min: UInt64
        public var median: UInt64
        public var p99: UInt64
        public var max: UInt64
        public var mean: Double
    }
    public struct Path: Encodable, Sendable {
        public var id: Int
        public var nodes: [UInt32]
        public var reports: Int
        /// Sum of the hop latencies per report (device units: nanoseconds on Sluice switches).
        public var latency: Distribution?
    }
    /// A queue: the egress port of a node, as the hops that left through it reported.
    public struct Hop: Encodable, Sendable {
        public var node: UInt32
        public var egressPort: UInt16
        public var samples: Int
        public var maxOccupancy: UInt32?
        public var meanOccupancy: Double?
        public var maxHopLatency: UInt32?
        public var meanHopLatency: Double?
        enum CodingKeys: String, CodingKey {
            case node, egressPort = "egress_port", samples, maxOccupancy = "max_occupancy", meanOccupancy = "mean_occupancy",
                 maxHopLatency = "max_hop_latency", meanHopLatency = "mean_hop_latency"
        }
    }

    public var packets: Int
    public var reports: Int
    public var intReports: Int
    public var otherReports: Int
    public var lostReports: Int
    /// Reports whose sequence number jumped more than `SequenceTracker.maxPlausibleGap` ahead.
    public var implausibleSequence: Int
    /// Reports of flows past the collector's `maxFlows`, which it did not keep.
    public var flowsDropped: Int
    /// Reports from sources past the collector's `maxSources`, whose sequence it did not track.
    public var sourcesDropped: Int
    /// Reports on paths past the collector's `maxPaths`, which it did not keep.
    public var pathsDropped: Int
    /// Path latencies past the collector's `maxLatencies`, not in the distributions.
    public var latenciesNotKept: Int
    public var malformed: [String: Int]
    public var malformedTotal: Int
    public var samples: Int
    public var samplesNotKept: Int
    public var sources: [Source]
    public var flows: [Flow]
    public var paths: [Path]
    /// Sorted by deepest queue first.
    public var hops: [Hop]

    enum CodingKeys: String, CodingKey {
        case packets, reports, intReports = "int_reports", otherReports = "other_reports", lostReports = "lost_reports",
             implausibleSequence = "implausible_sequence", flowsDropped = "flows_dropped",
             sourcesDropped = "sources_dropped", pathsDropped = "paths_dropped", latenciesNotKept = "latencies_not_kept", malformed, malformedTotal = "malformed_total", samples, samplesNotKept = "samples_not_kept", sources, flows, paths, hops
    }

    /// The queue that reported the largest occupancy.
    public var hottest: Hop? { hops.first { $0.maxOccupancy != nil } }
}

extension TelemetryCollector {
    public struct HopKey: Hashable, Comparable, Sendable {
        public var node: UInt32
        public var egressPort: UInt16
        public static func < (a: HopKey, b: HopKey) -> Bool { (a.node, a.egressPort) < (b.node, b.egressPort) }
    }

    /// The samples per queue (node, egress port), in arrival order.
    public func samplesByHop() -> [HopKey: [HopSample]] {
        var out: [HopKey: [HopSample]] = [:]
        for s in samples { out[HopKey(node: s.node, egressPort: s.egressPort), default: []].append(s) }
        return out
    }

    public func summary() -> CollectorSummary {
        let hops = samplesByHop().map { key, s -> CollectorSummary.Hop in
            let occ = s.filter { $0.occupancy != INTHop.absentOccupancy }.map(\.occupancy)
            let lat = s.filter { $0.hopLatency != .max }.map(\.hopLatency)
            return CollectorSummary.Hop(node: key.node, egressPort: key.egressPort, samples: s.count,
                                        maxOccupancy: occ.max(), meanOccupancy: occ.isEmpty ? nil : Double(occ.reduce(0) { $0 + UInt64($1) }) / Double(occ.count),
                                        maxHopLatency: lat.max(), meanHopLatency: lat.isEmpty ? nil : Double(lat.reduce(0) { $0 + UInt64($1) }) / Double(lat.count))
        }.sorted { ($0.maxOccupancy ?? 0, $1.node, $1.egressPort) > ($1.maxOccupancy ?? 0, $0.node, $0.egressPort) }
        return CollectorSummary(
            packets: packets, reports: reports, intReports: intReports, otherReports: otherReports, lostReports: lostReports,
            implausibleSequence: implausibleSequence, flowsDropped: flowsDropped, sourcesDropped: sourcesDropped, pathsDropped: pathsDropped,
            latenciesNotKept: latenciesNotKept,
            malformed: Dictionary(uniqueKeysWithValues: MalformedReport.allCases.map { ($0.name, malformed[$0.rawValue]) }),
            malformedTotal: malformedTotal, samples: samples.count, samplesNotKept: samplesNotKept,
            sources: sources.sorted { $0.key < $1.key }.map { CollectorSummary.Source(node: $0.key.node, hardwareID: $0.key.hardwareID,
                                                                                         received: $0.value.received, lost: $0.value.lost, late: $0.value.late,
                                                                                         implausible: $0.value.implausible) },
            flows: flows.map { CollectorSummary.Flow(flow: $0.key.description, reports: $0.reports, path: $0.path, pathChanges: $0.pathChanges) },
            paths: paths.enumerated().map { i, p in CollectorSummary.Path(id: i, nodes: p.nodes, reports: p.reports, latency: distribution(p.latencies)) },
            hops: hops)
    }

    func distribution(_ v: [UInt64]) -> CollectorSummary.Distribution? {
        guard !v.isEmpty else { return nil }
        let s = v.sorted()
        func q(_ f: Double) -> UInt64 { s[min(s.count - 1, Int((Double(s.count - 1) * f).rounded()))] }
        return CollectorSummary.Distribution(min: s[0], median: q(0.5), p99: q(0.99), max: s[s.count - 1],
                                             mean: Double(s.reduce(0, +)) / Double(s.count))
    }

    /// The terminal summary: counts, then the deepest queues and the paths.
    public func summaryText(maxRows: Int = 10) -> String { summaryReport(maxRows: maxRows).text }

    /// The summary as lines and tables (the report's index.html shows the tables as tables).
    public func summaryReport(maxRows: Int = 10) -> ReportSummary {
        let s = summary()
        var out = ReportSummary()
        out.add(text: "\(s.packets) report packets, \(s.reports) reports (\(s.intReports) INT-MD), \(s.lostReports) lost, \(s.malformedTotal) malformed\n")
        if s.implausibleSequence > 0 {
            out.add(text: "  \(s.implausibleSequence) implausible sequence numbers: jumped more than \(SequenceTracker.maxPlausibleGap) ahead (forged or garbled), not counted as lost\n")
        }
        if s.flowsDropped > 0 {
            out.add(text: "  \(s.flowsDropped) reports of flows not kept: the collector keeps at most \(maxFlows) flows\n")
        }
        if s.sourcesDropped > 0 {
            out.add(text: "  \(s.sourcesDropped) reports of sources not followed (no loss counted): the collector follows at most \(maxSources) sources\n")
        }
        if s.pathsDropped > 0 {
            out.add(text: "  \(s.pathsDropped) reports of paths not kept: the collector keeps at most \(maxPaths) paths\n")
        }
        if s.latenciesNotKept > 0 {
            out.add(text: "  \(s.latenciesNotKept) path latencies not kept: the collector keeps at most \(maxLatencies)\n")
        }
        for k in MalformedReport.allCases where malformed[k.rawValue] > 0 {
            out.add(text: "  \(malformed[k.rawValue]) \(k.name): \(k.explanation)\n")
        }
        if !s.hops.isEmpty {
            var t = TextTable(header: ["node", "egress port", "samples", "max occupancy", "mean occupancy", "max hop latency"])
            for h in s.hops.prefix(maxRows) {
                t.append([nodeName(h.node), "\(h.egressPort)", "\(h.samples)", h.maxOccupancy.map(String.init) ?? "-",
                          h.meanOccupancy.map { String(format: "%.1f", $0) } ?? "-", h.maxHopLatency.map(String.init) ?? "-"])
            }
            out.add(table: t)
        }
        if !s.paths.isEmpty {
            var t = TextTable(header: ["path", "nodes", "reports", "latency min", "median", "p99", "max"])
            for p in s.paths.prefix(maxRows) {
                t.append(["\(p.id)", p.nodes.map(nodeName).joined(separator: " > "), "\(p.reports)",
                          p.latency.map { "\($0.min)" } ?? "-", p.latency.map { "\($0.median)" } ?? "-",
                          p.latency.map { "\($0.p99)" } ?? "-", p.latency.map { "\($0.max)" } ?? "-"])
            }
            out.add(table: t)
        }
        return out
    }
}
