import Foundation
import SluiceEmulator
import SluiceReports

/// A topology file's `jobs`: each entry built into a graph and attached to the emulator.
public enum Jobs {
    /// Build and attach every job. Errors name the job's line in the file and the parameter.
    public static func attach(_ jobs: [JobSpec], to emulator: Emulator, seed: UInt64) throws -> [WorkloadRun] {
        var runs: [WorkloadRun] = []
        var aggregators: [String: String] = [:]
        for (i, job) in jobs.enumerated() {
            let arguments = WorkloadArguments(job.parameters.map { .init(key: $0.key, text: $0.text, origin: $0.origin) })
            let context = WorkloadContext(ranks: job.hosts.count, linkRate: hostRate(emulator.spec, job.hosts.first),
                                          seed: seed &+ UInt64(i), baseDirectory: job.baseDirectory)
            let graph: WorkloadGraph
            do { graph = try WorkloadCatalog.build(job.workload, arguments, context) } catch let e as WorkloadError {
                throw WorkloadError("job '\(job.name)': \(e.message)", origin: e.origin ?? job.origin)
            }
            var ina: (switchName: String, config: AggregationConfig)? = nil
            if graph.usesInNetworkAggregation {
                guard let sw = job.aggregator else {
                    throw WorkloadError("\(job.origin): job '\(job.name)': algorithm in-network needs the aggregating switch (valid: switch: NAME, a switch running switchml every host of the job is connected to)")
                }
                guard let n = emulator.spec.node(named: sw), let s = emulator.spec.nodes[n].switchSpec else {
                    throw WorkloadError("\(job.origin): job '\(job.name)': switch '\(sw)' does not exist (valid: a switch of the topology running switchml)")
                }
                guard s.isLike("switchml") else {
                    throw WorkloadError("\(job.origin): job '\(job.name)': switch '\(sw)' runs \(s.program), in-network allreduce needs switchml (valid: program: switchml on that switch, or a program file with switchml's tables and routing: switchml)")
                }
                if let other = aggregators[sw] {
                    throw WorkloadError("\(job.origin): job '\(job.name)': switch '\(sw)' already aggregates job '\(other)' (valid: one in-network job per switch)")
                }
                aggregators[sw] = job.name
                ina = (sw, AggregationConfig(job: UInt8(truncatingIfNeeded: i + 1), workers: job.hosts.count))
            }
            do {
                runs.append(try WorkloadRun(job.name, graph: graph, emulator: emulator, hosts: job.hosts, job: i, inNetwork: ina))
            } catch let e as WorkloadError {
                throw WorkloadError(e.message, origin: e.origin ?? job.origin)
            } catch {
                throw WorkloadError("\(job.origin): job '\(job.name)': \(error)")
            }
        }
        // Every job's connections open now: their numbers (on the wire, and so the ECMP paths
        // they take) must not depend on which partition runs a rank. In the order the sends
        // would start were each only its serialization (then by host, job and operation): the
        // order in which a run opening each at its first send mostly opens them.
        let sends = runs.enumerated().flatMap { j, run in
            run.plannedSends(rate: hostRate(emulator.spec, jobs[j].hosts.first)).map { (s: $0, job: j) }
        }.sorted { ($0.s.start, $0.s.from, $0.job, $0.s.op) < ($1.s.start, $1.s.from, $1.job, $1.s.op) }
        for x in sends { emulator.openConnection(from: x.s.from, to: x.s.to) }
        return runs
    }

    /// The jobs' results in a parallel run, from every partition's runs of them (attached in
    /// each partition, `ParallelEmulation.eachPartition`): each job's records merged.
    public static func results(merging partitions: [[WorkloadRun]]) -> [WorkloadResult] {
        guard let first = partitions.first else { return [] }
        return results(of: first, merging: partitions.map { $0.map(\.progress) })
    }

    /// The jobs' results in a run under MPI: `runs` attached on this rank, `progress` every
    /// rank's records of them, rank after rank (`MPIWorld.gather`), each job's merged.
    public static func results(of runs: [WorkloadRun], merging progress: [[WorkloadProgress]]) -> [WorkloadResult] {
        runs.indices.map { j in runs[j].result(WorkloadProgress.merging(progress.map { $0[j] })) }
    }

    /// The rate of `host`'s link (100 Gb/s if it has none).
    static func hostRate(_ spec: TopologySpec, _ host: String?) -> UInt64 {
        guard let h = host, let n = spec.node(named: h),
              let l = spec.links.first(where: { $0.a.node == n || $0.b.node == n }) else { return 100_000_000_000 }
        return l.rate
    }
}

