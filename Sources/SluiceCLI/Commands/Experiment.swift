import ArgumentParser
import SluiceML
import SluiceTelemetry
import SluiceEmulator
import SluiceReports
import Foundation
import SluiceSupport

struct Experiment: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run an experiment in the emulator: in-network aggregation (ina-e1 ... ina-e6), load balancing (lb, lb-ecmp-collisions) or INT telemetry (int-incast).",
        discussion: """
            Every experiment emulates one switch running `switchml` (or `atp`) with its workers in \
            virtual time, checks every result against a reference sum (int32 bit-exact, float32 \
            within its documented bound), prints a table and, with --report, writes report.json, \
            rows.csv, SVG plots and index.html. With --json, standard output is one JSON array of \
            rows (the table goes to standard error).

            \(Experiments.all.map { "  \($0.name)  \($0.summary)" }.joined(separator: "\n"))
              lb-ecmp-collisions  8 elephants over 8 ECMP uplinks, 200 seeds of queue-pair source ports: busiest uplink and links used vs balls into bins
              lb  every load-balancing scheme (\(LoadBalancingExperiment.schemes.map(\.name).joined(separator: ", "))) on a 100 Gb/s leaf-spine: \
            (a) elephants: a 16-rank ring allreduce alternating between two leaves (8 flows each way over 8 uplinks); \
            (b) degraded / failed: the same with leaf1-spine1 at a quarter rate / removed; \
            (c) ml-background: a data-parallel job beside web-search flows at 30% load. One row per scenario and scheme, \
            means over --seeds runs (default 4), ratio against ECMP; --report adds plots.
              int-incast  \(INTIncast.summary); --json prints one object (reports, lost_reports, hottest_switch, hottest_port, max_occupancy_bytes, matches_queue_trace, ...); --threads 2 runs it in two partitions, with the same result and pcaps, and so does --mpi under mpirun -np 2 (one partition a process):
                mpirun -np 2 sluice experiment int-incast --mpi --json

            Sizes are the published ones; --scale 0.01 runs everything at 1% of the size for a \
            quick look. Run a release build (swift run -c release sluice experiment ...).
            """)

    @Argument(help: "The experiment: \(Experiments.all.map(\.name).joined(separator: ", ")), lb, lb-ecmp-collisions, int-incast.")
    var name: String

    @Option(help: "Write report.json, rows.csv, plots and index.html here.")
    var report: String?

    @Flag(help: "Print the rows as one JSON array on standard output.")
    var json = false

    @Option(help: "Seed of the synthetic tensors, loss and ECN (printed; the same seed gives the same results).")
    var seed: UInt64 = 1

    @Option(help: "Multiply every tensor size by this (0 < scale <= 1).")
    var scale: Double = 1

    @Option(help: "lb-ecmp-collisions and lb: how many seeds (runs per scheme; default 200 and 4).")
    var seeds: Int?

    @Option(help: "lb: the schemes, comma-separated (default: all; ecmp first, the ratios are against it).")
    var schemes: OptionValue<Schemes>?

    @Option(help: "lb: the scenarios, comma-separated (elephants, degraded, failed, ml-background; default: all).")
    var scenarios: OptionValue<Scenarios>?

    @Option(help: "lb: the flowlet timeout of flowlet, conga and hula (25us, 0.2ms; default: the programs' 100us). Shorter moves flows more often and reorders more.")
    var flowletTimeout: OptionValue<FlowletTimeout>?

    @Option(help: "int-incast: write a pcap of every link here (open them with `sluice wireshark-dissector`).")
    var pcapDir: String?

    @Option(help: "int-incast: run the fabric on this many threads, one partition each (1 or 2: each leaf with its hosts; the same result and pcaps as one).")
    var threads: Int = 1

    @Option(help: "ina-e1: rows run at once, each on a thread with its own tensor buffers (800 MB at full size; default: one a core, at most \(defaultRowsAtOnceLimit)). The results are the same for any number.")
    var rowsAtOnce: Int?

    @Flag(help: "int-incast: run one partition in each MPI rank, under mpirun -np 2 (Open MPI): the --threads 2 result by messages between processes; rank 0 prints it and writes --report and --pcap-dir.")
    var mpi = false

    func validate() throws {
        if let n = rowsAtOnce {
            guard name == "ina-e1" else { throw ValidationError("--rows-at-once is for ina-e1 (the other experiments run one row at a time)") }
            guard (1...64).contains(n) else { throw ValidationError("--rows-at-once \(n) (valid: 1 ... 64)") }
        }
        if name == "int-incast" {
            guard (1...2).contains(threads) else { throw ValidationError("--threads \(threads) (valid: 1, or 2: each leaf with its hosts)") }
            if mpi && threads > 1 {
                throw ValidationError("--mpi and --threads \(threads): a run has one rank a partition (--mpi, under mpirun -np 2) or one thread a partition (--threads 2); drop one")
            }
            return
        }
        if pcapDir != nil { throw ValidationError("--pcap-dir is for int-incast") }
        if threads != 1 { throw ValidationError("--threads is for int-incast") }
        if mpi { throw ValidationError("--mpi is for int-incast") }
        if name == "lb-ecmp-collisions" || name == "lb" {
            if let n = seeds, !(1...100_000).contains(n) { throw ValidationError("--seeds \(n) (valid: 1 ... 100000)") }
            guard scale > 0, scale <= 1 else { throw ValidationError("--scale \(scale): must be above 0 and at most 1") }
            if name == "lb" {
                _ = try flowletTimeout?.value("--flowlet-timeout")
                _ = try schemes?.value("--schemes")
                _ = try scenarios?.value("--scenarios")
            }
            return
        }
        guard Experiments.all.contains(where: { $0.name == name }) else { throw ValidationError(Experiments.unknown(name) + ", lb, lb-ecmp-collisions, int-incast") }
        guard scale > 0, scale <= 1 else { throw ValidationError("--scale \(scale): must be above 0 and at most 1") }
    }

    func run() throws {
        if name == "lb-ecmp-collisions" { return try collisions() }
        if name == "lb" { return try loadBalancing() }
        if name == "int-incast" { return try intIncast() }
        keepFreedMemory()
        var s = ExperimentSettings()
        s.seed = seed
        s.scale = scale
        s.progress = true
        s.rowsAtOnce = rowsAtOnce ?? defaultRowsAtOnce()
        let rows = try runExperiment(name, settings: s, json: json, report: report)
        if json { try printJSON(rows) }
    }
}

