import SluiceTestingML
import Foundation
import Testing
import SluiceEmulator
import SluiceTesting
@testable import SluiceML

/// What users write: workload parameters, topology files' `jobs`, SimAI workload files, and
/// the errors each gets when wrong.
@Suite struct WorkloadInputTests {
    static let topology = WorkloadTests.leafSpine

    static func write(_ text: String, _ name: String) throws -> String {
        let dir = try WorkloadTests.temporary("input")
        let path = dir + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    // MARK: parameters

    @Test func parameterErrorsNameTheParameterAndWhatIsValid() throws {
        func error(_ family: String, _ words: [String], ranks: Int = 8) -> String {
            do {
                _ = try WorkloadCatalog.build(family, try WorkloadArguments.parse(words), WorkloadContext(ranks: ranks))
                return ""
            } catch { return "\(error)" }
        }
        #expect(error("ddp", ["modle=1MB"]).contains("no parameter 'modle' (did you mean 'model'?)"))
        #expect(error("ddp", ["model=lots"]).contains("argument 'model=lots': ddp model 'lots'"))
        #expect(error("ddp", ["algorithm=butterfly"]).contains("valid: ring, tree, halving-doubling, in-network"))
        #expect(error("ddp", ["algorithm=halving-doubling"], ranks: 6).contains("power-of-two"))
        #expect(error("3d", ["tp=2", "pp=2", "dp=3"]).contains("tp 2 x pp 2 x dp 3 = 12 ranks, the job has 8 hosts"))
        #expect(error("3d", ["mapping=tp,dp"]).contains("valid: tp, pp and dp once each"))
        #expect(error("ps", ["servers=8"]).contains("leave no worker"))
        #expect(error("bogus", []).contains("unknown workload 'bogus' (valid: ddp, fsdp"))
        #expect(error("simai", []).contains("no file= given"))
        #expect((try? WorkloadArguments.parse(["model"])) == nil)
        #expect(error("ddp", ["iterations=2", "model=1MB"]).isEmpty)
        #expect(error("ddp", ["chunk=1KB"]).contains("chunk '1KB': too small (valid: at least 4096 bytes)"))
        // Too many operations is an error saying what to shrink, not a graph of any size.
        var small = WorkloadContext(ranks: 8)
        small.maxOperations = 1000
        do {
            _ = try WorkloadCatalog.build("ddp", try WorkloadArguments.parse(["model=100MB"]), small)
            Issue.record("a graph over the limit was built")
        } catch {
            #expect("\(error)".contains("more than 1000 operations"))
        }
    }

    @Test func everyFamilyListsItsParametersWithDefaults() {
        for name in WorkloadCatalog.names {
            let p = WorkloadCatalog.parameters(name)
            #expect(!p.isEmpty, "\(name)")
            #expect(p.allSatisfy { !$0.help.isEmpty }, "\(name)")
        }
        let ddp = WorkloadCatalog.parameters("ddp")
        #expect(ddp.first { $0.name == "bucket" }?.fallback == "25MB")
        #expect(ddp.first { $0.name == "first-bucket" }?.fallback == "1MB")
    }

    // MARK: SimAI

    static let simai = """
        HYBRID_TRANSFORMER_FWD_IN_BCKWD model_parallel_NPU_group: 2 ep: 1 pp: 1 vpp: 8 ga: 1 all_gpus: 8 checkpoints: 0 checkpoint_initiates: 0
        3
        embedding  -1 20000 ALLREDUCE 1048576 20000 NONE 0 10000 NONE 0 1000
        attention  -1 50000 ALLREDUCE 2097152 80000 ALLREDUCE 2097152 40000 ALLREDUCE 4194304 1000
        mlp        -1 50000 NONE 0 80000 ALLGATHER 1048576 40000 REDUCESCATTER_DP 8388608 1000
        """

    /// A SimAI file saved with CRLF or CR endings builds the same graph as with LF.
    @Test func simaiFileReadsEveryLineEnding() throws {
        let lf = try WorkloadCatalog.build("simai", WorkloadArguments([.init(key: "file", text: try Self.write(Self.simai, "lf.txt"), origin: "test")]),
                                           WorkloadContext(ranks: 8))
        for ending in ["\r\n", "\r"] {
            let path = try Self.write(Self.simai.replacingOccurrences(of: "\n", with: ending) + ending, "eol.txt")
            let g = try WorkloadCatalog.build("simai", WorkloadArguments([.init(key: "file", text: path, origin: "test")]), WorkloadContext(ranks: 8))
            #expect(g.bytesSentPerRank == lf.bytesSentPerRank && g.ops.count == lf.ops.count)
        }
    }

    @Test func simaiFileImportsWithTheRightGroupsAndBytes() throws {
        let path = try Self.write(Self.simai, "workload.txt")
        let g = try WorkloadCatalog.build("simai", WorkloadArguments([.init(key: "file", text: path, origin: "test")]), WorkloadContext(ranks: 8))
        // TP groups of 2 (ring allreduce of X: each sends X; all-gather of X: X / 2), DP groups
        // of 4 (allreduce: 2 x 3/4 x X; reduce-scatter: 3/4 x X).
        let tp = 1_048_576 + 2_097_152 + 2_097_152 + 1_048_576 / 2
        let dp = 2 * 3 * 4_194_304 / 4 + 3 * 8_388_608 / 4
        #expect(g.bytesSentPerRank == Array(repeating: tp + dp, count: 8))
        // The TP collectives stay inside pairs (0,1), (2,3)...; DP ones inside 0,2,4,6 / 1,3,5,7.
        for op in g.ops {
            guard case .send(let to, _) = op.kind else { continue }
            let same = op.rank / 2 == to / 2
            let dpGroup = op.rank % 2 == to % 2
            #expect(same || dpGroup, "rank \(op.rank) -> \(to)")
        }
        let h = try WorkloadHarness(topology: Self.topology + "\njobs:\n  - {workload: simai, file: \(path), iterations: 2}\n")
        let r = h.run()[0]
        try h.expectComplete()
        try h.expectEveryMessageDeliveredExactlyOnce()
        #expect(r.iterations.count == 2)
        // An iteration is at least its compute: forward, input and weight gradients, updates.
        let compute = Double(20_000 + 20_000 + 10_000 + 50_000 * 2 + 80_000 * 2 + 40_000 * 2 + 3_000) * 1e-9
        #expect(r.iterations.allSatisfy { $0 > compute })
    }

    @Test func simaiErrorsNameTheFileLineAndField() throws {
        func error(_ text: String, ranks: Int = 8) throws -> String {
            let path = try Self.write(text, "bad.txt")
            do {
                _ = try WorkloadCatalog.build("simai", WorkloadArguments([.init(key: "file", text: path, origin: "test")]), WorkloadContext(ranks: ranks))
                return ""
            } catch { return "\(error)".replacingOccurrences(of: path, with: "F") }
        }
        let header = "HYBRID_TRANSFORMER model_parallel_NPU_group: 2 ep: 1 pp: 1 all_gpus: 8"
        #expect(try error("") .contains("F:1: empty file"))
        #expect(try error(header + "\nthree\n").contains("F:2: 'three' is not the number of layers"))
        #expect(try error(header + "\n2\nl1 -1 1 NONE 0 1 NONE 0 1 NONE 0 1\n").contains("F:4: line 2 announces 2 layers, the file has 1"))
        #expect(try error(header + "\n1\nl1 -1 1 NONE 0 1 NONE 0 1 NONE\n").contains("F:3: 10 fields (valid: 12"))
        #expect(try error(header + "\n1\nl1 -1 1 BROADCAST 5 1 NONE 0 1 NONE 0 1\n").contains("F:3: forward collective 'BROADCAST'"))
        #expect(try error(header + "\n1\nl1 -1 x NONE 0 1 NONE 0 1 NONE 0 1\n").contains("F:3: forward time 'x'"))
        #expect(try error(header + "\n1\nl1 -1 1 ALLREDUCE -5 1 NONE 0 1 NONE 0 1\n").contains("F:3: forward size '-5'"))
        #expect(try error(header + "\n1\nl1 -1 1 NONE 0 1 NONE 0 1 NONE 0 1\n", ranks: 4).contains("F:1: all_gpus: 8, the job has 4 hosts"))
        #expect(try error("X model_parallel_NPU_group: 2 pp: 2 all_gpus: 8\n1\nl1 -1 1 NONE 0 1 NONE 0 1 NONE 0 1\n").contains("F:1: pp: 2"))
        #expect(try error("X model_parallel_NPU_group: 3 all_gpus: 8\n1\nl1 -1 1 NONE 0 1 NONE 0 1 NONE 0 1\n").contains("does not divide 8 ranks"))
        #expect(try error(header + "\n1\nl1 -1 1 NONE 0 1 NONE 0 1 NONE 0 1\n").isEmpty)
    }

    // MARK: topology files

    @Test func jobsSectionReadsHostsAndParameters() throws {
        let spec = try TopologyFile.parse(Self.topology + """

            transport: udp
            jobs:
              - {name: train, workload: ddp, hosts: 4, model: 10MB, algorithm: tree}
              - {workload: background, hosts: [h5, h6, h7], load: 0.1}
              - {workload: incast, hosts: all}
            """, file: "t.yaml", baseDirectory: "/base", programs: .builtIn)
        #expect(spec.transport == .udp)
        #expect(spec.jobs.count == 3)
        #expect(spec.jobs[0].name == "train" && spec.jobs[0].hosts == ["h1", "h2", "h3", "h4"])
        #expect(spec.jobs[0].parameters.map(\.key) == ["model", "algorithm"])
        #expect(spec.jobs[0].parameters[0].origin == "t.yaml:9")
        #expect(spec.jobs[1].name == "job2" && spec.jobs[1].hosts == ["h5", "h6", "h7"])
        #expect(spec.jobs[2].hosts.count == 8)
        #expect(spec.jobs[0].baseDirectory == "/base")
    }

    @Test func jobErrorsNameTheLineAndField() throws {
        func error(_ jobs: String) -> String {
            do {
                let h = try WorkloadHarness(topology: Self.topology + "\njobs:\n" + jobs, file: "t.yaml")
                _ = h
                return ""
            } catch { return "\(error)" }
        }
        #expect(error("  - {hosts: all}\n").contains("t.yaml:8") && error("  - {hosts: all}\n").contains("workload"))
        #expect(error("  - {workload: ddp, hosts: [h1, h99]}\n").contains("unknown host 'h99'"))
        #expect(error("  - {workload: ddp, hosts: [h1, h1]}\n").contains("listed twice"))
        #expect(error("  - {workload: ddp, hosts: 20}\n").contains("a count from 1 to 8"))
        #expect(error("  - {workload: ddp, modle: 1MB}\n").contains("t.yaml:8: job 'job1': ddp has no parameter 'modle' (did you mean 'model'?)"))
        #expect(error("  - {workload: ddp, model: 1XB}\n").contains("t.yaml:8: job 'job1': ddp model '1XB'"))
        #expect(error("  - {workload: dpp}\n").contains("unknown workload 'dpp'"))
        #expect(error("  - {workload: ddp, algorithm: in-network}\n").contains("needs the aggregating switch"))
        #expect(error("  - {workload: ddp, algorithm: in-network, switch: leaf1}\n").contains("runs ecmp-router, in-network allreduce needs switchml"))
        #expect(error("  - {workload: ddp, model: 1MB}\n").isEmpty)
    }

    @Test func twoJobsShareTheFabric() throws {
        let h = try WorkloadHarness(topology: Self.topology + """

            jobs:
              - {name: train, workload: ddp, hosts: [h1, h2, h5, h6], model: 4MB, compute: 1ms, iterations: 2}
              - {name: noise, workload: background, hosts: [h3, h4, h7, h8], flows: 30, load: 0.3}
            """)
        let r = h.run()
        try h.expectComplete()
        try h.expectEveryMessageDeliveredExactlyOnce()
        #expect(r[0].iterations.count == 2)
        #expect(r[1].flows.count == 30 && r[1].flows.allSatisfy { $0.duration != nil })
    }
}
