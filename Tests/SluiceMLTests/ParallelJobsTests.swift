import Foundation
import Testing
import SluiceEmulator
import SluicePrograms
@testable import SluiceML

/// Jobs in a parallel run: each rank runs in its host's partition, and the run gives one
/// partition's result: the same report, byte-identical pcaps, the same jobs' JSON.
@Suite struct ParallelJobsTests {
    static let engineKeys: Set<String> = ["wall_s", "events_per_s", "hops_per_s", "peak_rss_mb", "peak_packets"]

    struct Outcome {
        var report: NSDictionary
        var jobs: Data
        var pcaps: [String: Data]
    }

    static func json<T: Encodable>(_ value: T) throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return try e.encode(value)
    }

    /// Run `yaml`'s jobs on one partition (`assignment` nil) or on the partitions `assignment`
    /// gives per node, writing every link's pcap.
    static func run(_ yaml: String, _ assignment: ((TopologySpec) -> [Int])?) throws -> Outcome {
        let seed: UInt64 = 3
        let spec = try TopologyFile.parse(yaml, file: "jobs.yaml", baseDirectory: ".", seed: seed, programs: .builtIn)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-pjobs-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var o = EmulatorOptions()
        o.seed = seed
        o.pcapDirectory = dir.path
        let report: RunReport
        let results: [WorkloadResult]
        if let assignment {
            let cut = try Partitioning(spec, assignment: assignment(spec), count: 2)
            let p = try ParallelEmulation(spec, options: o, programs: .builtIn, partitioning: cut)
            let runs = try p.eachPartition { try Jobs.attach(spec.jobs, to: $0, seed: seed) }
            let stats = p.run()
            #expect(p.pcapErrors.isEmpty && p.unplannedConnections.isEmpty, "\(p.pcapErrors) \(p.unplannedConnections)")
            #expect(p.crossings > 0, "nothing crossed the cut: the test proves nothing")
            report = p.report(stats)
            results = Jobs.results(merging: runs)
        } else {
            let emu = try Emulator(spec, options: o, programs: .builtIn)
            let runs = try Jobs.attach(spec.jobs, to: emu, seed: seed)
            report = RunReport(emu, stats: emu.run())
            results = runs.map(\.result)
        }
        let object = try JSONSerialization.jsonObject(with: try json(report)) as! [String: Any]
        var pcaps: [String: Data] = [:]
        for f in try FileManager.default.contentsOfDirectory(atPath: dir.path) { pcaps[f] = try Data(contentsOf: dir.appendingPathComponent(f)) }
        #expect(results.allSatisfy { $0.complete }, "a job did not finish")
        return Outcome(report: object.filter { !engineKeys.contains($0.key) } as NSDictionary, jobs: try json(results), pcaps: pcaps)
    }

    static func expectSame(_ one: Outcome, _ two: Outcome) {
        #expect(one.report == two.report)
        #expect(one.jobs == two.jobs, "\(String(decoding: one.jobs, as: UTF8.self).prefix(400))\n\(String(decoding: two.jobs, as: UTF8.self).prefix(400))")
        #expect(one.pcaps.count > 0 && one.pcaps.keys.sorted() == two.pcaps.keys.sorted())
        for (name, bytes) in one.pcaps { #expect(bytes == two.pcaps[name], "\(name)") }
    }

    /// ml-jobs.yaml at a small size: a ring allreduce whose ring crosses the spines beside
    /// background flows, the leaves and their hosts split in two.
    @Test func ringAllreduceAndBackgroundFlowsGiveOnePartitionsResult() throws {
        let yaml = """
            name: ml-jobs-small
            topology:
              generator:
                leaf-spine: {spines: 2, leaves: 4, hosts-per-leaf: 4}
              defaults:
                link: {rate: 100Gbps, delay: 1us, mtu: 4096, queue: {limit: 4MB, ecn: {kmin: 100KB, kmax: 400KB, pmax: 0.2}}}
                switch: {program: ecmp-router}
            transport: rocev2
            jobs:
              - {name: train, workload: ddp, hosts: [h1, h2, h5, h6, h9, h10, h13, h14], model: 2MB, bucket: 1MB, compute: 50us, iterations: 2, algorithm: ring}
              - {name: noise, workload: background, hosts: [h3, h4, h7, h8, h11, h12, h15, h16], distribution: websearch, load: 0.3, flows: 20}
            """
        let one = try Self.run(yaml, nil)
        let two = try Self.run(yaml, { spec in Partitioning.automaticAssignment(spec) })
        Self.expectSame(one, two)
    }

    /// E1's setup at a small size (8 workers on one 100 Gb/s switchml switch): an in-network
    /// allreduce whose workers half run in the other partition than the switch's.
    @Test func inNetworkAggregationGivesOnePartitionsResult() throws {
        let yaml = """
            name: ina-small
            topology:
              generator: {star: {hosts: 8}}
              defaults:
                link: {rate: 100Gbps, delay: 1us, mtu: 1500, queue: {limit: 4MB}}
                switch: {program: switchml}
            jobs:
              - {name: ina, workload: ddp, hosts: [h1, h2, h3, h4, h5, h6, h7, h8], switch: sw, model: 1MB, bucket: 512KB, compute: 20us, iterations: 2, algorithm: in-network}
            """
        // The switch and h1 ... h4 in partition 0, h5 ... h8 in 1.
        let halves: (TopologySpec) -> [Int] = { spec in
            spec.nodes.map { n in n.isHost && Int(n.name.dropFirst())! > 4 ? 1 : 0 }
        }
        let one = try Self.run(yaml, nil)
        let two = try Self.run(yaml, halves)
        Self.expectSame(one, two)
    }
}

extension Partitioning {
    /// The assignment `automatic` makes for two partitions.
    static func automaticAssignment(_ spec: TopologySpec) -> [Int] {
        (try? Partitioning.automatic(spec, count: 2))!.partitionOf.map(Int.init)
    }
}
