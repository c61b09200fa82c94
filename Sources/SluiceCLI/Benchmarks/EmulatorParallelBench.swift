import Foundation
import SluiceEmulator
import SluiceReports
import SluiceRuntime

/// `sluice bench emulator --threads N`: leafspine-64 on one partition and on N threads in the
/// same command, and whether the two reports agree (engine figures aside).
struct EmulatorParallelBench {
    var topologies: String
    var threads: Int
    var repeats: Int
    /// What runs the switches' pipelines in both runs.
    var engine: PipelineEngine

    struct Result: Encodable {
        var topology: String
        var engine: String
        var threads: Int
        var hops_per_s: Double
        var one_partition_hops_per_s: Double
        var speedup: Double
        var identical: Bool
        var wall_s: Double
        var one_partition_wall_s: Double
        var packet_hops: UInt64
        var windows: UInt64
        var crossings: UInt64
        /// Share of packet-hops that crossed a cut.
        var crossing_share: Double
        var cut_links: Int
        var lookahead_ps: Int64
        /// Per partition: share of wall time spent waiting at window ends.
        var wait_share: [Double]
        /// A model, not a measurement: per window the busiest partition's time, summed (the
        /// wall time with a free core per partition and free hand-overs), and the speedup
        /// over one partition that predicts.
        var model_critical_path_s: Double
        var model_speedup: Double
    }

    /// Report keys that measure the engine, not the network.
    static let engineKeys: Set<String> = ["wall_s", "events_per_s", "hops_per_s", "peak_rss_mb", "peak_packets"]

    static func network(_ r: RunReport) throws -> NSDictionary {
        let e = JSONEncoder()
        e.outputFormatting = .sortedKeys
        let object = try JSONSerialization.jsonObject(with: try e.encode(r)) as? [String: Any] ?? [:]
        return object.filter { !engineKeys.contains($0.key) } as NSDictionary
    }

    func run(json: Bool) throws {
        let path = (topologies as NSString).appendingPathComponent("leafspine-64.yaml")
        let spec: TopologySpec
        do { spec = try TopologyFile.load(path: path, programs: programSource) } catch { throw CLIError("\(error) (run from the repository root, or give --topologies)") }
        let cut: Partitioning
        do { cut = try Partitioning.automatic(spec, count: threads) } catch { throw CLIError("\(error)") }
        var options = EmulatorOptions()
        options.engine = engine
        var oneWalls: [Double] = [], walls: [Double] = []
        var one: RunReport? = nil, many: RunReport? = nil
        var last: ParallelEmulation? = nil
        for i in 0..<repeats {
            if !json { FileHandle.standardError.write("\r\(spec.name): run \(i + 1)/\(repeats)\u{1B}[K".data(using: .utf8)!) }
            let emu = try Emulator(spec, options: options, programs: programSource)
            let st = emu.run()
            oneWalls.append(st.wallSeconds)
            one = RunReport(emu, stats: st)
            let p = try ParallelEmulation(spec, options: options, programs: programSource, partitioning: cut)
            let pst = p.run()
            walls.append(pst.wallSeconds)
            many = p.report(pst)
            last = p
        }
        if !json { progressLine("") }
        let oneWall = oneWalls.sorted()[oneWalls.count / 2], wall = walls.sorted()[walls.count / 2]
        let hops = one!.packetHops
        let p = last!
        let r = Result(topology: spec.name, engine: one!.engine, threads: threads, hops_per_s: Double(many!.packetHops) / wall,
                       one_partition_hops_per_s: Double(hops) / oneWall, speedup: oneWall / wall,
                       identical: try Self.network(one!) == Self.network(many!), wall_s: wall, one_partition_wall_s: oneWall,
                       packet_hops: hops, windows: p.windows, crossings: p.crossings,
                       crossing_share: hops > 0 ? Double(p.crossings) / Double(hops) : 0, cut_links: cut.cutLinks.count,
                       lookahead_ps: cut.lookahead, wait_share: p.waitShares,
                       model_critical_path_s: p.criticalPathSeconds,
                       model_speedup: p.criticalPathSeconds > 0 ? oneWall / p.criticalPathSeconds : 0)
        if json {
            print(try ReportJSON.string(r))
        } else {
            print("\(spec.name) (\(r.engine) engine): \(threads) threads \(String(format: "%.2f", r.hops_per_s / 1e6)) M hops/s, one partition \(String(format: "%.2f", r.one_partition_hops_per_s / 1e6)) M hops/s: \(String(format: "%.2fx", r.speedup)); identical: \(r.identical)")
            print("waiting at window ends: " + r.wait_share.map { String(format: "%.0f%%", $0 * 100) }.joined(separator: ", ") + " of the wall time per partition")
            print("\(r.windows) windows, \(r.crossings) of \(hops) hops crossed a cut (\(String(format: "%.1f", r.crossing_share * 100))%), \(r.cut_links) links cut, lookahead \(r.lookahead_ps) ps")
        }
    }
}
