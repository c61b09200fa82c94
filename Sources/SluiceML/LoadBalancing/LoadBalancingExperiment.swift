import Foundation
import SluiceEmulator
import SluiceIR
import SluicePrograms

/// `sluice experiment lb`: every load-balancing scheme on the same leaf-spine at 100 Gb/s, the
/// same traffic and the same seeds, so the differences are the schemes'.
///
/// - (a) `elephants`: a 16-rank ring allreduce whose ranks alternate between two leaves of
///   eight hosts (h1, h9, h2, h10, ...): every ring hop crosses the fabric, eight synchronized
///   elephant flows each way over eight spine uplinks. Completion is the collective's time.
/// - (b) `degraded`: the same with leaf1's link to spine1 at a quarter of its rate; `failed`:
///   with that link removed (the routing controller routes around it: seven uplinks).
/// - (c) `ml-background`: a data-parallel job (ring allreduce, two ranks per leaf on four
///   leaves and four spines) beside web-search background flows at 30% load among the other
///   hosts: iteration time and the background flows' completion-time percentiles.
///
/// Each scheme runs every seed (the seed also picks the transport's queue-pair source ports,
/// the only entropy ECMP sees); rows hold the means. Ratios are against ECMP in the same
/// scenario.
public enum LoadBalancingExperiment {
    /// A scheme: the program every switch runs and how its groups and extra state are set up.
    public struct Scheme: Sendable {
        public var name: String
        public var program: String
        public var groups: ECMPRouter.GroupKind = .equal
        public var summary: String
        /// Installs what the routing controller does not (leaf ids, probe agents), after the
        /// emulator is built and before it runs.
        public var prepare: (@Sendable (Emulator, TopologySpec, Settings) throws -> Void)? = nil
    }

    public static let schemes: [Scheme] = [
        Scheme(name: "ecmp", program: ECMPRouter.name, summary: "ECMP: a CRC-32 of the 5-tuple picks the uplink"),
        Scheme(name: "wcmp", program: ECMPRouter.name, groups: .weighted, summary: "weighted ECMP: uplinks weighted by link rate"),
        Scheme(name: "flowlet", program: Flowlet.name, summary: "LetFlow: a new pseudo-random uplink after a 100 us gap"),
        Scheme(name: "conga", program: CONGA.name, summary: "CONGA: flowlets to the uplink with the least max(local, remote) congestion",
               prepare: { emu, spec, _ in try CONGASetup.prepare(emu, spec) }),
        Scheme(name: "hula", program: HULA.name, summary: "HULA: flowlets follow the best hop learned from ToR probes every 50 us",
               prepare: { emu, spec, settings in try HULASetup.prepare(emu, spec, stopAt: settings.probesUntil) }),
        Scheme(name: "drill", program: DRILL.name, summary: "DRILL: per packet, the least queued of two random uplinks and the last winner"),
    ]


    public enum Scenario: String, CaseIterable, Sendable {
        case elephants, degraded, failed
        case mlBackground = "ml-background"

        public var summary: String {
            switch self {
            case .elephants: "(a) 8 synchronized elephants each way between two leaves over 8 spine uplinks (16-rank ring allreduce)"
            case .degraded: "(b) the same with leaf1-spine1 at a quarter of its rate"
            case .failed: "(b) the same with leaf1-spine1 failed"
            case .mlBackground: "(c) a data-parallel job beside web-search background flows at 30% load"
            }
        }
    }

    public struct Settings: Sendable {
        public var seeds = 4
        public var firstSeed: UInt64 = 1
        /// Multiplies the allreduce and model sizes (0 < scale <= 1).
        public var scale = 1.0
        public var schemes: [Scheme] = LoadBalancingExperiment.schemes
        public var scenarios: [Scenario] = Scenario.allCases
        /// The flowlet timeout of `flowlet`, `conga` and `hula` (ns; nil: the programs' 100 us).
        public var flowletTimeout: UInt64? = nil
        /// HULA's probe agents stop here (virtual picoseconds; default 1 s, after every
        /// scenario's traffic at scale 1), so the run ends; completion times are the jobs'.
        public var probesUntil: Int64 = 1_000_000_000_000
        public init() {}
    }

    /// One scheme in one scenario, averaged over the seeds.
    public struct Row: Sendable, Encodable {
        public var scenario: String
        public var scheme: String
        public var seeds: Int
        /// (a), (b): the allreduce's completion; (c): the job's iteration time. Seconds, mean.
        public var completionS: Double
        public var completionMinS: Double
        public var completionMaxS: Double
        /// Flows (in flow-sized shares of bytes) on leaf1's busiest uplink; (c): nil.
        public var busiestLinkFlows: Double?
        /// The smallest and the largest of `busiestLinkFlows` over the seeds.
        public var busiestLinkFlowsMin: Double? = nil
        public var busiestLinkFlowsMax: Double? = nil
        /// leaf1's uplinks: the busiest one's and the mean utilization over the completion time.
        public var busiestLinkLoad: Double?
        public var meanLinkLoad: Double?
        /// (c): background flow completion times, seconds.
        public var fctP50S: Double?
        public var fctP99S: Double?
        /// Data packets that reached a receiver ahead of a gap (reordering or loss), and packets
        /// dropped in switch queues, summed over the run (means over the seeds).
        public var outOfOrderPackets: Double
        public var queueDrops: Double
        public var ratioVsECMP: Double?