extension Experiment {
    /// INT against the emulator's own queue trace.
    func intIncast() throws {
        if mpi { return try intIncastMPI() }
        printINTIncastHeader()
        var s = intIncastSettings()
        if let dir = report { try prepareReportFolder(dir) }
        if let dir = pcapDir { try makeDirectory(dir, "--pcap-dir"); s.pcapDirectory = dir }
        s.threads = threads
        let r: INTIncast.Result
        do { r = try INTIncast.run(s, report: report) } catch { throw CLIError("int-incast: \(error)") }
        try printINTIncast(r)
    }

    /// int-incast under `mpirun -np 2 ... --mpi`: each rank runs its partition, the rank that
    /// runs the collector's host hands the collector to rank 0, which prints what one partition
    /// prints and writes --report; the pcaps (each rank its links', rank 0 the cut links') are
    /// staged and moved into --pcap-dir once every rank has written them.
    func intIncastMPI() throws {
        let run = try MPIRun(command: "sluice experiment int-incast --mpi", threads: "sluice experiment int-incast --threads 2")
        try run.once {
            guard run.launched.size == 2 else { throw CLIError("mpirun -np \(run.launched.size) (valid: mpirun -np 2: each leaf with its hosts)") }
        }
        let world = try run.start()
        var s = intIncastSettings()
        let staging = MPIStaging(world)
        if let dir = pcapDir { s.pcapDirectory = staging.staged(dir, "--pcap-dir") }
        if world.rank == 0 {
            if let dir = report { do { try prepareReportFolder(dir) } catch { world.fail("\(error)") } }
            printINTIncastHeader()
        }
        if pcapDir != nil || report != nil { world.barrier() }
        let r: INTIncast.Result?
        do { r = try INTIncast.run(s, report: report, world: world) } catch { world.fail("int-incast: \(error)") }
        // Rank 0 has the result once every rank has written its pcaps (the gather waits for all).
        if let r {
            staging.moveIn()
            do { try printINTIncast(r) } catch { world.fail("\(error)") }
        }
        world.finish()
    }