extension WorkloadResult {
    /// A few lines for the terminal: iterations, collectives and flows.
    public func summaryText(workload: String) -> String {
        var s = "job \(name) (\(workload), \(ranks) ranks): "
        if let f = finished { s += "finished at \(Self.time(f)), \(operations) operations\n" } else {
            s += "NOT finished: \(operationsDone) of \(operations) operations done (raise --until?)\n"
        }
        if !iterations.isEmpty {
            let mean = iterations.reduce(0, +) / Double(iterations.count)
            s += "  iterations: \(iterations.count), mean \(Self.time(mean)): " + iterations.prefix(8).map { Self.time($0) }.joined(separator: ", ") + (iterations.count > 8 ? ", …" : "") + "\n"
        }
        let c = collectives.compactMap { p in p.duration.map { (p.name, $0, p.bytes) } }
        if !c.isEmpty {
            let durations = c.map(\.1).sorted()
            let slowest = c.max { $0.1 < $1.1 }!
            s += "  collectives: \(c.count), completion mean \(Self.time(durations.reduce(0, +) / Double(c.count))), p50 \(Self.time(Self.percentile(durations, 0.5))), max \(Self.time(durations.last!)) (\(slowest.0))\n"
            for p in c.prefix(6) { s += "    \(p.0): \(Self.time(p.1)), \(Self.bytes(p.2)) sent in all\n" }
            if c.count > 6 { s += "    … \(c.count - 6) more (--json lists every one)\n" }
        }
        let f = flows.compactMap(\.duration).sorted()
        if !f.isEmpty {
            s += "  flows: \(f.count) of \(flows.count) done, completion p50 \(Self.time(Self.percentile(f, 0.5))), p99 \(Self.time(Self.percentile(f, 0.99))), max \(Self.time(f.last!))\n"
        }
        return s
    }

    static func percentile(_ sorted: [Double], _ q: Double) -> Double {
        sorted[min(sorted.count - 1, max(0, Int((Double(sorted.count) * q).rounded(.up)) - 1))]
    }

    /// Seconds as the reports print times ("3.916 ms").
    static func time(_ s: Double) -> String { formatTime(picoseconds: Int64((s * 1e12).rounded())) }

    static func bytes(_ b: Int) -> String { ExperimentReport.bytes(b) }
}

extension Jobs {
    /// Into a report folder: `jobs.json` (every job's result), `jobs-collectives.svg` (each
    /// collective's completion time against when it started, one series per job),
    /// `jobs-iterations.svg` (iteration times) and `jobs-flows.svg` (flow completion times, sorted),
    /// as far as the jobs have them. Returns the files written.
    public static func writeReport(_ results: [WorkloadResult], workloads: [String], to directory: String) throws -> [String] {
        var written: [String] = []
        func write(_ name: String, _ text: String) throws {
            let path = (directory as NSString).appendingPathComponent(name)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            written.append(path)
        }
        struct Item: Encodable { var workload: String; var result: WorkloadResult }
        try write("jobs.json", try ReportJSON.string(zip(workloads, results).map { Item(workload: $0, result: $1) }))
        let collectives: [LinePlot.Series] = results.compactMap { r in
            let points = r.collectives.compactMap { p in p.start.flatMap { s in p.duration.map { (x: s, y: $0) } } }
            return points.isEmpty ? nil : (name: r.name, points: points)
        }
        if !collectives.isEmpty {
            try write("jobs-collectives.svg", LinePlot(title: "Collective completion time", xLabel: "start (simulated time)", yLabel: "collective completion time",
                                                       series: collectives, xFormat: .seconds, yFormat: .seconds).svg())
        }
        let iterations: [LinePlot.Series] = results.compactMap { r in
            r.iterations.isEmpty ? nil : (name: r.name, points: r.iterations.enumerated().map { (x: Double($0.offset + 1), y: $0.element) })
        }
        if !iterations.isEmpty {
            try write("jobs-iterations.svg", LinePlot(title: "Iteration time", xLabel: "iteration (number)", yLabel: "iteration time",
                                                      series: iterations, yFormat: .seconds).svg())
        }
        let flows: [LinePlot.Series] = results.compactMap { r in
            let d = r.flows.compactMap(\.duration).sorted()
            // A CDF: completion time across, the fraction of flows done by then up.
            return d.isEmpty ? nil : (name: r.name, points: [(x: d[0], y: 0)] + d.enumerated().map { (x: $0.element, y: Double($0.offset + 1) / Double(d.count)) })
        }
        if !flows.isEmpty {
            try write("jobs-flows.svg", LinePlot(title: "Flow completion times (CDF)", xLabel: "flow completion time", yLabel: "fraction of flows",
                                                 series: flows, step: true, xFormat: .seconds, yFormat: .percent).svg())
        }
        return written
    }
}
