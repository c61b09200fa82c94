import ArgumentParser
import Foundation
import SluiceControlPlane
import SluiceEmulator
import SluiceML
import SluicePcap
import SluicePcapFiles
import SluiceReports
import SluiceSupport

struct TrafficCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "traffic",
        abstract: "Generate synthetic ML training traffic by running a workload in the emulator, as pcap.",
        discussion: """
            Runs WORKLOAD (key=value parameters; `sluice traffic --list` shows every family with its \
            parameters and defaults) on a topology in the emulator and writes what the hosts put on the \
            wire: -w FILE.pcap gets every frame any host sends (nanosecond stamps, time order), \
            --pcap-dir DIR one pcap per host (what it sends and receives). Timing comes from the \
            network: queues, pacing, retransmissions. Without --topology, a 1:1 leaf-spine of --hosts \
            hosts at --rate (a star on a switchml switch for algorithm=in-network); --program runs \
            another program on its switches (a program file is routed as the program it replaces, \
            ecmp-router or switchml, and must have that program's tables). Examples:
              sluice traffic ddp model=100MB iterations=2 -w ddp.pcap
              sluice traffic moe skew=1.2 --hosts 8 --pcap-dir moe/
              sluice traffic simai file=workload.txt --hosts 8 -w simai.pcap
              sluice traffic ddp model=10MB --program my-router.json -w ddp.pcap
              sluice traffic background distribution=websearch load=0.5 --topology Topologies/leafspine-16.yaml -w bg.pcap
            Open the trace with `tshark -r FILE` or Wireshark (RoCEv2 decodes as InfiniBand), \
            replay it with `sluice replay FILE --program P` or `--topology T --at NODE:PORT`.
            """)

    @Argument(help: "The workload family (ddp, fsdp, pipeline, tp, moe, ps, 3d, permutation, incast, alltoall, background, simai).")
    var workload: String?

    @Argument(help: "Parameters as key=value (e.g. model=100MB iterations=2 algorithm=tree).")
    var parameters: [String] = []

    @Option(name: [.customShort("w"), .long], help: "Write every frame the hosts send to this pcap.")
    var write: String?

    @Option(name: .customLong("pcap-dir"), help: "Write one pcap per host (NAME.pcap) into this folder.")
    var perHost: String?

    /// The old spelling of --pcap-dir, refused with the new one.
    @Option(name: .customLong("per-host"), help: .hidden)
    var oldPerHost: String?

    @Option(help: "Run on this topology file (its hosts in node order are the ranks, or --hosts N of them).")
    var topology: String?

    @Option(help: "Without --topology: the program of the generated topology's switches, a name or a program file (default ecmp-router; switchml for algorithm=in-network).")
    var program: String?

    @Option(help: "Ranks (hosts); default: 16 (2 ... 1024), or every host of --topology.")
    var hosts: Int?

    @Option(help: "Link rate of the generated topology.")
    var rate: OptionValue<BitRate> = "100Gbps"

    @Option(help: "IP MTU of the generated topology's links, 576 ... 9000 (RoCE uses 4096).")
    var mtu: Int = 4096

    @Option(help: "Packet shape: rocev2 (UDP 4791, InfiniBand BTH) or udp (port 7471, compact header).")
    var shape: OptionValue<Choice<TransportShape>> = "rocev2"

    @Option(help: "Seed for the workload's and the network's randomness (printed; default 1).")
    var seed: UInt64 = 1

    @Option(help: "Stop at this simulated time (e.g. 50ms).")
    var until: OptionValue<SimulatedTime>?

    @Flag(help: "List the workload families with their parameters and defaults.")
    var list = false

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        if oldPerHost != nil { throw ValidationError(renamed("--per-host", "--pcap-dir")) }
        if let h = hosts {
            if topology == nil { try requireWithin(2...1024, h, option: "--hosts", valid: "2 ... 1024 hosts (the generated topology)") }
            else { try requireWithin(1...Int.max, h, option: "--hosts", valid: "1 ... the topology's hosts") }
        }
        try requireWithin(576...9000, mtu, option: "--mtu", valid: "576 ... 9000 bytes")
        _ = try rate.value("--rate")
        _ = try shape.value("--shape")
        _ = try until?.value("--until")
        if program != nil && topology != nil {
            throw ValidationError("--program is for the generated topology; a topology file names its switches' programs")
        }
    }

    func run() throws {
        if list || workload == nil {
            print(Self.listing())
            if workload == nil && !list { throw ValidationError("give a WORKLOAD (listed above)") }
            return
        }
        guard write != nil || perHost != nil else {
            throw ValidationError("nothing to write: give -w FILE.pcap and/or --pcap-dir DIR")
        }
        let r = try Self.generate(TrafficSettings(workload: workload!, parameters: parameters, write: write, perHost: perHost,
                                                  topology: topology, program: program, hosts: hosts, rate: rate, mtu: mtu, shape: shape,
                                                  seed: seed, until: until?.parsed, json: json))
        if json { try printJSON(r) }
    }

    /// The generated topology's `switch:` defaults: `program` (the default one unless given) and
    /// how the routing controller routes it. A program file is routed as the default program is
    /// (its tables are checked when the topology is read); a named program must route itself.
    static func switchProgram(_ program: String?, replacing standard: String) throws -> String {
        guard let program else { return "{program: \(standard)}" }
        if ProgramResolver.isFile(program) {
            guard !program.contains("}"), !program.contains(",") else {
                throw ValidationError("--program '\(program)': a program file's path may not hold ',' or '}' here (rename the file)")
            }
            return "{program: \(program), routing: \(standard)}"
        }
        guard let named = programSource.program(named: program) else { throw ValidationError(programSource.unknown(program)) }
        guard named.routes != nil else {
            throw ValidationError("--program \(program): the generated topology is routed by the routing controller, which fills only \(programSource.routedNames.joined(separator: ", ")) (give --topology with entries files to run \(program))")
        }
        if standard == "switchml" && program != standard {
            throw ValidationError("--program \(program): algorithm=in-network aggregates on the switch, which needs switchml or a program file with its tables")
        }
        return "{program: \(program)}"
    }

    static func listing() -> String {
        var s = "Workload families (sluice traffic WORKLOAD key=value ...; the same keys in a topology file's jobs):\n"
        for f in WorkloadCatalog.families {
            s += "\n\(f.name): \(f.summary)\n"
            for p in WorkloadCatalog.parameters(f.name) {
                s += "    \(p.name)=\(p.fallback.isEmpty ? "(required)" : p.fallback)  \(p.help)\n"
            }
        }
        return s
    }

    /// What a run wrote and took: the --json object.
    struct Summary: Encodable {
        var workload: String
        var hosts: Int
        var shape: String
        var seed: UInt64
        var simulated_s: Double
        var wall_s: Double
        var bytes_written: Int
        var frames: Int
        var result: WorkloadResult
    }

    /// Build the topology and the job, run it with host traces on, print the summary.
    static func generate(_ s: TrafficSettings) throws -> Summary {
        let shape = s.shape.parsed
        let arguments: WorkloadArguments
        do { arguments = try WorkloadArguments.parse(s.parameters) } catch { throw ValidationError("\(error)") }
        do { _ = try WorkloadCatalog.family(s.workload) } catch { throw ValidationError("\(error)") }
        let inNetwork = arguments.values.contains { $0.key == "algorithm" && $0.text == AllReduceAlgorithm.inNetwork.rawValue }

        var spec: TopologySpec
        var aggregator: String? = nil
        if let path = s.topology {
            do { spec = try TopologyFile.load(path: path, seed: s.seed, programs: programSource) } catch { throw ValidationError(error.description) }
            if inNetwork { aggregator = spec.switches.first { spec.nodes[$0].switchSpec?.isLike("switchml") == true }.map { spec.nodes[$0].name } }
        } else {
            // `TrafficCommand.validate()` checked --hosts (2 ... 1024), --mtu and --rate.
            let n = s.hosts ?? 16
            let switchProgram = try Self.switchProgram(s.program, replacing: inNetwork ? "switchml" : "ecmp-router")
            let yaml: String
            if inNetwork {
                guard n <= 32 else { throw ValidationError("--hosts \(n): in-network aggregation takes at most 32 workers per job") }
                yaml = """
                    name: traffic-star
                    topology:
                      generator: {star: {hosts: \(n)}}
                      defaults:
                        link: {rate: \(s.rate.text), delay: 1us, mtu: \(s.mtu), queue: {limit: 4MB}}
                        switch: \(switchProgram)
                    """
                aggregator = "sw"
            } else {
                let leaves = max(2, (n + 7) / 8), perLeaf = (n + leaves - 1) / leaves
                yaml = """
                    name: traffic-leafspine
                    topology:
                      generator: {leaf-spine: {spines: \(perLeaf), leaves: \(leaves), hosts-per-leaf: \(perLeaf)}}
                      defaults:
                        link: {rate: \(s.rate.text), delay: 1us, mtu: \(s.mtu), queue: {limit: 4MB, ecn: {kmin: 100KB, kmax: 400KB, pmax: 0.2}}}
                        switch: \(switchProgram)
                    """
            }
            do { spec = try TopologyFile.parse(yaml, file: "(generated topology)", baseDirectory: ".", seed: s.seed, programs: programSource) } catch {
                throw ValidationError(s.program.map { "--program \($0): \(error)" } ?? "generated topology: \(error)")
            }
        }
        let allHosts = spec.hosts.map { spec.nodes[$0].name }
        let count = s.hosts ?? (s.topology == nil ? 16 : allHosts.count)
        guard count >= 1, count <= allHosts.count else {
            throw ValidationError("--hosts \(count): the topology has \(allHosts.count) hosts (valid: 1 ... \(allHosts.count))")
        }
        spec.flows = []
        spec.jobs = [JobSpec(name: s.workload, workload: s.workload, hosts: Array(allHosts.prefix(count)), aggregator: aggregator,
                             parameters: arguments.values.map { .init(key: $0.key, text: $0.text, origin: $0.origin) },
                             origin: "sluice traffic", baseDirectory: FileManager.default.currentDirectoryPath)]
        if inNetwork && aggregator == nil {
            throw ValidationError("algorithm=in-network: \(s.topology ?? "the topology") has no switch running switchml")
        }

        var options = EmulatorOptions()
        options.seed = s.seed
        options.transport = shape
        options.progress = !s.json
        options.hostTrace = s.write
        if let dir = s.perHost {
            try makeDirectory(dir, "--pcap-dir")
            options.hostTraceDirectory = dir
        }
        let emu: Emulator
        do { emu = try Emulator(spec, options: options, programs: programSource) } catch { throw ValidationError("\(error)") }
        let runs: [WorkloadRun]
        do { runs = try Jobs.attach(spec.jobs, to: emu, seed: s.seed) } catch { throw ValidationError("\(error)") }
        if !s.json {
            print("\(s.workload) on \(count) hosts of \(spec.name) (\(spec.switches.count) switches), \(shape.rawValue) packets, \(runs[0].graph.sends) messages; seed \(s.seed) (rerun with --seed \(s.seed))")
            fflush(stdout)   // before the progress line on standard error
        }
        let wallStart = MonotonicClock.nanoseconds
        let stats = emu.run(until: s.until)
        let wall = MonotonicClock.seconds(since: wallStart)
        let result = runs[0].result
        let files = emu.hostTraceFiles
        for f in files { if let e = f.error { throw CLIError("\(f.path): \(e)") } }
        let bytes = files.reduce(0) { $0 + $1.bytes }
        let merged = s.write.flatMap { w in files.first { $0.path == w } }
        if !s.json {
            print(result.summaryText(workload: s.workload), terminator: "")
            if let m = merged {
                print("wrote \(m.path): \(m.packets) frames, \(formatBytes(m.bytes)) over \(formatTime(picoseconds: stats.simulated)) simulated")
            }
            if let dir = s.perHost {
                let shown = dir.hasSuffix("/") ? dir : dir + "/"
                print("wrote \(files.count - (merged == nil ? 0 : 1)) per-host pcaps into \(shown)")
            }
            print(String(format: "wall %.2f s, ", wall) + "\(formatBytes(Int64(Double(bytes) / max(wall / 60, 1e-9)))) of trace per minute")
            if let w = s.write { print("open: tshark -r \(w) | head    replay: sluice replay \(w) --program ipv4-router --entries ROUTES --pcap-dir replay/") }
        }
        return Summary(workload: s.workload, hosts: count, shape: shape.rawValue, seed: s.seed, simulated_s: Double(stats.simulated) / 1e12,
                       wall_s: wall, bytes_written: bytes, frames: merged?.packets ?? 0, result: result)
    }
}