    func intIncastSettings() -> INTIncast.Settings {
        var s = INTIncast.Settings()
        s.seed = seed
        return s
    }

    func printINTIncastHeader() {
        if !json { print("int-incast: \(INTIncast.summary)\nseed \(seed)") }
    }

    /// What one partition prints: the JSON or the lines, where the report went, a mismatch.
    func printINTIncast(_ r: INTIncast.Result) throws {
        if json { try printJSON(r) } else { print(INTIncast.text(r), terminator: "") }
        fflush(stdout)
        if let dir = report { stderr("report: \(dir)/index.html") }
        if !r.matchesQueueTrace { stderr("WARNING: INT's occupancies do not match the emulator's queue trace (see the table)") }
    }

    /// Balls into bins on the emulator's ECMP.
    func collisions() throws {
        let seeds = self.seeds ?? 200
        if !json { print("lb-ecmp-collisions: 8 flows leaf1 -> leaf2 over 8 spine uplinks, \(seeds) seeds from \(seed) (source ports from the seed; rerun with --seed \(seed))") }
        let r: ECMPCollisions.Result
        do {
            r = try ECMPCollisions.run(seeds: seeds, firstSeed: seed) { k in
                if !json && (k % 20 == 0 || k == seeds) { progressLine("\(k)/\(seeds) seeds") }
            }
        } catch { throw CLIError("\(error)") }
        if !json { progressLine("") }
        if json {
            try printJSON(r)
        } else {
            print(String(format: "busiest uplink: %.3f flows on average (balls into bins: %.3f, %+.1f%%)", r.meanBusiestFlows, r.expectedBusiestFlows,
                         (r.meanBusiestFlows / r.expectedBusiestFlows - 1) * 100))
            print(String(format: "uplinks used:   %.3f of %d on average (balls into bins: %.3f)", r.meanLinksUsed, r.links, r.expectedLinksUsed))
            let hist = (1...r.flows).map { m in (m, r.busiest.filter { $0 == m }.count) }.filter { $0.1 > 0 }
            print("busiest uplink carried: " + hist.map { "\($0.0) flows in \($0.1) runs" }.joined(separator: ", "))
        }
    }
}

extension Experiment {
    /// The lb settings from the options `validate()` checked.
    func lbSettings() -> LoadBalancingExperiment.Settings {
        var s = LoadBalancingExperiment.Settings()
        s.seeds = seeds ?? 4
        s.firstSeed = seed
        s.scale = scale
        if let t = flowletTimeout { s.flowletTimeout = t.parsed }
        if let list = schemes { s.schemes = list.parsed }
        if let list = scenarios { s.scenarios = list.parsed }
        return s
    }

    /// lb's --schemes: scheme names, comma-separated, at least one.
    enum Schemes: OptionSyntax {
        static func parse(_ text: String) throws(OptionProblem) -> [LoadBalancingExperiment.Scheme] {
            let all = LoadBalancingExperiment.schemes, valid = all.map(\.name).joined(separator: ", ")
            var list: [LoadBalancingExperiment.Scheme] = []
            for n in commaSeparated(text) {
                guard let x = all.first(where: { $0.name == n }) else { throw OptionProblem("unknown scheme '\(n)'", valid: valid) }
                list.append(x)
            }
            guard !list.isEmpty else { throw OptionProblem("empty", valid: valid) }
            return list
        }
    }

