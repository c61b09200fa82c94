import Foundation
import Testing

private let inCI = ProcessInfo.processInfo.environment["SLUICE_CI"] == "true"

/// Open MPI's mpirun on PATH, if any.
private let mpirunOnPath: URL? = {
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
        let path = "\(dir)/mpirun"
        if FileManager.default.isExecutableFile(atPath: path) { return URL(fileURLWithPath: path) }
    }
    return nil
}()

/// `mpirun -np N sluice emulate --mpi`: ranks that exchange crossing packets by MPI messages
/// print what one partition and `--threads N` print (engine figures aside) and write the same
/// pcap bytes; refusals and a failing rank say what happened. CI installs Open MPI (.ci/run)
/// and runs these; elsewhere they need `mpirun` on PATH.
@Suite(.serialized, .enabled(if: mpirunOnPath != nil || inCI,
                             "mpirun not found: install Open MPI (apt-get install -y openmpi-bin; .ci/run does)"))
struct EmulateMPICLITests {
    /// `sluice args` as `ranks` MPI ranks: as root too (CI), on fewer cores than ranks, and
    /// with shared-memory messages that need no ptrace rights (containers).
    static func mpi(_ ranks: Int, _ args: [String], environment: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
        let mpirun = try #require(mpirunOnPath, "mpirun not found: install Open MPI (apt-get install -y openmpi-bin)")
        let env = ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
                   "OMPI_MCA_btl_vader_single_copy_mechanism": "none"].merging(environment) { $1 }
        return try CLITests.run(["--oversubscribe", "-np", "\(ranks)", CLITests.binary.path] + args, environment: env, executable: mpirun)
    }

    static func folder(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("sluice-mpi-\(name)-\(UInt32.random(in: 0...UInt32.max))").path
    }

    static func pcaps(_ dir: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for f in try FileManager.default.contentsOfDirectory(atPath: dir) {
            out[f] = try Data(contentsOf: URL(fileURLWithPath: dir).appendingPathComponent(f))
        }
        return out
    }

    /// One partition, two threads and two ranks on `topology`: the same JSON but for the
    /// engine's figures, and the same pcap files, byte for byte.
    /// (`mpiEnvironment`: the MPI run's extra environment.)
    static func expectAllAlike(_ topology: String, _ extra: [String], pcapCount: Int? = nil,
                               mpiEnvironment: [String: String] = [:]) throws -> [String: Any] {
        let base = folder("alike")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let dirs = ["one", "threads", "mpi"].map { "\(base)/\($0)" }
        let one = try CLITests.run(["emulate", topology, "--json", "--pcap-dir", dirs[0]] + extra)
        let threads = try CLITests.run(["emulate", topology, "--json", "--pcap-dir", dirs[1], "--threads", "2"] + extra)
        let ranks = try mpi(2, ["emulate", topology, "--json", "--pcap-dir", dirs[2], "--mpi"] + extra, environment: mpiEnvironment)
        #expect(one.status == 0 && threads.status == 0 && ranks.status == 0, "\(one.err)\(threads.err)\(ranks.err)")
        let a = try EmulateThreadsCLITests.network(one.out)
        #expect(a.count > 0)
        #expect(a == (try EmulateThreadsCLITests.network(threads.out)))
        #expect(a == (try EmulateThreadsCLITests.network(ranks.out)), "\(ranks.out.prefix(2000))")
        let p = try dirs.map(Self.pcaps)
        if let pcapCount { #expect(p[0].count == pcapCount) }
        #expect(p[0].keys.sorted() == p[2].keys.sorted(), "the staging folder is gone, every pcap moved in")
        for (name, bytes) in p[0] {
            #expect(p[1][name] == bytes, "\(name) (threads)")
            #expect(p[2][name] == bytes, "\(name) (MPI)")
        }
        return a as! [String: Any]
    }

    /// Three ranks: each meets two others at every window's end, on two cores or fewer.
    @Test func threeRanksGiveOnePartitionsJSONAndPcaps() throws {
        let base = Self.folder("three")
        defer { try? FileManager.default.removeItem(atPath: base) }
        let topology = CLITests.topology("leafspine-16.yaml")
        let one = try CLITests.run(["emulate", topology, "--json", "--until", "40us", "--pcap-dir", "\(base)/one"])
        let three = try Self.mpi(3, ["emulate", topology, "--json", "--until", "40us", "--pcap-dir", "\(base)/three", "--mpi"])
        #expect(one.status == 0 && three.status == 0, "\(one.err)\(three.err)")
        #expect(try EmulateThreadsCLITests.network(one.out) == EmulateThreadsCLITests.network(three.out))
        let a = try Self.pcaps("\(base)/one"), b = try Self.pcaps("\(base)/three")
        #expect(a.count == 24 && a == b)
    }

    /// Messages longer than the window's first round carries send the rest in a second.
    @Test func longMessagesGoInTwoRounds() throws {
        _ = try Self.expectAllAlike(CLITests.topology("fattree-k4.yaml"), ["--until", "30us"], pcapCount: 48,
                                    mpiEnvironment: ["SLUICE_MPI_TEST_FIRST_PART": "100"])
    }

    @Test(arguments: [("leafspine-16.yaml", 24), ("fattree-k4.yaml", 48)])
    func twoRanksPrintOnePartitionsJSONAndPcaps(_ file: String, _ links: Int) throws {
        _ = try Self.expectAllAlike(CLITests.topology(file), ["--until", "30us"], pcapCount: links)
    }

    /// Four switches in a line, a host on each, one partition a switch: a rank's peers are
    /// its neighbours on the line, so ranks 0 and 3 (and 0 and 2, 1 and 3) never message each
    /// other and learn each window's start from the allreduce.
    static let line = """
        name: line-4
        topology:
          defaults:
            link: {rate: 100Gbps, delay: 1us}
            switch: {program: ecmp-router, routing: true}
          nodes:
            s0: {kind: switch, partition: 0}
            s1: {kind: switch, partition: 1}
            s2: {kind: switch, partition: 2}
            s3: {kind: switch, partition: 3}
            h0: {kind: host, partition: 0}
            h1: {kind: host, partition: 1}
            h2: {kind: host, partition: 2}
            h3: {kind: host, partition: 3}
          links:
            - {endpoints: ["s0:1", "h0:0"]}
            - {endpoints: ["s1:1", "h1:0"]}
            - {endpoints: ["s2:1", "h2:0"]}
            - {endpoints: ["s3:1", "h3:0"]}
            - {endpoints: ["s0:2", "s1:3"]}
            - {endpoints: ["s1:2", "s2:3"], delay: 2us}
            - {endpoints: ["s2:2", "s3:3"]}
        traffic:
          - {kind: udp, from: h0, to: h3, size: 300000, rate: 20Gbps, payload: 1000}
          - {kind: udp, from: h3, to: h0, size: 200000, rate: 10Gbps, payload: 1000, start: 2us}
          - {kind: bulk, from: h1, to: h3, size: 200000, start: 1us}
        """

    @Test func ranksThatShareNoLinkAgreeByAllreduce() throws {
        let dir = Self.folder("line")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = "\(dir)/line-4.yaml"
        try Self.line.write(toFile: file, atomically: true, encoding: .utf8)
        // Samples every 300 ns, to the end of a run that drains: whether another sample follows
        // is agreed by the allreduce too.
        let (base, runs) = try Self.runThree(file, partitions: 4) {
            ["--json", "--pcap-dir", "\($0)-pcaps", "--sample-interval", "300ns", "--report", $0]
        }
        defer { try? FileManager.default.removeItem(atPath: base) }
        let a = try EmulateThreadsCLITests.network(runs[0].out)
        #expect(a == (try EmulateThreadsCLITests.network(runs[1].out)))
        #expect(a == (try EmulateThreadsCLITests.network(runs[2].out)), "\(runs[2].out.prefix(2000))")
        let flows = try #require(a["flows"] as? [[String: Any]])
        #expect(flows.count == 3 && flows.allSatisfy { ($0["fct_ps"] as? Int ?? 0) > 0 && $0["bytes_received"] as? Int == $0["bytes"] as? Int })
        let p = try ["one", "threads", "mpi"].map { try Self.pcaps("\(base)/\($0)-pcaps") }
        #expect(p[0].count == 7 && p[0] == p[1] && p[0] == p[2])
        try Self.expectSameReportFolders(base)
    }

    /// A job's messages between hosts whose ranks share no link (h0 and h2, h1 and h3 in a
    /// ring of h0, h2, h1, h3) go in the windows' second round: the job's results and pcaps
    /// are one partition's.
    @Test func jobMessagesReachRanksThatShareNoLink() throws {
        let dir = Self.folder("line-job")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = "\(dir)/line-4-job.yaml"
        let withJob = Self.line.replacingOccurrences(of: "traffic:\n", with: """
            jobs:
              - {name: ring, workload: ddp, hosts: [h0, h2, h1, h3], model: 2MB, bucket: 1MB, first-bucket: 1MB, compute: 20us, iterations: 1, algorithm: ring}
            traffic:

            """)
        try withJob.write(toFile: file, atomically: true, encoding: .utf8)
        let one = try CLITests.run(["emulate", file, "--json", "--pcap-dir", "\(dir)/one"])
        let four = try Self.mpi(4, ["emulate", file, "--json", "--pcap-dir", "\(dir)/four", "--mpi"])
        #expect(one.status == 0 && four.status == 0, "\(one.err)\(four.err)")
        let a = try EmulateThreadsCLITests.network(one.out)
        let jobs = try #require(a["jobs"] as? [[String: Any]])
        let result = try #require(jobs.first?["result"] as? [String: Any])
        #expect(jobs.count == 1 && result["operations_done"] as? Int == 80 && result["finished"] as? Double ?? 0 > 0, "\(jobs)")
        #expect(a == (try EmulateThreadsCLITests.network(four.out)), "\(four.out.prefix(3000))")
        let p = try Self.pcaps("\(dir)/one"), q = try Self.pcaps("\(dir)/four")
        #expect(p.count == 7 && p == q)
    }

    /// The lines of a text run's output that speak of jobs: the first (its job summary) and
    /// each job's result lines.
    static func jobLines(_ out: String) -> [String] {
        let lines = out.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var kept = Array(lines.prefix(1)), inJob = false
        for l in lines.dropFirst() {
            if l.hasPrefix("job ") { inJob = true } else if !l.hasPrefix("  ") { inJob = false }
            if inJob { kept.append(l) }
        }
        return kept
    }

    /// `topology`'s jobs on one partition and on two ranks: the same JSON (jobs included, the
    /// engine's figures aside) and pcaps as one partition and `--threads 2`, and (`text`) the
    /// same job lines in the text. Returns the JSON's jobs.
    static func expectJobsAlike(_ topology: String, _ extra: [String], pcapCount: Int, text: Bool,
                                mpiEnvironment: [String: String] = [:]) throws -> [[String: Any]] {
        let report = try expectAllAlike(topology, extra, pcapCount: pcapCount, mpiEnvironment: mpiEnvironment)
        let jobs = try #require(report["jobs"] as? [[String: Any]], "no jobs in the JSON")
        guard text else { return jobs }
        let one = try CLITests.run(["emulate", topology] + extra)
        let ranks = try mpi(2, ["emulate", topology, "--mpi"] + extra, environment: mpiEnvironment)
        #expect(one.status == 0 && ranks.status == 0, "\(one.err)\(ranks.err)")
        let lines = jobLines(one.out)
        #expect(lines.count > jobs.count && lines.filter { $0.hasPrefix("job ") }.count == jobs.count, "\(one.out)")
        #expect(lines == jobLines(ranks.out), "\(ranks.out)")
        return jobs
    }

    /// E1's setup at a small size (EmulateThreadsCLITests' topology): an in-network allreduce
    /// through a switchml switch on rank 0, half its workers on rank 1.
    @Test func twoRanksRunAnInNetworkAggregationJob() throws {
        let dir = Self.folder("ina")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = "\(dir)/ina.yaml"
        try EmulateThreadsCLITests.inaYAML.write(toFile: file, atomically: true, encoding: .utf8)
        let jobs = try Self.expectJobsAlike(file, [], pcapCount: 8, text: false)
        #expect((jobs.first?["result"] as? [String: Any])?["finished"] is Double, "\(jobs)")
    }

    /// ml-jobs.yaml's ring allreduce and background flows (cut short): the ring's messages cross
    /// between the ranks beside their packets, in one round a window (the text's job lines
    /// compared too) or, a tiny first round forced, in two.
    @Test(arguments: [[:], ["SLUICE_MPI_TEST_FIRST_PART": "100"]])
    func twoRanksRunTheJobsOfATopologyFile(_ environment: [String: String]) throws {
        let jobs = try Self.expectJobsAlike(CLITests.topology("ml-jobs.yaml"), ["--until", "2ms"], pcapCount: 32,
                                            text: environment.isEmpty, mpiEnvironment: environment)
        #expect(jobs.count == 2 && ((jobs[1]["result"] as? [String: Any])?["operations_done"] as? Int ?? 0) > 0, "\(jobs)")
    }

    static let lossyStar = """
        name: star-lossy
        topology:
          defaults:
            link: {rate: 100Gbps, delay: 1us}
            switch: {program: l2-switch, routing: false}
          nodes:
            sw: {kind: switch, partition: 0}
            h1: {kind: host, partition: 0}
            h2: {kind: host, partition: 1}
            h3: {kind: host, partition: 1}
          links:
            - {endpoints: ["sw:1", "h1:0"]}
            - {endpoints: ["sw:2", "h2:0"], loss: 0.2}
            - {endpoints: ["sw:3", "h3:0"]}
        traffic:
          - {kind: udp, from: h1, to: h2, size: 400000, rate: 10Gbps, payload: 1000}
          - {kind: udp, from: h3, to: h1, size: 200000, rate: 10Gbps, payload: 1000, start: 1us}
        """

    /// An l2 switch floods what it has not learnt: copies cross the cut to h2 and h3, the ones
    /// to h2 over a lossy link, and packets arrive exactly at windows' ends (1 us lookahead).
    @Test func lossAndFloodedCopiesCrossBetweenRanks() throws {
        let dir = Self.folder("star")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = "\(dir)/star-lossy.yaml"
        try Self.lossyStar.write(toFile: file, atomically: true, encoding: .utf8)
        let report = try Self.expectAllAlike(file, ["--seed", "7"], pcapCount: 3)
        let ports = try #require(report["ports"] as? [[String: Any]])
        #expect(ports.contains { ($0["lost"] as? Int ?? 0) > 0 })
    }

    /// `sluice emulate topology args` as one partition, `--threads 2` and two ranks (`--mpi`),
    /// each with its own folder (`args(folder)`): their exit status, standard output and error.
    static func runThree(_ topology: String, partitions: Int = 2, _ args: (String) -> [String]) throws -> (base: String, runs: [(status: Int32, out: String, err: String)]) {
        let base = folder("three-ways")
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        let one = try CLITests.run(["emulate", topology] + args("\(base)/one"))
        let threads = try CLITests.run(["emulate", topology, "--threads", "\(partitions)"] + args("\(base)/threads"))
        let ranks = try mpi(partitions, ["emulate", topology, "--mpi"] + args("\(base)/mpi"))
        #expect(one.status == 0 && threads.status == 0 && ranks.status == 0, "\(one.err.suffix(500))\(threads.err.suffix(500))\(ranks.err.suffix(500))")
        return (base, [one, threads, ranks])
    }

    /// `--report`: the same folder from two ranks as from one partition and two threads, file
    /// for file (report.json but for the engine's figures, index.html but for its wall-time
    /// line). fattree-k4's 300 ns samples are shorter than its 1 us lookahead: windows end at
    /// samples, and whether another follows depends on the other rank's events.
    @Test(arguments: [("leafspine-16.yaml", "1us", "200us"), ("fattree-k4.yaml", "300ns", "150us")])
    func twoRanksWriteOnePartitionsReportFolder(_ file: String, _ interval: String, _ until: String) throws {
        let (base, runs) = try Self.runThree(CLITests.topology(file)) { ["--json", "--until", until, "--sample-interval", interval, "--report", $0] }
        defer { try? FileManager.default.removeItem(atPath: base) }
        let a = try EmulateThreadsCLITests.network(runs[0].out), b = try EmulateThreadsCLITests.network(runs[1].out)
        let c = try EmulateThreadsCLITests.network(runs[2].out)
        #expect(a.count > 0 && a == b && a == c)
        try Self.expectSameReportFolders(base)
    }

    /// The report folders `runThree` wrote into `base`, the same file for file (report.json but
    /// for the engine's figures, index.html but for its wall-time line), with over 100 samples.
    static func expectSameReportFolders(_ base: String) throws {
        let folders = try ["one", "threads", "mpi"].map { try Self.pcaps("\(base)/\($0)") }
        #expect(folders[0].keys.contains("timeseries.csv") && folders[0].count == 9, "\(folders[0].keys.sorted())")
        let samples = String(decoding: folders[0]["timeseries.csv"] ?? Data(), as: UTF8.self).split(separator: "\n").count - 1
        #expect(samples > 100, "\(samples) samples")
        for other in folders.dropFirst() {
            #expect(other.keys.sorted() == folders[0].keys.sorted())
            for (name, x) in folders[0] {
                let y = other[name] ?? Data()
                switch name {
                case "report.json":
                    #expect(try EmulateThreadsCLITests.network(String(decoding: x, as: UTF8.self)) == EmulateThreadsCLITests.network(String(decoding: y, as: UTF8.self)))
                case "index.html":
                    let lines = { (d: Data) in String(decoding: d, as: UTF8.self).split(separator: "\n").filter { !$0.contains(" s wall,") } }
                    #expect(lines(x) == lines(y))
                default: #expect(x == y, "\(name)")
                }
            }
        }
    }

    /// A run that drains (no --until): the last samples follow the last events, which only
    /// rank 1 handles (h2 receives after sw has sent), so rank 0 samples on because rank 1 had
    /// events: the same report folder as one partition's.
    @Test func twoRanksSampleToTheEndOfARunThatDrains() throws {
        let dir = Self.folder("drain")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = "\(dir)/star-lossy.yaml"
        try Self.lossyStar.write(toFile: file, atomically: true, encoding: .utf8)
        let (base, runs) = try Self.runThree(file) { ["--json", "--seed", "7", "--sample-interval", "300ns", "--report", $0] }
        defer { try? FileManager.default.removeItem(atPath: base) }
        let a = try EmulateThreadsCLITests.network(runs[0].out), c = try EmulateThreadsCLITests.network(runs[2].out)
        #expect(a.count > 0 && a == c)
        try Self.expectSameReportFolders(base)
    }

    /// `--trace` of switches on both ranks: rank 0 prints the trace one partition prints, line
    /// for line (with `--json` on standard error), over more windows than one batch of lines.
    @Test func twoRanksPrintOnePartitionsPipelineTrace() throws {
        let (base, runs) = try Self.runThree(CLITests.topology("fattree-k4.yaml")) { _ in
            ["--json", "--until", "80us", "--trace", "core1,agg1-1,edge3-1"]
        }
        defer { try? FileManager.default.removeItem(atPath: base) }
        let one = runs[0].err
        #expect(one.contains("edge3-1: packet 1 in port") && one.contains("core1: packet 1 in port") && one.contains("agg1-1: packet 1 in port"))
        #expect(runs[1].err == one)
        #expect(runs[2].err == one, "\(runs[2].err.count) bytes of trace, one partition's: \(one.count)")
        #expect(try EmulateThreadsCLITests.network(runs[0].out) == EmulateThreadsCLITests.network(runs[2].out))
    }

    /// `--host-trace` (one pcap of every frame the hosts send, merged at rank 0) and
    /// `--host-trace-dir` (each host's pcap, written by the rank that runs it): one partition's
    /// files, byte for byte; no staging folder left behind.
    @Test func twoRanksWriteOnePartitionsHostTraces() throws {
        let (base, runs) = try Self.runThree(CLITests.topology("leafspine-16.yaml")) {
            ["--json", "--until", "100us", "--host-trace", "\($0)/all.pcap", "--host-trace-dir", "\($0)/hosts"]
        }
        defer { try? FileManager.default.removeItem(atPath: base) }
        let files = try ["one", "threads", "mpi"].map { run in
            var f = try Self.pcaps("\(base)/\(run)/hosts")
            f["all.pcap"] = try Data(contentsOf: URL(fileURLWithPath: "\(base)/\(run)/all.pcap"))
            #expect(try FileManager.default.contentsOfDirectory(atPath: "\(base)/\(run)").sorted() == ["all.pcap", "hosts"], "\(run)")
            return f
        }
        #expect(files[0].count == 17 && (files[0]["all.pcap"]?.count ?? 0) > 100_000)
        for (name, bytes) in files[0] {
            #expect(files[1][name] == bytes, "\(name) (threads)")
            #expect(files[2][name] == bytes, "\(name) (MPI)")
        }
        #expect(files[2].count == files[0].count)
    }

    @Test func refusalsSayWhatToDo() throws {
        let fattree = CLITests.topology("fattree-k4.yaml")
        let alone = try CLITests.run(["emulate", fattree, "--mpi"], environment: ["OMPI_COMM_WORLD_SIZE": "", "OMPI_COMM_WORLD_RANK": ""])
        #expect(alone.status != 0 && alone.err.contains("--mpi: this process was not started by mpirun (OMPI_COMM_WORLD_SIZE is not set); run `mpirun -np 2 sluice emulate \(fattree) --mpi`"), "\(alone.err)")
        let both = try CLITests.run(["emulate", fattree, "--mpi", "--threads", "2"])
        #expect(both.status != 0 && both.err.contains("--mpi and --threads 2: a run has one rank a partition (--mpi, under mpirun -np N) or one thread a partition (--threads N); drop one"), "\(both.err)")

        let dir = Self.folder("refusals")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A job every rank finds wrong once MPI has started (when attached): said once, by rank 0.
        let badJob = "\(dir)/bad-job.yaml"
        try EmulateThreadsCLITests.inaYAML.replacingOccurrences(of: "switch: sw, ", with: "")
            .write(toFile: badJob, atomically: true, encoding: .utf8)
        let job = try Self.mpi(2, ["emulate", badJob, "--mpi"])
        let jobMessage = "job 'ina': algorithm in-network needs the aggregating switch (valid: switch: NAME"
        #expect(job.status != 0 && job.err.components(separatedBy: jobMessage).count == 2, "said once, by rank 0: \(job.err)")
        let tiny = "\(dir)/tiny.yaml"
        try """
            topology:
              defaults: {switch: {program: l2-switch, routing: false}}
              nodes: {sw: {kind: switch}, h1: {kind: host}, h2: {kind: host}}
              links:
                - {endpoints: ["sw:1", "h1:0"], delay: 1us}
                - {endpoints: ["sw:2", "h2:0"], delay: 0ps}
            """.write(toFile: tiny, atomically: true, encoding: .utf8)
        let many = try Self.mpi(4, ["emulate", tiny, "--mpi"])
        #expect(many.status != 0 && many.err.contains("4 partitions for 3 nodes: a partition needs at least one node; use at most 3"), "\(many.err)")
        let zero = "\(dir)/zero.yaml"
        try (try String(contentsOfFile: tiny, encoding: .utf8))
            .replacingOccurrences(of: "nodes: {sw: {kind: switch}, h1: {kind: host}, h2: {kind: host}}",
                                  with: "nodes: {sw: {kind: switch, partition: 0}, h1: {kind: host, partition: 0}, h2: {kind: host, partition: 1}}")
            .write(toFile: zero, atomically: true, encoding: .utf8)
        let cut = try Self.mpi(2, ["emulate", zero, "--mpi"])
        #expect(cut.status != 0 && cut.err.contains("link sw:2 -- h2:0 (\(zero):6) has zero delay and joins partition 0 to partition 1"), "\(cut.err)")
        let star = "\(dir)/star-lossy.yaml"
        try Self.lossyStar.write(toFile: star, atomically: true, encoding: .utf8)
        let three = try Self.mpi(3, ["emulate", star, "--mpi"])
        #expect(three.status != 0 && three.err.contains("mpirun -np 3: \(star) puts its nodes in 2 partitions (`partition:`); use mpirun -np 2"), "\(three.err)")
    }

    /// A rank that fails mid-run (a test hook stands for the error) ends the whole run with a
    /// non-zero status and a message naming the rank and the window; no JSON is printed and
    /// no pcap is left in --pcap-dir looking complete.
    @Test func aFailingRankEndsTheRunByName() throws {
        let dir = Self.folder("fail")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try Self.mpi(2, ["emulate", CLITests.topology("leafspine-16.yaml"), "--mpi", "--json", "--until", "30us", "--pcap-dir", dir,
                                 "--host-trace", "\(dir)/all.pcap", "--host-trace-dir", "\(dir)/hosts"],
                             environment: ["SLUICE_MPI_TEST_FAIL": "1:3"])
        #expect(r.status != 0)
        #expect(r.err.contains("sluice: rank 1 of 2: failed in window 3 (from 2.362809 us): test failure asked for by SLUICE_MPI_TEST_FAIL; every rank stops"), "\(r.err)")
        #expect(r.out.isEmpty, "\(r.out.prefix(500))")
        let left = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        let hosts = (try? FileManager.default.contentsOfDirectory(atPath: "\(dir)/hosts")) ?? []
        #expect((left + hosts).allSatisfy { !$0.hasSuffix(".pcapng") && !$0.hasSuffix(".pcap") }, "\(left) \(hosts)")
    }

    /// A rank that crashes (a trap, as a failed precondition would) names itself and its
    /// window before mpirun ends the job.
    @Test func aCrashingRankIsNamed() throws {
        let r = try Self.mpi(2, ["emulate", CLITests.topology("leafspine-16.yaml"), "--mpi", "--json", "--until", "30us"],
                             environment: ["SLUICE_MPI_TEST_FAIL": "1:3:crash"])
        #expect(r.status != 0)
        #expect(r.err.contains("sluice: rank 1 of 2: crashed (signal 4) in window 3 (from 2362809 ps); the job ends"), "\(r.err)")
        #expect(r.out.isEmpty, "\(r.out.prefix(500))")
    }
}
