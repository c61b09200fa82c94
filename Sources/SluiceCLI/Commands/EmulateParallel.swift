import ArgumentParser
import Foundation
import SluiceEmulator
import SluiceML

/// `sluice emulate T.yaml --threads N`: the topology cut into N partitions (the file's
/// `partition:` per node, else automatic) run on N threads, with one partition's result.
func runParallelEmulation(_ s: EmulationSettings, threads: Int) throws {
    let (spec, cut, options) = try parallelSetup(s, partitions: threads, option: "--threads \(threads)", flag: "--threads",
                                                 sizeOption: { "--threads \($0)" }, mpi: false)
    if let dir = s.pcapDir { try makeDirectory(dir, "--pcap-dir") }
    if let dir = s.report { try prepareReportFolder(dir) }
    try prepareHostTraces(s)
    let run: ParallelEmulation
    do { run = try ParallelEmulation(spec, options: options, programs: programSource, partitioning: cut) } catch { throw CLIError("\(s.topology): \(error)") }
    // Every partition attaches every job: each rank runs in its host's partition.
    let jobs: [[WorkloadRun]]
    do { jobs = try run.eachPartition { try Jobs.attach(spec.jobs, to: $0, seed: s.seed) } } catch { throw CLIError("\(error)") }
    if !s.json { printParallelHeader(spec, cut, s, what: "\(threads) partitions", jobs: jobs.first.map { jobSummary(spec, $0) } ?? "") }
    if s.showRoutes, let r = run.routing { print(r.textReport()) }
    let stats = run.run(until: s.until)
    let unplanned = run.unplannedConnections
    if !unplanned.isEmpty {
        throw CLIError("--threads \(threads): an application opened connections during the run (\(unplanned.prefix(4).joined(separator: ", "))), so their numbers depend on the partitioning; run without --threads")
    }
    try printParallelResults(run, stats, s, spec: spec, jobs: Jobs.results(merging: jobs))
}

/// `mpirun -np N sluice emulate T.yaml --mpi`: each of the N ranks runs one partition (cut as
/// `--threads N` cuts) and the ranks of the jobs whose hosts it runs; the ranks exchange what
/// crosses a cut (packets, the jobs' messages) by MPI messages at each window's end, and rank
/// 0 prints the report with the jobs' merged results, the progress line and --trace, and
/// writes --report, cut links' pcaps and the one-file host trace; each rank writes its hosts'
/// --host-trace-dir files: one partition's result.
func runMPIEmulation(_ s: EmulationSettings) throws {
    let mpi = try MPIRun(command: "sluice emulate \(s.topology) --mpi", threads: "sluice emulate \(s.topology) --threads 2")
    let (spec, cut, base) = try mpi.once {
        try parallelSetup(s, partitions: mpi.launched.size, option: "--mpi", flag: "--mpi", sizeOption: { "mpirun -np \($0)" }, mpi: true)
    }
    let world = try mpi.start()
    var options = base
    let staging = MPIStaging(world)
    if let dir = s.pcapDir { options.pcapDirectory = staging.staged(dir, "--pcap-dir") }
    if let dir = s.hostTraceDir { options.hostTraceDirectory = staging.staged(dir, "--host-trace-dir") }
    if let file = s.hostTrace {
        let dir = (file as NSString).deletingLastPathComponent
        options.hostTrace = (staging.staged(dir.isEmpty ? "." : dir, "--host-trace") as NSString).appendingPathComponent((file as NSString).lastPathComponent)
    }
    if world.rank == 0, let dir = s.report {
        do { try prepareReportFolder(dir) } catch { world.fail("\(error)") }
    }
    if !staging.folders.isEmpty || s.report != nil { world.barrier() }
    let run: ParallelEmulation
    do { run = try ParallelEmulation(spec, options: options, programs: programSource, partitioning: cut, world: world) } catch {
        world.fail("building partition \(world.rank) of \(s.topology): \(error)")
    }
    // A refusal once MPI has started (every rank reaches a bad job alike; rank 0 alone, having
    // gathered every rank's figures, the connections opened during the run): each ends MPI,
    // then rank 0 says it and fails the job; the others end with success (as `MPIRun.once`).
    // A refused run's pcaps stay in the staging folder, marked incomplete.
    func refuse(_ error: Error) throws -> Never {
        world.finish()
        if world.rank == 0 { throw error } else { throw ExitCode.success }
    }
    // Every rank attaches every job, as every partition does on threads: each rank of a job
    // runs on the MPI rank that runs its host, its messages to other hosts cross by MPI.
    let jobs: [WorkloadRun]
    do { jobs = try run.eachPartition { try Jobs.attach(spec.jobs, to: $0, seed: s.seed) }[0] } catch { try refuse(CLIError("\(error)")) }
    if world.rank == 0 && !s.json {
        printParallelHeader(spec, cut, s, what: "\(world.size) MPI ranks, \(world.size) partitions", jobs: jobSummary(spec, jobs))
    }
    if world.rank == 0, s.showRoutes, let r = run.routing { print(r.textReport()) }
    let stats = run.run(until: s.until)
    // What each rank's jobs recorded, and the connections its applications opened during the
    // run, go to rank 0, which merges the one and refuses the run for the other.
    let gathered = world.gather(RankJobs(progress: jobs.map(\.progress), unplanned: run.unplannedConnections),
                                what: "the jobs' progress")
    if let gathered {
        let unplanned = gathered.flatMap(\.unplanned)
        if !unplanned.isEmpty {
            try refuse(CLIError("--mpi: an application opened connections during the run (\(unplanned.prefix(4).joined(separator: ", "))), so their numbers depend on the partitioning; run without --mpi"))
        }
    }
    // Every rank has written its files (the gathers at the run's end wait for all).
    if world.rank == 0 {
        staging.moveIn()
        let results = Jobs.results(of: jobs, merging: (gathered ?? []).map(\.progress))
        do { try printParallelResults(run, stats, s, spec: spec, jobs: results) } catch { world.fail("\(error)") }
    }
    world.finish()
}

