import Foundation
import SluiceEmulator
import SluiceReports
import SluiceRuntime

/// `sluice bench emulator --threads N` (or `--mpi` under `mpirun -np N`): leafspine-64 on one
/// partition and on N threads (N ranks) in the same command, and whether the two reports
/// agree (engine figures aside).
struct EmulatorParallelBench {
    var topologies: String
    var threads: Int
    var repeats: Int
    /// What runs the switches' pipelines in both runs.
    var engine: PipelineEngine

    struct Result: Encodable {
        var topology: String
        var engine: String
        /// One of the two: threads of this process, or MPI ranks.
        var threads: Int?
        var ranks: Int?
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
        /// Frame bytes a crossing packet carried, on average (up to its last non-zero byte).
        var crossing_bytes_per_packet: Double
        var cut_links: Int
        var lookahead_ps: Int64
        /// Per partition (thread or rank): share of wall time spent waiting at window ends.
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

    func load() throws -> TopologySpec {
        let path = (topologies as NSString).appendingPathComponent("leafspine-64.yaml")
        do { return try TopologyFile.load(path: path, programs: programSource) } catch { throw CLIError("\(error) (run from the repository root, or give --topologies)") }
    }

    /// Run `i` of the one-partition baseline: its report, its wall time appended to `walls`.
    func onePartition(_ spec: TopologySpec, _ options: EmulatorOptions, run i: Int, json: Bool, walls: inout [Double]) throws -> RunReport {
        if !json { FileHandle.standardError.write("\r\(spec.name): run \(i + 1)/\(repeats)\u{1B}[K".data(using: .utf8)!) }
        let emu = try Emulator(spec, options: options, programs: programSource)
        let st = emu.run()
        walls.append(st.wallSeconds)
        return RunReport(emu, stats: st)
    }

    func run(json: Bool) throws {
        let spec = try load()
        let cut: Partitioning
        do { cut = try Partitioning.automatic(spec, count: threads) } catch { throw CLIError("\(error)") }
        var options = EmulatorOptions()
        options.engine = engine
        var oneWalls: [Double] = [], walls: [Double] = []
        var one: RunReport? = nil, many: RunReport? = nil
        var last: ParallelEmulation? = nil
        for i in 0..<repeats {
            one = try onePartition(spec, options, run: i, json: json, walls: &oneWalls)
            let p = try ParallelEmulation(spec, options: options, programs: programSource, partitioning: cut)
            let pst = p.run()
            walls.append(pst.wallSeconds)
            many = p.report(pst)
            last = p
        }
        if !json { progressLine("") }
        try report(spec, cut, one: one!, oneWalls: oneWalls, many: many!, walls: walls, last: last!, ranks: nil, json: json)
    }

    /// The same under MPI, every rank calling it: before each repeat rank 0 runs one partition
    /// while the other ranks sleep in a barrier, then all run their partitions together.
    func runMPI(json: Bool) throws {
        guard MPIWorld.launched != nil else {
            throw CLIError("--mpi: this process was not started by mpirun (OMPI_COMM_WORLD_SIZE is not set); run `mpirun -np 2 sluice bench emulator --mpi` (as root add --allow-run-as-root), or measure threads: `sluice bench emulator --threads 2`")
        }
        let world: MPIWorld
        do { world = try MPIWorld.start() } catch { throw CLIError("\(error)") }
        let spec: TopologySpec, cut: Partitioning
        do {
            spec = try load()
            cut = try Partitioning.automatic(spec, count: world.size)
        } catch { world.fail("\(error)") }
        var options = EmulatorOptions()
        options.engine = engine
        var oneWalls: [Double] = [], walls: [Double] = []
        var one: RunReport? = nil, many: RunReport? = nil
        var last: ParallelEmulation? = nil
        for i in 0..<repeats {
            world.barrier()
            if world.rank == 0 {
                do { one = try onePartition(spec, options, run: i, json: json, walls: &oneWalls) } catch {
                    world.fail("the one-partition run: \(error)")
                }
            }
            // Build the partitions once the one-partition run is over, and start them together.
            world.barrier()
            let p: ParallelEmulation
            do { p = try ParallelEmulation(spec, options: options, programs: programSource, partitioning: cut, world: world) } catch {
                world.fail("building partition \(world.rank): \(error)")
            }
            world.barrier()
            let pst = p.run()
            walls.append(pst.wallSeconds)
            if world.rank == 0 { many = p.report(pst) }
            last = p
        }
        if world.rank == 0 {
            if !json { progressLine("") }
            do { try report(spec, cut, one: one!, oneWalls: oneWalls, many: many!, walls: walls, last: last!, ranks: world.size, json: json) } catch {
                world.fail("\(error)")
            }
        }
        world.finish()
    }

    func report(_ spec: TopologySpec, _ cut: Partitioning, one: RunReport, oneWalls: [Double], many: RunReport, walls: [Double],
                last p: ParallelEmulation, ranks: Int?, json: Bool) throws {
        let oneWall = oneWalls.sorted()[oneWalls.count / 2], wall = walls.sorted()[walls.count / 2]
        let hops = one.packetHops
        let r = Result(topology: spec.name, engine: one.engine, threads: ranks == nil ? threads : nil, ranks: ranks,
                       hops_per_s: Double(many.packetHops) / wall,
                       one_partition_hops_per_s: Double(hops) / oneWall, speedup: oneWall / wall,
                       identical: try Self.network(one) == Self.network(many), wall_s: wall, one_partition_wall_s: oneWall,
                       packet_hops: hops, windows: p.windows, crossings: p.crossings,
                       crossing_share: hops > 0 ? Double(p.crossings) / Double(hops) : 0,
                       crossing_bytes_per_packet: p.crossings > 0 ? Double(p.crossingBytes) / Double(p.crossings) : 0,
                       cut_links: cut.cutLinks.count,
                       lookahead_ps: cut.lookahead, wait_share: p.waitShares,
                       model_critical_path_s: p.criticalPathSeconds,
                       model_speedup: p.criticalPathSeconds > 0 ? oneWall / p.criticalPathSeconds : 0)
        if json {
            print(try ReportJSON.string(r))
        } else {
            let what = ranks.map { "\($0) MPI ranks" } ?? "\(threads) threads"
            print("\(spec.name) (\(r.engine) engine): \(what) \(String(format: "%.2f", r.hops_per_s / 1e6)) M hops/s, one partition \(String(format: "%.2f", r.one_partition_hops_per_s / 1e6)) M hops/s: \(String(format: "%.2fx", r.speedup)); identical: \(r.identical)")
            print("waiting at window ends: " + r.wait_share.map { String(format: "%.0f%%", $0 * 100) }.joined(separator: ", ") + " of the wall time per partition")
            print("\(r.windows) windows, \(r.crossings) of \(hops) hops crossed a cut (\(String(format: "%.1f", r.crossing_share * 100))%, \(Int(r.crossing_bytes_per_packet.rounded())) frame bytes each), \(r.cut_links) links cut, lookahead \(r.lookahead_ps) ps")
        }
        fflush(stdout)
    }
}