    /// lb's --scenarios: scenario names, comma-separated, at least one.
    enum Scenarios: OptionSyntax {
        static func parse(_ text: String) throws(OptionProblem) -> [LoadBalancingExperiment.Scenario] {
            let valid = LoadBalancingExperiment.Scenario.allCases.map(\.rawValue).joined(separator: ", ")
            var list: [LoadBalancingExperiment.Scenario] = []
            for n in commaSeparated(text) {
                guard let x = LoadBalancingExperiment.Scenario(rawValue: n) else { throw OptionProblem("unknown scenario '\(n)'", valid: valid) }
                list.append(x)
            }
            guard !list.isEmpty else { throw OptionProblem("empty", valid: valid) }
            return list
        }
    }

    /// Every scheme in every scenario: the table as it grows (stderr with --json), then the
    /// JSON rows or the report folder.
    func loadBalancing() throws {
        let s = lbSettings()
        func say(_ line: String) {
            if json { FileHandle.standardError.write(Data((line + "\n").utf8)) } else { print(line); fflush(stdout) }
        }
        say("lb: \(s.schemes.map(\.name).joined(separator: ", ")) on \(s.scenarios.map(\.rawValue).joined(separator: ", ")); seeds \(s.firstSeed) ... \(s.firstSeed &+ UInt64(s.seeds - 1)) (rerun with --seed \(s.firstSeed) --seeds \(s.seeds)), sizes x \(s.scale)\(s.flowletTimeout.map { ", flowlet timeout \($0) ns" } ?? "")")
        say(LoadBalancingExperiment.header())
        let interactive = isatty(2) != 0
        let rows: [LoadBalancingExperiment.Row]
        do {
            rows = try LoadBalancingExperiment.run(s, emit: { r in
                if interactive { progressLine("") }
                say(LoadBalancingExperiment.line(r))
            }, progress: { p in
                if interactive { progressLine(p) }
            })
        } catch { throw CLIError("lb: \(error)") }
        if interactive { progressLine("") }
        if let dir = report {
            try prepareReportFolder(dir)
            say("report: \(try LoadBalancingExperiment.writeReport(rows, settings: s, to: dir))")
        }
        if json { try printJSON(rows) }
    }
}