struct TrafficSettings {
    var workload: String
    var parameters: [String]
    var write: String?
    var perHost: String?
    var topology: String?
    /// The generated topology's switch program (nil: ecmp-router, or switchml in-network).
    var program: String? = nil
    var hosts: Int?
    var rate: OptionValue<BitRate> = "100Gbps"
    var mtu = 4096
    var shape: OptionValue<Choice<TransportShape>> = "rocev2"
    var seed: UInt64 = 1
    /// Simulated picoseconds.
    var until: Int64?
    var json = false
}

struct TrafficBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "traffic",
        abstract: "Trace bytes written per minute of wall time for a 16-host data-parallel job (one core).",
        discussion: """
            Runs `sluice traffic ddp` on 16 hosts (1:1 leaf-spine, 100 Gb/s, MTU 4096) writing the \
            merged pcap into a temporary folder, then the same run without traces (the baseline: what \
            writing costs). Prints bytes_written, wall_s, gb_per_min, baseline_wall_s and \
            trace_overhead (wall_s / baseline_wall_s).
            """)

    @Option(help: "Model size of the DDP job.")
    var model: String = "50MB"

    @Option(help: "Iterations of the DDP job (1 ... 100).")
    var iterations: Int = 1

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    func validate() throws {
        try requireWithin(1...100, iterations, option: "--iterations", valid: "1 ... 100 iterations")
    }

    func run() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-bench-traffic-\(getpid())").path
        try makeDirectory(dir, "temporary folder")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let params = ["model=\(model)", "iterations=\(iterations)", "compute=10ms"]
        let traced = try TrafficCommand.generate(TrafficSettings(workload: "ddp", parameters: params, write: "\(dir)/ddp.pcap", hosts: 16, json: true))
        let baseline = try TrafficCommand.generate(TrafficSettings(workload: "ddp", parameters: params, write: nil, hosts: 16, json: true))
        let gbPerMin = Double(traced.bytes_written) / 1e9 / (traced.wall_s / 60)
        if json {
            struct Result: Encodable {
                var workload = "ddp", hosts = 16
                var model: String, iterations: Int, bytes_written: Int
                var wall_s: Rounded, gb_per_min: Rounded, baseline_wall_s: Rounded, trace_overhead: Rounded
            }
            try printJSON(Result(model: model, iterations: iterations, bytes_written: traced.bytes_written, wall_s: Rounded(traced.wall_s),
                                 gb_per_min: Rounded(gbPerMin), baseline_wall_s: Rounded(baseline.wall_s),
                                 trace_overhead: Rounded(traced.wall_s / baseline.wall_s)))
        } else {
            print("ddp, 16 hosts, model \(model), \(iterations) iterations")
            print("  with the trace: \(traced.bytes_written) bytes in \(fmt(traced.wall_s)) s: \(fmt(gbPerMin)) GB/min")
            print("  without (baseline): \(fmt(baseline.wall_s)) s; trace overhead \(fmt(traced.wall_s / baseline.wall_s))x")
        }
    }
}
