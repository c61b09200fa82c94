import ArgumentParser
import Foundation
import SluiceEmulator
import SluiceReports
import SluiceML
import SluiceRuntime

struct Emulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a topology of switches and hosts in virtual time.",
        discussion: """
            TOPOLOGY is a YAML file (see Topologies/ and the README's "Topology files"): switches \
            running Sluice programs, hosts, links with rate, delay, loss, MTU and queues, traffic, and \
            events: links and switches that fail and come back, rates and loss that change, entries \
            that arrive during the run (with `routing: {recompute: true, detection: 1ms}` the routing \
            controller moves routes around a failure). Runs until no events remain, or until --until (or the file's `until`). Prints a summary \
            table; --report writes a folder with index.html (plots), report.json and CSVs; --pcap-dir \
            writes a pcap per link (links marked `capture`, or all links when none is marked), with \
            nanosecond timestamps, for Wireshark or tshark. Examples:
              sluice emulate Topologies/leafspine-16.yaml --report out/ls16
              sluice emulate Topologies/dumbbell.yaml --until 20ms --pcap-dir pcaps --seed 7
              sluice emulate Topologies/failover.yaml --json
            --trace SWITCH prints a pipeline trace of every packet that switch handles (its parser, \
            tables, actions, traffic manager and queue); repeat it for more switches, and narrow it \
            with --trace-filter:
              sluice emulate T.yaml --trace s1 --trace-filter 'ipv4.dst == 10.0.2.2' --until 1ms
            --host-trace FILE writes every frame the hosts send into one pcap; --host-trace-dir DIR \
            a pcap per host (the frames it sends and receives).
            --threads N cuts the topology into N partitions (the file's `partition:` per node, else \
            by rack or pod) and runs them on N threads, with the result of one: the same report and \
            byte-identical pcaps, jobs, --report, --trace and host traces (a topology's events not yet):
              sluice emulate Topologies/fattree-k4.yaml --threads 2 --json
            --mpi runs one partition a process instead, each an MPI rank under Open MPI's mpirun \
            (libmpi.so.40 is loaded only then), with the same result, jobs included: rank 0 prints it, \
            the progress line and --trace, and writes --report, the pcaps and the host trace (each rank \
            its own hosts' --host-trace-dir files):
              mpirun -np 2 sluice emulate Topologies/fattree-k4.yaml --mpi --json
            """)

    @Argument(help: "The topology file (YAML).")
    var topology: String

    @Option(help: "Seed for loss, ECN marking, programs' random and traffic patterns (printed; default 1).")
    var seed: UInt64 = 1

    @Option(help: "Stop at this simulated time (e.g. 10ms, 500us).")
    var until: OptionValue<SimulatedTime>?

    @Option(help: "Write pcaps (one pcapng per captured link, each frame's direction in its flags) into this folder.")
    var pcapDir: String?

    @Option(help: "With --pcap-dir: cut captured frames to this many bytes, keeping their original length (e.g. 128 for headers only; default 65535). A link's `capture: N` in the topology sets its own.")
    var snaplen: Int?

    @Option(help: "Write a report folder (index.html, report.json, CSVs, SVG plots) here.")
    var report: String?

    @Option(help: "Write every frame the hosts send into this one pcap, in time order (stamped when its transmission starts).")
    var hostTrace: String?

    @Option(help: "Write one pcap per host (NAME.pcap: the frames it sends and receives) into this folder.")
    var hostTraceDir: String?

    @Option(help: "Sampling interval of the queue-depth and utilization time series (default: 1us with --report).")
    var sampleInterval: OptionValue<SampleInterval>?

    @Flag(help: "Print the routes and ECMP groups the routing controller installed.")
    var showRoutes = false

    @Flag(help: "Print one JSON object (the report) instead of the summary table.")
    var json = false

    @Option(help: "What runs the switches' programs: native (C through clang) or closures; default $SLUICE_ENGINE, else native. The summary says which ran.")
    var engine: PipelineEngine?

    @Option(name: .customLong("trace"), help: "Trace every packet this switch handles (repeatable; or s1,s2).")
    var traceSwitches: [String] = []

    @Option(help: "Run on this many threads, one partition each (default 1).")
    var threads: Int = 1

    @Flag(help: "Run one partition in each MPI rank, under mpirun -np N (Open MPI): the --threads N result by messages between processes.")
    var mpi = false

    @Option(help: "The trace as text (indented, one line an event) or json (one JSON object a line).")
    var traceFormat: PipelineTracer.Format = .text

    @Option(help: "Trace only packets this filter accepts, e.g. 'ipv4.dst == 10.0.2.2 && ingress_port == 1' (see `sluice run --help`).")
    var traceFilter: String?

    func validate() throws {
        _ = try until?.value("--until")
        _ = try sampleInterval?.value("--sample-interval")
        if let n = snaplen {
            guard pcapDir != nil else { throw ValidationError("--snaplen \(n) cuts the frames of --pcap-dir's captures: add --pcap-dir DIR") }
            guard (14...262_144).contains(n) else { throw ValidationError("--snaplen \(n): valid from 14 (an Ethernet header) to 262144 bytes") }
        }
        if traceSwitches.isEmpty && (traceFilter != nil || traceFormat != .text) {
            throw ValidationError("--trace-filter and --trace-format need --trace SWITCH (the switches to trace)")
        }
        _ = try filter()
        guard (1...256).contains(threads) else { throw ValidationError("--threads must be within 1...256 (got \(threads))") }
        if mpi && threads > 1 {
            throw ValidationError("--mpi and --threads \(threads): a run has one rank a partition (--mpi, under mpirun -np N) or one thread a partition (--threads N); drop one")
        }
    }

    func filter() throws -> TraceFilter? {
        guard let traceFilter else { return nil }
        do { return try TraceFilter(traceFilter) } catch { throw ValidationError("--trace-filter: \(error)") }
    }

    func run() throws {
        var trace: PipelineTraceRequest? = nil
        if !traceSwitches.isEmpty {
            let names = traceSwitches.flatMap { $0.split(separator: ",").map(String.init) }
            // With --json the report owns standard output: the trace goes to standard error.
            let sink: @Sendable (String) -> Void = traceSink(toStandardError: json)
            trace = PipelineTraceRequest(switches: names, format: traceFormat, filter: try filter(), sink: sink)
        }
        var settings = EmulationSettings(topology: topology, seed: seed, until: until?.parsed, pcapDir: pcapDir, snaplen: snaplen, report: report,
                                         sampleInterval: sampleInterval?.parsed, showRoutes: showRoutes, json: json,
                                         pipelineTrace: trace, engine: engine ?? .default)
        settings.hostTrace = hostTrace
        settings.hostTraceDir = hostTraceDir
        if mpi {
            try runMPIEmulation(settings)
        } else if threads > 1 {
            try runParallelEmulation(settings, threads: threads)
        } else {
            try runEmulation(settings)
        }
    }
}