/// Runs `name`, printing the table as it grows (to stderr when stdout carries JSON), the
/// summary lines and where the report went.
func runExperiment(_ name: String, settings: ExperimentSettings, json: Bool, report: String?, rates: [Double]? = nil,
                   only: ((ExperimentRow) -> Bool)? = nil, run: ((ExperimentSettings, (ExperimentRow) -> Void) throws -> [ExperimentRow])? = nil) throws -> [ExperimentRow] {
    func say(_ line: String) {
        // Flushed line by line: the table is the progress of a long run, also through a pipe.
        if json { FileHandle.standardError.write(Data((line + "\n").utf8)) } else { print(line); fflush(stdout) }
    }
    say("\(name): \(Experiments.summary(name, sizeBytes: Experiments.sizeBytes(name, settings), rates: rates))")
    say("seed \(settings.seed), sizes x \(settings.scale)")
    say(ExperimentReport.header())
    let emit: (ExperimentRow) -> Void = { say(ExperimentReport.line($0)) }
    let rows: [ExperimentRow]
    do {
        rows = try run.map { try $0(settings, emit) } ?? Experiments.run(name, settings, emit: emit)
    } catch let e as AggregationError {
        throw CLIError("\(name): \(e)")
    }
    let summary = name == "ina-e1" ? Experiments.e1Summary(rows) : []
    for l in summary { say(l) }
    let engines = Set(rows.compactMap(\.engine))
    if !engines.isEmpty { say("switch pipelines: \(engines.sorted().joined(separator: ", ")) engine (SLUICE_ENGINE chooses)") }
    if rows.contains(where: { !$0.exact && $0.maxAbsError == nil && $0.timeS != nil }) || rows.contains(where: { $0.withinBound == false }) {
        say("WARNING: some result is not the reference sum (see the result column)")
    }
    if let dir = report {
        try prepareReportFolder(dir)
        let index = try ExperimentReport.write(name, rows: rows, summary: summary, to: dir)
        say("report: \(index)")
    }
    return rows
}

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The flagship demo: in-network aggregation against ring, tree and parameter server (ina-e1 at 100 Gb/s).",
        discussion: """
            Eight emulated workers under one 100 Gb/s switch sum a 100 MB float32 tensor: with the \
            `switchml` program (k = 64 and 256 values a packet) and with ring, halving-doubling \
            and parameter-server allreduce over a reliable transport. Every result is checked \
            against a reference. Prints one table and writes a report folder with plots \
            (`sluice experiment ina-e1` adds 10 Gb/s; `sluice tour` shows the rest of the toolkit). \
            Rows run side by side, one a core (at most 4; --rows-at-once), each an emulation of \
            its own: the table and results are those of one row after the other; a row's wall \
            column is its own time beside the others.
            """)

    @Option(help: "Where the report (index.html, plots, report.json) goes.")
    var report: String = "demo-report"

    @Option(help: "Seed of the synthetic gradients.")
    var seed: UInt64 = 1

    @Option(help: "Multiply the 100 MB tensor by this (0 < scale <= 1).")
    var scale: Double = 1

    @Option(help: "Rows run at once, each on a thread with its own tensor buffers (800 MB at full size; default: one a core, at most \(defaultRowsAtOnceLimit); 1 runs them one after the other). The results are the same for any number.")
    var rowsAtOnce: Int?

    @Flag(help: "Print the rows as one JSON array (as `sluice experiment ina-e1 --json`); the table goes to standard error.")
    var json = false

    func validate() throws {
        guard scale > 0, scale <= 1 else { throw ValidationError("--scale \(scale): must be above 0 and at most 1") }
        if let n = rowsAtOnce, !(1...64).contains(n) { throw ValidationError("--rows-at-once \(n) (valid: 1 ... 64)") }
    }

    func run() throws {
        var s = ExperimentSettings()
        s.seed = seed
        s.scale = scale
        s.progress = true
        s.rowsAtOnce = rowsAtOnce ?? defaultRowsAtOnce()
        keepFreedMemory()
        let clock = MonotonicClock.nanoseconds
        let rows = try runExperiment("ina-e1", settings: s, json: json, report: report, rates: [100]) { s, emit in
            try Experiments.e1(s, rates: [100], emit: emit)
        }
        let done = String(format: "demo finished in %.1f s of wall time; open %@/index.html for the plots", MonotonicClock.seconds(since: clock), report)
        if json {
            try printJSON(rows)
            stderr(done)
        } else {
            print(done)
        }
    }
}


/// ina-e1's rows at once unless --rows-at-once says: one a core, at most this many (each holds
/// its own 800 MB of buffers at full size).
let defaultRowsAtOnceLimit = 4

func defaultRowsAtOnce() -> Int { max(1, min(ProcessInfo.processInfo.activeProcessorCount, defaultRowsAtOnceLimit)) }

/// Experiments allocate and free hundreds of megabytes per run (tensors, reference sums):
/// keep freed memory in the process instead of returning it to the kernel and faulting it in
/// again (seconds of system time in `sluice demo`).
func keepFreedMemory() {
    #if os(Linux)
    _ = glibcMallopt(-1, Int32.max)   // M_TRIM_THRESHOLD
    _ = glibcMallopt(-3, Int32.max)   // M_MMAP_THRESHOLD (glibc caps it at 32 MiB on 64-bit)
    #endif
}

#if os(Linux)
/// glibc's `mallopt(3)` (malloc.h is not in the Glibc module).
@_silgen_name("mallopt") func glibcMallopt(_ param: Int32, _ value: Int32) -> Int32
#endif

/// The items of a comma-separated list (`ecmp, conga`), without spaces around them.
private func commaSeparated(_ text: String) -> [String] {
    text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
}
