import Foundation
import SluiceEmulator
import SluiceML

/// `sluice emulate T.yaml --threads N`: the topology cut into N partitions (the file's
/// `partition:` per node, else automatic) run on N threads, with one partition's result.
func runParallelEmulation(_ s: EmulationSettings, threads: Int) throws {
    let spec: TopologySpec
    do { spec = try TopologyFile.load(path: s.topology, seed: s.seed, programs: programSource) } catch { throw CLIError(error.description) }
    if !spec.events.isEmpty {
        throw CLIError("--threads \(threads): \(s.topology) has events (links and switches that change during the run), which do not run in partitions yet; run without --threads")
    }
    let cut: Partitioning
    do {
        if let given = try Partitioning.fromFile(spec) {
            guard given.count == threads else {
                throw CLIError("--threads \(threads): \(s.topology) puts its nodes in \(given.count) partitions (`partition:`); use --threads \(given.count)")
            }
            cut = given
        } else {
            cut = try Partitioning.automatic(spec, count: threads)
        }
    } catch let e as CLIError { throw e } catch { throw CLIError("\(s.topology): \(error)") }
    var options = EmulatorOptions()
    options.seed = s.seed
    options.engine = s.engine
    if let dir = s.pcapDir { try makeDirectory(dir, "--pcap-dir"); options.pcapDirectory = dir }
    if let n = s.snaplen { options.pcapSnaplen = n }
    if let dir = s.report { try prepareReportFolder(dir) }
    if let interval = s.sampleInterval {
        options.sampleInterval = interval
    } else if s.report != nil {
        options.sampleInterval = 1_000_000
    }
    options.pipelineTrace = s.pipelineTrace
    options.progress = !s.json && s.pipelineTrace == nil
    let run: ParallelEmulation
    do { run = try ParallelEmulation(spec, options: options, programs: programSource, partitioning: cut) } catch { throw CLIError("\(s.topology): \(error)") }
    // Every partition attaches every job: each rank runs in its host's partition.
    let jobs: [[WorkloadRun]]
    do { jobs = try run.eachPartition { try Jobs.attach(spec.jobs, to: $0, seed: s.seed) } } catch { throw CLIError("\(error)") }
    if !s.json {
        let jobText = jobs.first.map { jobSummary(spec, $0) } ?? ""
        print("\(spec.name): \(spec.hosts.count) hosts, \(spec.switches.count) switches, \(spec.links.count) links, \(spec.flows.count) flows\(jobText); seed \(s.seed) (rerun with --seed \(s.seed))")
        print("\(threads) partitions of \(cut.sizes.map(String.init).joined(separator: ", ")) nodes, \(cut.cutLinks.count) links cut, lookahead \(Double(cut.lookahead) / 1e6) us")
        fflush(stdout)
    }
    if s.showRoutes, let r = run.routing { print(r.textReport()) }
    let stats = run.run(until: s.until)
    let r = run.report(stats)
    for e in run.pcapErrors { FileHandle.standardError.write("warning: pcap incomplete: \(e)\n".data(using: .utf8)!) }
    let unplanned = run.unplannedConnections
    if !unplanned.isEmpty {
        throw CLIError("--threads \(threads): an application opened connections during the run (\(unplanned.prefix(4).joined(separator: ", "))), so their numbers depend on the partitioning; run without --threads")
    }
    let results = Jobs.results(merging: jobs)
    if s.json {
        try printJSON(EmulationJSON(report: r, jobs: zip(spec.jobs, results).map { .init(workload: $0.workload, result: $1) }))
    } else {
        print(r.summaryText(), terminator: "")
        for (job, result) in zip(spec.jobs, results) { print(result.summaryText(workload: job.workload), terminator: "") }
        print("windows: \(run.windows), packets across a cut: \(run.crossings) of \(r.packetHops) hops")
    }
    if let dir = s.report {
        let index = try run.writeReport(r, to: dir)
        if !s.json { print("report: \(index)") }
        if !spec.jobs.isEmpty {
            let files = try Jobs.writeReport(results, workloads: spec.jobs.map(\.workload), to: dir)
            if !s.json { print("jobs: " + files.map { ($0 as NSString).lastPathComponent }.joined(separator: ", ")) }
        }
    }
    if let dir = s.pcapDir, !s.json { print("pcaps: \(dir)/ (open with wireshark or tshark -r)") }
}