/// What a rank hands rank 0 after a run under MPI: its jobs' records (`WorkloadRun.progress`,
/// in job order) and the connections its applications opened during the run.
struct RankJobs: Codable {
    var progress: [WorkloadProgress]
    var unplanned: [String]
}

/// The topology, its cut into `partitions` and the options of a parallel run, with what
/// parallel runs (`mpi`: under MPI) do not do yet refused (`option`: how the refusal names the run).
func parallelSetup(_ s: EmulationSettings, partitions: Int, option: String, flag: String,
                   sizeOption: (Int) -> String, mpi: Bool) throws -> (TopologySpec, Partitioning, EmulatorOptions) {
    let spec: TopologySpec
    do { spec = try TopologyFile.load(path: s.topology, seed: s.seed, programs: programSource) } catch { throw CLIError(error.description) }
    if !spec.events.isEmpty {
        throw CLIError("\(option): \(s.topology) has events (links and switches that change during the run), which do not run in partitions yet; run without \(flag)")
    }
    let cut: Partitioning
    do {
        if let given = try Partitioning.fromFile(spec) {
            guard given.count == partitions else {
                throw CLIError("\(sizeOption(partitions)): \(s.topology) puts its nodes in \(given.count) partitions (`partition:`); use \(sizeOption(given.count))")
            }
            cut = given
        } else {
            cut = try Partitioning.automatic(spec, count: partitions)
        }
    } catch let e as CLIError { throw e } catch { throw CLIError("\(s.topology): \(error)") }
    var options = EmulatorOptions()
    options.seed = s.seed
    options.engine = s.engine
    options.pcapDirectory = s.pcapDir
    if let n = s.snaplen { options.pcapSnaplen = n }
    if let interval = s.sampleInterval {
        options.sampleInterval = interval
    } else if s.report != nil {
        options.sampleInterval = 1_000_000
    }
    options.pipelineTrace = s.pipelineTrace
    options.progress = !s.json && s.pipelineTrace == nil
    options.hostTrace = s.hostTrace
    options.hostTraceDirectory = s.hostTraceDir
    return (spec, cut, options)
}

func printParallelHeader(_ spec: TopologySpec, _ cut: Partitioning, _ s: EmulationSettings, what: String, jobs: String = "") {
    print("\(spec.name): \(spec.hosts.count) hosts, \(spec.switches.count) switches, \(spec.links.count) links, \(spec.flows.count) flows\(jobs); seed \(s.seed) (rerun with --seed \(s.seed))")
    let peers = cut.peers(spec).map(\.count)
    let meets = peers.min() == peers.max() ? "\(peers.first ?? 0)" : "\(peers.min() ?? 0) to \(peers.max() ?? 0)"
    print("\(what) of \(cut.sizes.map(String.init).joined(separator: ", ")) nodes, \(cut.cutLinks.count) links cut, lookahead \(Double(cut.lookahead) / 1e6) us; each partition shares cut links with \(meets) other\(peers.max() == 1 ? "" : "s")")
    fflush(stdout)
}

/// The merged report, as one partition prints it, and the windows and crossings; the jobs'
/// merged results and the report folder (`--report`) where they ran.
func printParallelResults(_ run: ParallelEmulation, _ stats: RunStats, _ s: EmulationSettings,
                          spec: TopologySpec? = nil, jobs results: [WorkloadResult] = []) throws {
    let r = run.report(stats)
    for e in run.pcapErrors { FileHandle.standardError.write("warning: pcap incomplete: \(e)\n".data(using: .utf8)!) }
    warnHostTraceErrors(run.hostTraceFiles)
    let workloads = spec?.jobs.map(\.workload) ?? []
    if s.json {
        try printJSON(EmulationJSON(report: r, jobs: zip(workloads, results).map { .init(workload: $0, result: $1) }))
    } else {
        print(r.summaryText(), terminator: "")
        for (workload, result) in zip(workloads, results) { print(result.summaryText(workload: workload), terminator: "") }
        print("windows: \(run.windows), packets across a cut: \(run.crossings) of \(r.packetHops) hops")
    }
    if let dir = s.report {
        let index = try run.writeReport(r, to: dir)
        if !s.json { print("report: \(index)") }
        if !results.isEmpty {
            let files = try Jobs.writeReport(results, workloads: workloads, to: dir)
            if !s.json { print("jobs: " + files.map { ($0 as NSString).lastPathComponent }.joined(separator: ", ")) }
        }
    }
    if let dir = s.pcapDir, !s.json { print("pcaps: \(dir)/ (open with wireshark or tshark -r)") }
    printHostTraces(s)
    fflush(stdout)
}