        enum CodingKeys: String, CodingKey {
            case scenario, scheme, seeds
            case completionS = "completion_s", completionMinS = "completion_min_s", completionMaxS = "completion_max_s"
            case busiestLinkFlows = "busiest_link_flows", busiestLinkFlowsMin = "busiest_link_flows_min", busiestLinkFlowsMax = "busiest_link_flows_max"
            case busiestLinkLoad = "busiest_link_load", meanLinkLoad = "mean_link_load"
            case fctP50S = "fct_p50_s", fctP99S = "fct_p99_s"
            case outOfOrderPackets = "out_of_order_packets", queueDrops = "queue_drops", ratioVsECMP = "ratio_vs_ecmp"
        }
    }

    /// What one seed of one scheme measured.
    struct Measurement {
        var completion: Double
        var busiestFlows: Double?
        var busiestLoad: Double?
        var meanLoad: Double?
        var fcts: [Double] = []
        var outOfOrder: UInt64
        var queueDrops: UInt64
    }

    /// Runs every scenario and scheme; `emit` gets each row as it is done, `progress` a line
    /// per run.
    public static func run(_ s: Settings, emit: (Row) -> Void = { _ in }, progress: (String) -> Void = { _ in }) throws -> [Row] {
        var rows: [Row] = []
        for scenario in s.scenarios {
            var ecmp: Double? = nil
            for scheme in s.schemes {
                var ms: [Measurement] = []
                for k in 0..<s.seeds {
                    let seed = s.firstSeed &+ UInt64(k)
                    progress("\(scenario.rawValue) \(scheme.name) seed \(seed) (\(k + 1)/\(s.seeds))")
                    ms.append(try measure(scenario, scheme, seed: seed, settings: s))
                }
                var row = summarize(scenario, scheme, ms)
                if scheme.name == "ecmp" { ecmp = row.completionS }
                row.ratioVsECMP = ecmp.map { row.completionS / $0 }
                emit(row)
                rows.append(row)
            }
        }
        return rows
    }

    static func mean(_ xs: [Double]) -> Double { xs.isEmpty ? 0 : xs.reduce(0, +) / Double(xs.count) }

    static func summarize(_ scenario: Scenario, _ scheme: Scheme, _ ms: [Measurement]) -> Row {
        let c = ms.map(\.completion)
        let fcts = ms.flatMap(\.fcts).sorted()
        func optionalMean(_ xs: [Double?]) -> Double? { xs.contains(nil) ? nil : mean(xs.compactMap { $0 }) }
        let busiest = ms.map(\.busiestFlows)
        let busiestKnown = busiest.contains(nil) ? [] : busiest.compactMap { $0 }
        return Row(scenario: scenario.rawValue, scheme: scheme.name, seeds: ms.count, completionS: mean(c),
                   completionMinS: c.min() ?? 0, completionMaxS: c.max() ?? 0,
                   busiestLinkFlows: optionalMean(busiest), busiestLinkFlowsMin: busiestKnown.min(), busiestLinkFlowsMax: busiestKnown.max(),
                   busiestLinkLoad: optionalMean(ms.map(\.busiestLoad)),
                   meanLinkLoad: optionalMean(ms.map(\.meanLoad)),
                   fctP50S: fcts.isEmpty ? nil : WorkloadResult.percentile(fcts, 0.5), fctP99S: fcts.isEmpty ? nil : WorkloadResult.percentile(fcts, 0.99),
                   outOfOrderPackets: mean(ms.map { Double($0.outOfOrder) }), queueDrops: mean(ms.map { Double($0.queueDrops) }))
    }

