import ArgumentParser
import Foundation
import SluiceEmulator
import SluiceReports
import SluiceRuntime

/// `sluice bench emulator`: the leaf-spine UDP scenario of the emulator issue, 16 and 64 hosts,
/// against ns-3 on the same scenario (run in the same command with --ns3, or its recorded
/// figure from the reference run otherwise).
struct EmulatorBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "emulator",
        abstract: "Packet-hops per second of the emulator on the leaf-spine UDP scenario, vs ns-3.",
        discussion: """
            Runs Topologies/leafspine-16.yaml (2 spines, 4 leaves, 16 hosts; host i sends 10 MB of \
            UDP in 4000-byte datagrams at 45 Gb/s to host (i + 8) mod 16) and leafspine-64.yaml (4 \
            spines, 8 leaves, 64 hosts, host i to (i + 32) mod 64) to completion, --repeat times each, \
            and reports the median wall time (setup excluded: parsing, compiling programs and routing) \
            and the first run's (first_wall_s: later runs reuse the packet memory of earlier ones, \
            as an experiment's runs do, where the first pays the kernel's page faults). \
            With --ns3 SCRIPT (../shared/benchmarks/ns3-leafspine/run.sh, which installs Debian's \
            libns3-dev), ns-3.37 runs the same scenarios in the same command and the ratio is \
            against that; otherwise against ns-3's figures recorded on an Intel Xeon host \
            (108,561 and 75,221 packet-hops/s; ns-3 runs 1.8x faster on an AMD EPYC one, so \
            measure it where you compare). Build with -c release. \
            --threads N instead runs leafspine-64 on one partition and on N threads (sluice emulate \
            --threads) and reports the speedup and whether the results are identical; --mpi does \
            the same with one partition an MPI rank, under mpirun -np N (sluice emulate --mpi), rank 0 \
            running the one-partition baseline while the others sleep:
              mpirun -np 2 .build/release/sluice bench emulator --mpi --json
            """)

    @Option(help: "The topology folder.")
    var topologies: String = "Topologies"

    @Option(help: "Runs per scenario (the median is reported).")
    var `repeat`: Int = 3

    @Option(help: "ns-3's run.sh, to measure ns-3 on the same scenarios in this command.")
    var ns3: String?

    @Option(help: "What runs the switches' pipelines: native or closures (default: SLUICE_ENGINE, else native).")
    var engine: PipelineEngine?

    @Flag(help: "Print one JSON object.")
    var json = false

    @Option(help: "Run leafspine-64 on this many threads against one partition, in this command (keys threads, hops_per_s, one_partition_hops_per_s, speedup, identical).")
    var threads: Int = 1

    @Flag(help: "Under mpirun -np N: run leafspine-64 on N MPI ranks against one partition, in this command (keys ranks, hops_per_s, one_partition_hops_per_s, speedup, identical).")
    var mpi = false

    func validate() throws {
        if mpi && threads > 1 { throw ValidationError("--mpi and --threads \(threads): measure ranks (--mpi, under mpirun -np N) or threads (--threads N); drop one") }
        guard (1...50).contains(`repeat`) else { throw ValidationError("--repeat must be within 1...50 (got \(`repeat`))") }
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be within 1...256 (got \(threads))") }
    }

    struct Result: Encodable {
        var topology: String
        var engine: String
        var wall_s: Double
        var min_wall_s: Double
        var first_wall_s: Double
        var packets_delivered: UInt64
        var packet_hops: UInt64
        var hops_per_s: Double
        var events: UInt64
        var events_per_s: Double
        var simulated_us: Double
        var peak_rss_mb: Double
        var ns3_hops_per_s: Double
        var ns3_source: String
        var speedup_vs_ns3: Double
    }

    func run() throws {
        if mpi { return try EmulatorParallelBench(topologies: topologies, threads: 0, repeats: `repeat`, engine: engine ?? .default).runMPI(json: json) }
        if threads > 1 { return try EmulatorParallelBench(topologies: topologies, threads: threads, repeats: `repeat`, engine: engine ?? .default).run(json: json) }
        var results: [Result] = []
        let ns3Measured = try ns3.map { try runNS3($0) } ?? [:]
        for (file, variant, recorded) in [("leafspine-16.yaml", "small-45g", 108_561.0), ("leafspine-64.yaml", "large-45g", 75_221.0)] {
            let path = (topologies as NSString).appendingPathComponent(file)
            let spec: TopologySpec
            do { spec = try TopologyFile.load(path: path, programs: programSource) } catch { throw CLIError("\(error) (run from the repository root, or give --topologies)") }
            var walls: [Double] = []
            var last: (Emulator, RunStats)? = nil
            for i in 0..<`repeat` {
                if !json { FileHandle.standardError.write("\r\(spec.name): run \(i + 1)/\(`repeat`)\u{1B}[K".data(using: .utf8)!) }
                var options = EmulatorOptions()
                options.engine = engine ?? .default
                last = nil  // its packet memory goes to this run (`SparePackets`)
                let emu = try Emulator(spec, options: options, programs: programSource)
                let st = emu.run()
                walls.append(st.wallSeconds)
                last = (emu, st)
            }
            if !json { progressLine("") }
            let (emu, st) = last!
            let median = walls.sorted()[walls.count / 2]
            let ns = ns3Measured[variant]
            let nsHops = ns ?? recorded
            let hops = Double(emu.packetHops) / median
            let (ran, notes) = emu.engineSummary
            for n in notes where !json { stderr("native engine not used: \(n)") }
            results.append(Result(topology: spec.name, engine: ran, wall_s: median, min_wall_s: walls.min()!, first_wall_s: walls[0], packets_delivered: emu.packetsDelivered,
                                  packet_hops: emu.packetHops, hops_per_s: hops, events: st.events,
                                  events_per_s: Double(st.events) / median, simulated_us: Double(emu.now) / 1e6,
                                  peak_rss_mb: RunReport.peakRSSMegabytes(), ns3_hops_per_s: nsHops,
                                  ns3_source: ns == nil ? "recorded (shared/benchmarks/ns3-leafspine/RESULTS.md)" : "measured in this run",
                                  speedup_vs_ns3: hops / nsHops))
        }
        if json {
            struct Out: Encodable {
                var topology: String; var engine: String; var wall_s: Double; var min_wall_s: Double; var first_wall_s: Double; var packets_delivered: UInt64; var packet_hops: UInt64
                var hops_per_s: Double; var events: UInt64; var events_per_s: Double; var simulated_us: Double; var peak_rss_mb: Double
                var ns3_hops_per_s: Double; var ns3_source: String; var speedup_vs_ns3: Double; var large: Result
            }
            let s = results[0]
            print(try ReportJSON.string(Out(topology: s.topology, engine: s.engine, wall_s: s.wall_s, min_wall_s: s.min_wall_s, first_wall_s: s.first_wall_s, packets_delivered: s.packets_delivered,
                                            packet_hops: s.packet_hops, hops_per_s: s.hops_per_s, events: s.events, events_per_s: s.events_per_s,
                                            simulated_us: s.simulated_us, peak_rss_mb: s.peak_rss_mb, ns3_hops_per_s: s.ns3_hops_per_s,
                                            ns3_source: s.ns3_source, speedup_vs_ns3: s.speedup_vs_ns3, large: results[1])))
        } else {
            var t = TextTable(header: ["topology", "engine", "wall (median)", "first run", "packet-hops", "M hops/s", "M events/s", "delivered", "peak RSS", "ns-3 hops/s", "speedup"])
            for r in results {
                t.append([r.topology, r.engine, String(format: "%.4f s", r.wall_s), String(format: "%.4f s", r.first_wall_s), "\(r.packet_hops)", String(format: "%.2f", r.hops_per_s / 1e6),
                          String(format: "%.2f", r.events_per_s / 1e6), "\(r.packets_delivered)", String(format: "%.0f MiB", r.peak_rss_mb),
                          String(format: "%.0f", r.ns3_hops_per_s), String(format: "%.1fx", r.speedup_vs_ns3)])
            }
            print(t.render(), terminator: "")
            print("ns-3 figures: \(results[0].ns3_source)")
        }
    }

    /// Run ns-3's script on the two 45 Gb/s variants and return packet-hops per second (median).
    func runNS3(_ script: String) throws -> [String: Double] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [script, "small-45g", "large-45g"]
        var env = ProcessInfo.processInfo.environment
        env["REPS"] = "\(`repeat`)"
        env["WAIT_IDLE_S"] = env["WAIT_IDLE_S"] ?? "0"
        p.environment = env
        let pipe = Pipe()
        p.standardOutput = pipe
        do { try p.run() } catch { throw CLIError("--ns3: cannot run '\(script)': \(error.localizedDescription)") }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw CLIError("--ns3: '\(script)' exited with status \(p.terminationStatus)") }
        var hops: [String: [Double]] = [:]
        // Lines like: "small-45g  run 1: run_wall_s=1.47 ... received=40000/40000 ..."
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let words = line.split(separator: " ")
            guard words.count > 3, words[1] == "run",
                  let wall = words.first(where: { $0.hasPrefix("run_wall_s=") }).flatMap({ Double($0.dropFirst(11)) }),
                  let rcv = words.first(where: { $0.hasPrefix("received=") }).flatMap({ Double($0.dropFirst(9).split(separator: "/")[0]) }),
                  wall > 0 else { continue }
            hops[String(words[0]), default: []].append(rcv * 4 / wall)
        }
        guard !hops.isEmpty else { throw CLIError("--ns3: no results in the output of '\(script)'") }
        return hops.mapValues { $0.sorted()[$0.count / 2] }
    }
}