/// What `sluice emulate` (and `sluice replay --topology`) run with.
struct EmulationSettings {
    var topology: String
    var seed: UInt64
    /// Simulated picoseconds.
    var until: Int64?
    var pcapDir: String?
    /// Bytes kept of each captured frame; nil: all (65535).
    var snaplen: Int? = nil
    var report: String?
    /// Simulated picoseconds.
    var sampleInterval: Int64?
    var showRoutes = false
    var json = false
    /// Switches to trace (`--trace`); nil: none.
    var pipelineTrace: PipelineTraceRequest? = nil
    var engine: PipelineEngine = .default
    /// `--host-trace` (one pcap of every frame the hosts send) and `--host-trace-dir` (a pcap per host).
    var hostTrace: String? = nil
    var hostTraceDir: String? = nil
}

/// Load a topology, build the emulator, let `prepare` add to it (traces), run, print the
/// summary (or JSON) and write the report and pcaps asked for.
func runEmulation(_ s: EmulationSettings, prepare: (Emulator) throws -> Void = { _ in }) throws {
    let spec: TopologySpec
    do { spec = try TopologyFile.load(path: s.topology, seed: s.seed, programs: programSource) } catch { throw CLIError(error.description) }
    var options = EmulatorOptions()
    options.seed = s.seed
    options.progress = !s.json && s.pipelineTrace == nil
    options.pipelineTrace = s.pipelineTrace
    options.engine = s.engine
    if let dir = s.pcapDir { try makeDirectory(dir, "--pcap-dir"); options.pcapDirectory = dir }
    if let n = s.snaplen { options.pcapSnaplen = n }
    if let dir = s.report { try prepareReportFolder(dir) }
    if let interval = s.sampleInterval {
        options.sampleInterval = interval
    } else if s.report != nil {
        options.sampleInterval = 1_000_000
    }
    try prepareHostTraces(s)
    options.hostTrace = s.hostTrace
    options.hostTraceDirectory = s.hostTraceDir
    let emu: Emulator
    do { emu = try Emulator(spec, options: options, programs: programSource) } catch { throw CLIError("\(s.topology): \(error)") }
    try prepare(emu)
    let jobs: [WorkloadRun]
    do { jobs = try Jobs.attach(spec.jobs, to: emu, seed: s.seed) } catch { throw CLIError("\(error)") }
    if !s.json {
        let jobText = jobSummary(spec, jobs)
        print("\(spec.name): \(spec.hosts.count) hosts, \(spec.switches.count) switches, \(spec.links.count) links, \(spec.flows.count) flows\(jobText); seed \(s.seed) (rerun with --seed \(s.seed))")
        fflush(stdout)   // before the progress line on standard error
    }
    if s.showRoutes, let r = emu.routing { print(r.textReport()) }
    let stats = emu.run(until: s.until)
    let r = RunReport(emu, stats: stats)
    for e in emu.pcapErrors { FileHandle.standardError.write("warning: pcap incomplete: \(e)\n".data(using: .utf8)!) }
    warnHostTraceErrors(emu.hostTraceFiles)
    for e in r.networkEvents where e.failed {
        FileHandle.standardError.write("warning: \(e.origin.isEmpty ? "" : e.origin + ": ")\(e.what) at \(formatTime(picoseconds: e.time)) failed: \(e.result)\n".data(using: .utf8)!)
    }
    let results = jobs.map(\.result)
    if s.json {
        try printJSON(EmulationJSON(report: r, jobs: zip(spec.jobs, results).map { .init(workload: $0.workload, result: $1) }))
    } else {
        print(r.summaryText(), terminator: "")
        for (job, result) in zip(spec.jobs, results) { print(result.summaryText(workload: job.workload), terminator: "") }
    }
    if let dir = s.report {
        let index = try emu.writeReport(r, to: dir)
        if !s.json { print("report: \(index)") }
        if !jobs.isEmpty {
            let files = try Jobs.writeReport(results, workloads: spec.jobs.map(\.workload), to: dir)
            if !s.json { print("jobs: " + files.map { ($0 as NSString).lastPathComponent }.joined(separator: ", ")) }
        }
    }
    if let dir = s.pcapDir, !s.json { print("pcaps: \(dir)/ (open with wireshark or tshark -r)") }
    printHostTraces(s)
}