    /// The scenario's topology file for `scheme` (before (b)'s link changes).
    static func topology(_ scenario: Scenario, _ scheme: Scheme, scale: Double) -> String {
        let switchLine = "switch: {program: \(scheme.program), groups: \(scheme.groups.rawValue)}"
        // ECN marking as RoCE fabrics configure it for DCQCN, so senders back off before drops.
        let link = "link: {rate: 100Gbps, delay: 1us, mtu: 4096, queue: {limit: 4MB, ecn: {kmin: 100KB, kmax: 400KB, pmax: 0.2}}}"
        func mb(_ m: Double) -> String { "\(max(1, Int((m * scale * 1024).rounded())))KiB" }
        switch scenario {
        case .elephants, .degraded, .failed:
            // h1, h9, h2, h10, ...: every ring hop goes from one leaf to the other.
            let ranks = (1...8).flatMap { ["h\($0)", "h\($0 + 8)"] }.joined(separator: ", ")
            return """
                name: lb-\(scenario.rawValue)
                topology:
                  generator: {leaf-spine: {spines: 8, leaves: 2, hosts-per-leaf: 8}}
                  defaults:
                    \(link)
                    \(switchLine)
                transport: rocev2
                jobs:
                  - name: allreduce
                    workload: ddp
                    hosts: [\(ranks)]
                    model: \(mb(64))
                    bucket: \(mb(64))
                    first-bucket: \(mb(64))
                    compute: 1us
                    overlap: false
                    iterations: 1
                    algorithm: ring
                """
        case .mlBackground:
            return """
                name: lb-ml-background
                topology:
                  generator: {leaf-spine: {spines: 4, leaves: 4, hosts-per-leaf: 4}}
                  defaults:
                    \(link)
                    \(switchLine)
                transport: rocev2
                jobs:
                  - name: train
                    workload: ddp
                    hosts: [h1, h2, h5, h6, h9, h10, h13, h14]
                    model: \(mb(40))
                    compute: 2ms
                    iterations: 2
                    algorithm: ring
                  - name: noise
                    workload: background
                    hosts: [h3, h4, h7, h8, h11, h12, h15, h16]
                    distribution: websearch
                    load: 0.3
                    flows: 100
                """
        }
    }

    /// Build, prepare and run one emulation; measure it.
    static func measure(_ scenario: Scenario, _ scheme: Scheme, seed: UInt64, settings: Settings) throws -> Measurement {
        let scale = settings.scale
        var spec = try TopologyFile.parse(topology(scenario, scheme, scale: scale), file: "(lb \(scenario.rawValue))", baseDirectory: ".", programs: .builtIn)
        if scenario == .degraded || scenario == .failed {
            guard let leaf = spec.node(named: "leaf1"), let spine = spec.node(named: "spine1"),
                  let l = spec.links.firstIndex(where: { Set([$0.a.node, $0.b.node]) == Set([leaf, spine]) }) else {
                throw WorkloadError("lb \(scenario.rawValue): no link leaf1-spine1 in the generated leaf-spine")
            }
            if scenario == .degraded { spec.links[l].rate /= 4 } else { spec.links.remove(at: l) }
        }
        // Links between switches carry CONGA's overlay on top of full-size packets (the same
        // for every scheme, so the comparison is fair).
        for i in spec.links.indices where !spec.nodes[spec.links[i].a.node].isHost && !spec.nodes[spec.links[i].b.node].isHost {
            spec.links[i].mtu += CONGA.headerBytes
        }
        var o = EmulatorOptions()
        o.seed = seed
        o.sourcePortSeed = seed
        let emu = try Emulator(spec, options: o, programs: .builtIn)
        try scheme.prepare?(emu, spec, settings)
        if let t = settings.flowletTimeout, [Flowlet.name, CONGA.name, HULA.name].contains(scheme.program) {
            for sw in spec.switches {
                try emu.controlPlane(switch: spec.nodes[sw].name).setDefault("flowlet_config", ActionCall("set_flowlet_timeout", [UInt128(t)]))
            }
        }
        let runs = try Jobs.attach(spec.jobs, to: emu, seed: seed)
        let stats = emu.run()
        let report = RunReport(emu, stats: stats)
        let results = runs.map(\.result)
        for r in results where !r.complete {
            throw WorkloadError("lb \(scenario.rawValue) \(scheme.name) seed \(seed): job '\(r.name)' did not finish (\(r.operationsDone) of \(r.operations) operations)")
        }
        let outOfOrder = emu.connectionStats.reduce(UInt64(0)) { $0 + $1.outOfOrderPackets }
        let drops = report.ports.reduce(UInt64(0)) { $0 + $1.queueDrops }
        let job = results[0]
        switch scenario {
        case .elephants, .degraded, .failed:
            let cs = job.collectives
            guard let start = cs.compactMap(\.start).min(), let end = cs.compactMap(\.end).max() else {
                throw WorkloadError("lb \(scenario.rawValue): the allreduce recorded no collective")
            }
            let completion = end - start
            let uplinks = report.ports.filter { $0.node == "leaf1" && $0.peer.hasPrefix("spine") }
            let bytes = uplinks.map { Double($0.txBytes) }
            let perFlow = bytes.reduce(0, +) / 8
            let loads = uplinks.map { Double($0.txBytes) * 8 / (Double($0.rate) * completion) }
            return Measurement(completion: completion, busiestFlows: perFlow > 0 ? bytes.max()! / perFlow : 0,
                               busiestLoad: loads.max(), meanLoad: mean(loads), outOfOrder: outOfOrder, queueDrops: drops)
        case .mlBackground:
            let its = job.iterations
            let fcts = results.dropFirst().flatMap { $0.flows.compactMap(\.duration) }
            return Measurement(completion: mean(its), fcts: fcts, outOfOrder: outOfOrder, queueDrops: drops)
        }
    }
}
