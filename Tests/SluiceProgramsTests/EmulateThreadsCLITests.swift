import Foundation
import Testing

/// `sluice emulate --threads N`: the same JSON as one partition but for the engine's figures,
/// the same pcaps, and refusals that say what to do.
@Suite struct EmulateThreadsCLITests {
    static let engineKeys: Set<String> = ["wall_s", "events_per_s", "hops_per_s", "peak_rss_mb", "peak_packets"]

    static func network(_ json: String) throws -> NSDictionary {
        let o = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] ?? [:]
        return o.filter { !engineKeys.contains($0.key) } as NSDictionary
    }

    @Test func twoThreadsPrintOnePartitionsJSONAndPcaps() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-threads-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? FileManager.default.removeItem(at: base) }
        let one = base.appendingPathComponent("one").path, two = base.appendingPathComponent("two").path
        let topology = CLITests.topology("fattree-k4.yaml")
        let a = try CLITests.run(["emulate", topology, "--json", "--until", "30us", "--pcap-dir", one])
        let b = try CLITests.run(["emulate", topology, "--json", "--until", "30us", "--pcap-dir", two, "--threads", "2"])
        #expect(a.status == 0 && b.status == 0, "\(a.err)\(b.err)")
        #expect(try Self.network(a.out) == Self.network(b.out))
        let files = try FileManager.default.contentsOfDirectory(atPath: one).sorted()
        let other = try FileManager.default.contentsOfDirectory(atPath: two).sorted()
        #expect(files.count == 48 && files == other)
        for f in files {
            let x = try Data(contentsOf: URL(fileURLWithPath: one).appendingPathComponent(f))
            let y = try Data(contentsOf: URL(fileURLWithPath: two).appendingPathComponent(f))
            #expect(x == y, "\(f)")
        }
    }

    /// ml-jobs.yaml's training job and background flows (cut short): the same JSON, jobs
    /// included, and the same pcaps.
    @Test func twoThreadsRunTheJobsOfATopologyFile() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-threads-jobs-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? FileManager.default.removeItem(at: base) }
        let one = base.appendingPathComponent("one").path, two = base.appendingPathComponent("two").path
        let topology = CLITests.topology("ml-jobs.yaml")
        let a = try CLITests.run(["emulate", topology, "--json", "--until", "2ms", "--pcap-dir", one])
        let b = try CLITests.run(["emulate", topology, "--json", "--until", "2ms", "--pcap-dir", two, "--threads", "2"])
        #expect(a.status == 0 && b.status == 0, "\(a.err)\(b.err)")
        let jobs = try Self.network(a.out)["jobs"] as? [[String: Any]]
        #expect(jobs?.count == 2 && ((jobs?[1]["result"] as? [String: Any])?["operations_done"] as? Int ?? 0) > 0, "\(a.out.suffix(600))")
        #expect(try Self.network(a.out) == Self.network(b.out))
        let files = try FileManager.default.contentsOfDirectory(atPath: one).sorted()
        let others = try FileManager.default.contentsOfDirectory(atPath: two).sorted()
        #expect(files.count == 32 && files == others)
        for f in files {
            let x = try Data(contentsOf: URL(fileURLWithPath: one).appendingPathComponent(f))
            let y = try Data(contentsOf: URL(fileURLWithPath: two).appendingPathComponent(f))
            #expect(x == y, "\(f)")
        }
    }

    /// `--report`: the same folder, but for the engine's figures (report.json's, the summary line).
    @Test func twoThreadsWriteOnePartitionsReport() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-threads-report-\(UInt32.random(in: 0...UInt32.max))")
        defer { try? FileManager.default.removeItem(at: base) }
        let one = base.appendingPathComponent("one"), two = base.appendingPathComponent("two")
        let topology = CLITests.topology("ml-jobs.yaml")
        let a = try CLITests.run(["emulate", topology, "--until", "1ms", "--sample-interval", "3us", "--report", one.path])
        let b = try CLITests.run(["emulate", topology, "--until", "1ms", "--sample-interval", "3us", "--report", two.path, "--threads", "2"])
        #expect(a.status == 0 && b.status == 0, "\(a.err)\(b.err)")
        let files = try FileManager.default.contentsOfDirectory(atPath: one.path).sorted()
        let others = try FileManager.default.contentsOfDirectory(atPath: two.path).sorted()
        #expect(files == others && files.contains("timeseries.csv") && files.contains("jobs.json"), "\(files) \(others)")
        for f in files {
            let x = try Data(contentsOf: one.appendingPathComponent(f)), y = try Data(contentsOf: two.appendingPathComponent(f))
            switch f {
            case "report.json": #expect(try Self.network(String(decoding: x, as: UTF8.self)) == Self.network(String(decoding: y, as: UTF8.self)))
            case "index.html":
                let lines = { (d: Data) in String(decoding: d, as: UTF8.self).split(separator: "\n").filter { !$0.contains(" s wall,") } }
                #expect(lines(x) == lines(y))
            default: #expect(x == y, "\(f)")
            }
        }
    }

    /// `--trace` of switches in both partitions: the same trace, line for line (with `--json` it
    /// goes to standard error).
    @Test func twoThreadsWriteOnePartitionsPipelineTrace() throws {
        let args = ["emulate", CLITests.topology("fattree-k4.yaml"), "--json", "--until", "20us", "--trace", "core1,agg1-1,edge2-1,edge3-1,agg4-2"]
        let a = try CLITests.run(args)
        let b = try CLITests.run(args + ["--threads", "2"])
        #expect(a.status == 0 && b.status == 0, "\(a.err.suffix(300))\(b.err.suffix(300))")
        #expect(a.err.contains("edge3-1: packet 1 in port") && a.err.contains("core1: packet 1 in port"))
        #expect(a.err == b.err)
        #expect(try Self.network(a.out) == Self.network(b.out))
    }

    /// E1's setup at a small size: 8 workers on one 100 Gb/s switchml switch, an in-network
    /// allreduce job, the switch and h1 ... h4 in one partition and h5 ... h8 in the other: the
    /// same JSON (the job's result included) and the same pcaps.
    @Test func twoThreadsRunAnInNetworkAggregationJob() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-threads-ina-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: base) }
        let topology = base.appendingPathComponent("ina.yaml").path
        try Self.inaYAML.write(toFile: topology, atomically: true, encoding: .utf8)
        let one = base.appendingPathComponent("one").path, two = base.appendingPathComponent("two").path
        let a = try CLITests.run(["emulate", topology, "--json", "--pcap-dir", one])
        let b = try CLITests.run(["emulate", topology, "--json", "--pcap-dir", two, "--threads", "2"])
        #expect(a.status == 0 && b.status == 0, "\(a.err)\(b.err)")
        let jobs = try Self.network(a.out)["jobs"] as? [[String: Any]]
        #expect((jobs?.first?["result"] as? [String: Any])?["finished"] is Double, "\(a.out.suffix(400))")
        #expect(try Self.network(a.out) == Self.network(b.out))
        let files = try FileManager.default.contentsOfDirectory(atPath: one).sorted()
        let others = try FileManager.default.contentsOfDirectory(atPath: two).sorted()
        #expect(files.count == 8 && files == others)
        for f in files {
            let x = try Data(contentsOf: URL(fileURLWithPath: one).appendingPathComponent(f))
            let y = try Data(contentsOf: URL(fileURLWithPath: two).appendingPathComponent(f))
            #expect(x == y, "\(f)")
        }
    }

    static let inaYAML = """
            name: ina-e1-small
            topology:
              defaults:
                link: {rate: 100Gbps, delay: 1us, mtu: 1500, queue: {limit: 4MB}}
              nodes:
                sw: {kind: switch, program: switchml, partition: 0}
                h1: {kind: host, partition: 0}
                h2: {kind: host, partition: 0}
                h3: {kind: host, partition: 0}
                h4: {kind: host, partition: 0}
                h5: {kind: host, partition: 1}
                h6: {kind: host, partition: 1}
                h7: {kind: host, partition: 1}
                h8: {kind: host, partition: 1}
              links:
                - {endpoints: ["sw:1", "h1:0"]}
                - {endpoints: ["sw:2", "h2:0"]}
                - {endpoints: ["sw:3", "h3:0"]}
                - {endpoints: ["sw:4", "h4:0"]}
                - {endpoints: ["sw:5", "h5:0"]}
                - {endpoints: ["sw:6", "h6:0"]}
                - {endpoints: ["sw:7", "h7:0"]}
                - {endpoints: ["sw:8", "h8:0"]}
            jobs:
              - {name: ina, workload: ddp, hosts: [h1, h2, h3, h4, h5, h6, h7, h8], switch: sw, model: 4MB, bucket: 1MB, compute: 20us, iterations: 2, algorithm: in-network}
        """

    @Test func refusalsSayWhatToDo() throws {
        let star = try CLITests.run(["emulate", CLITests.topology("star.yaml"), "--threads", "10"])
        #expect(star.status != 0 && star.err.contains("10 partitions for 9 nodes: a partition needs at least one node; use at most 9"), "\(star.err)")
        let events = try CLITests.run(["emulate", CLITests.topology("failover.yaml"), "--threads", "2"])
        #expect(events.status != 0 && events.err.contains("has events (links and switches that change during the run), which do not run in partitions yet; run without --threads"), "\(events.err)")
    }
}