/// The folders `--host-trace` and `--host-trace-dir` write into, made with their parents.
func prepareHostTraces(_ s: EmulationSettings) throws {
    if let f = s.hostTrace, case let dir = (f as NSString).deletingLastPathComponent, !dir.isEmpty { try makeDirectory(dir, "--host-trace") }
    if let dir = s.hostTraceDir { try makeDirectory(dir, "--host-trace-dir") }
}

func warnHostTraceErrors(_ files: [(path: String, packets: Int, bytes: Int, error: String?)]) {
    for f in files { if let e = f.error { FileHandle.standardError.write("warning: host trace incomplete: \(f.path): \(e)\n".data(using: .utf8)!) } }
}

func printHostTraces(_ s: EmulationSettings) {
    guard !s.json else { return }
    if let f = s.hostTrace { print("host trace: \(f)") }
    if let dir = s.hostTraceDir { print("host traces: \(dir)/ (a pcap per host)") }
}

/// ", 2 jobs (train: ddp, 8 ranks, 112 messages; ...)" for the first line, or "" without jobs.
func jobSummary(_ spec: TopologySpec, _ jobs: [WorkloadRun]) -> String {
    spec.jobs.isEmpty ? "" : ", \(spec.jobs.count) job\(spec.jobs.count == 1 ? "" : "s") (" + zip(spec.jobs, jobs).map { "\($0.name): \($0.workload), \($1.graph.ranks) ranks, \($1.graph.sends) messages" }.joined(separator: "; ") + ")"
}

/// `--json` of `sluice emulate`: the report's object, with one more key when the topology has
/// jobs: each job's workload and result (iterations, collectives and flows).
struct EmulationJSON: Encodable {
    struct Job: Encodable { var workload: String; var result: WorkloadResult }
    var report: RunReport
    var jobs: [Job]

    enum Key: String, CodingKey { case jobs }

    func encode(to encoder: Encoder) throws {
        try report.encode(to: encoder)
        guard !jobs.isEmpty else { return }
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(jobs, forKey: .jobs)
    }
}
