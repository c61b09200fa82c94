import Foundation
import Testing

/// `sluice traffic` and workload jobs in `sluice emulate`, run as a process.
@Suite struct TrafficCLITests {
    func sluice(_ args: [String]) throws -> (status: Int32, out: String, err: String) { try CLITests.run(args) }

    static func temporary() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-traffic-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    static let simai = """
        HYBRID_TRANSFORMER_FWD_IN_BCKWD model_parallel_NPU_group: 2 ep: 1 pp: 1 vpp: 8 ga: 1 all_gpus: 8 checkpoints: 0 checkpoint_initiates: 0
        2
        attention  -1 50000 ALLREDUCE 1048576 80000 ALLREDUCE 1048576 40000 ALLREDUCE 2097152 1000
        mlp        -1 50000 NONE 0 80000 ALLGATHER 1048576 40000 REDUCESCATTER_DP 2097152 1000
        """

    /// Every family to pcap from the command line: the JSON says the job finished, the pcap
    /// holds as many frames as it says, each a RoCEv2 frame of one of the 8 hosts.
    @Test(arguments: [
        ["ddp", "model=4MB", "compute=500us", "iterations=2"],
        ["ddp", "model=2MB", "compute=500us", "iterations=1", "algorithm=in-network"],
        ["fsdp", "model=4MB", "units=2", "compute=500us", "iterations=1"],
        ["pipeline", "microbatches=2", "activation=256KB", "compute=20us", "iterations=1"],
        ["tp", "layers=1", "activation=512KB", "compute=20us", "iterations=1"],
        ["moe", "layers=1", "tokens=512KB", "compute=20us", "iterations=1"],
        ["ps", "model=2MB", "compute=50us", "iterations=1"],
        ["3d", "tp=2", "pp=2", "dp=2", "model=4MB", "microbatches=2", "activation=256KB", "compute=20us", "iterations=1"],
        ["permutation", "bytes=512KB"],
        ["incast", "bytes=256KB"],
        ["alltoall", "bytes=128KB"],
        ["background", "flows=20", "load=0.2"],
        ["simai", "file=SIMAI"],
    ])
    func everyFamilyWritesAPcapFromTheCommandLine(_ words: [String]) throws {
        let dir = try Self.temporary()
        defer { try? FileManager.default.removeItem(at: dir) }
        let simai = dir.appendingPathComponent("w.txt").path
        try Self.simai.write(toFile: simai, atomically: true, encoding: .utf8)
        let pcap = dir.appendingPathComponent("t.pcap").path
        let args = ["traffic"] + words.map { $0.replacingOccurrences(of: "SIMAI", with: simai) } + ["--hosts", "8", "-w", pcap, "--json"]
        let r = try sluice(args)
        #expect(r.status == 0, "\(r.err)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any], "\(r.out)")
        let result = try #require(json["result"] as? [String: Any])
        #expect(result["finished"] is Double, "\(words[0]) did not finish")
        let frames = try #require(json["frames"] as? Int)
        #expect(frames > 0)
        // The pcap: global header then records; count them and check each is IPv4 from 10.0.0.1-8.
        let data = try Data(contentsOf: URL(fileURLWithPath: pcap))
        var offset = 24, count = 0
        while offset + 16 <= data.count {
            let caplen = Int(data[offset + 8]) | Int(data[offset + 9]) << 8 | Int(data[offset + 10]) << 16 | Int(data[offset + 11]) << 24
            let frame = data[(offset + 16)..<(offset + 16 + caplen)]
            let f = Array(frame)
            #expect(f[12] == 0x08 && f[13] == 0 && f[26] == 10 && (1...8).contains(f[29]))
            offset += 16 + caplen
            count += 1
        }
        #expect(offset == data.count)
        #expect(count == frames)
    }

    @Test func listShowsFamiliesAndBadInputIsNamed() throws {
        let list = try sluice(["traffic", "--list"])
        #expect(list.status == 0)
        for name in ["ddp:", "fsdp:", "pipeline:", "tp:", "moe:", "ps:", "3d:", "permutation:", "incast:", "alltoall:", "background:", "simai:"] {
            #expect(list.out.contains("\n" + name), "\(name)")
        }
        #expect(list.out.contains("bucket=25MB"))
        let bad = try sluice(["traffic", "ddp", "modle=1MB", "-w", "/tmp/x.pcap"])
        #expect(bad.status != 0)
        #expect(bad.err.contains("argument 'modle=1MB': "), "\(bad.err)")
        #expect(bad.err.contains("ddp has no parameter 'modle' (did you mean 'model'?) (valid: model, bucket"), "\(bad.err)")
        let nothing = try sluice(["traffic", "ddp"])
        #expect(nothing.status != 0 && nothing.err.contains("-w FILE.pcap"))
        let shape = try sluice(["traffic", "ddp", "--shape", "tcp", "-w", "/tmp/x.pcap"])
        #expect(shape.status != 0 && shape.err.contains("valid: rocev2, udp"))
    }

    /// The README's walk-through: generate, open in tshark, replay through a program.
    @Test func generateOpenAndReplay() throws {
        let dir = try Self.temporary()
        defer { try? FileManager.default.removeItem(at: dir) }
        let per = dir.appendingPathComponent("hosts").path
        let r = try sluice(["traffic", "ddp", "model=2MB", "compute=200us", "iterations=1", "--hosts", "4", "--pcap-dir", per, "--seed", "3"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("seed 3"))
        #expect(r.out.contains("iterations: 1"))
        let files = try FileManager.default.contentsOfDirectory(atPath: per).sorted()
        #expect(files == ["h1.pcap", "h2.pcap", "h3.pcap", "h4.pcap"])
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/tshark") {
            let t = Process()
            t.executableURL = URL(fileURLWithPath: "/usr/bin/tshark")
            t.arguments = ["-r", "\(per)/h1.pcap", "-c", "3", "-T", "fields", "-e", "infiniband.bth.opcode"]
            let out = Pipe()
            t.standardOutput = out
            t.standardError = Pipe()
            try t.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            t.waitUntilExit()
            #expect(t.terminationStatus == 0)
            #expect(text.split(separator: "\n").count == 3, "\(text)")
        } else {
            Issue.record("tshark is not installed (apt-get install tshark; .ci/run installs it)")
        }
        let entries = dir.appendingPathComponent("routes.txt").path
        try "table_add ipv4_lpm ipv4_forward 10.0.0.0/8 => 02:00:00:00:00:99 3\n".write(toFile: entries, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("out").path
        let rep = try sluice(["replay", "\(per)/h1.pcap", "--program", "ipv4-router", "--entries", entries, "--pcap-dir", out, "--json"])
        #expect(rep.status == 0, "\(rep.err)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(rep.out.utf8)) as? [String: Any])
        let packets = try #require(json["packets"] as? Int)
        #expect(packets > 0)
        #expect(json["sent"] as? Int == packets)
    }

    /// `--program` with program files of ecmp-router and switchml: the same frames, byte for
    /// byte, as the built-in programs; a program without the tables is refused by name.
    @Test func programFilesRunTheGeneratedTopology() throws {
        let dir = try Self.temporary()
        defer { try? FileManager.default.removeItem(at: dir) }
        for (name, extra) in [("ecmp-router", [String]()), ("switchml", ["algorithm=in-network"])] {
            let file = dir.appendingPathComponent("\(name).json").path
            #expect(try sluice(["compile", name, "--emit", "program", "-o", file]).status == 0)
            var pcaps: [Data] = []
            for program in [[], ["--program", file]] {
                let pcap = dir.appendingPathComponent("\(name)-\(program.count).pcap").path
                let r = try sluice(["traffic", "ddp", "model=1MB", "iterations=1", "--hosts", "4", "-w", pcap, "--seed", "2"] + extra + program)
                #expect(r.status == 0, "\(r.err)")
                pcaps.append(try Data(contentsOf: URL(fileURLWithPath: pcap)))
            }
            #expect(pcaps[0].count > 10_000)
            #expect(pcaps[0] == pcaps[1], "\(name)")
        }
        let v4 = dir.appendingPathComponent("v4.json").path
        #expect(try sluice(["compile", "ipv4-router", "--emit", "program", "-o", v4]).status == 0)
        let bad = try sluice(["traffic", "ddp", "model=1MB", "--program", v4, "-w", dir.appendingPathComponent("x.pcap").path])
        #expect(bad.status != 0)
        #expect(bad.err.contains("--program \(v4): "), "\(bad.err)")
        #expect(bad.err.contains("whose tables do not take ecmp-router's routes: no table 'switch_mac' in program 'ipv4-router'"), "\(bad.err)")
        let unrouted = try sluice(["traffic", "ddp", "model=1MB", "--program", "l2-switch", "-w", dir.appendingPathComponent("x.pcap").path])
        #expect(unrouted.err.contains("--program l2-switch: the generated topology is routed by the routing controller"), "\(unrouted.err)")
    }

    @Test func emulateRunsTheJobsOfATopologyFile() throws {
        let r = try sluice(["emulate", CLITests.topology("ml-jobs.yaml"), "--json"])
        #expect(r.status == 0, "\(r.err)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any], "\(r.out.prefix(300))")
        let jobs = try #require(json["jobs"] as? [[String: Any]])
        #expect(jobs.count == 2)
        let train = try #require(jobs[0]["result"] as? [String: Any])
        #expect((train["iterations"] as? [Double])?.count == 2)
        let dir = try Self.temporary()
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = try sluice(["emulate", CLITests.topology("ml-jobs.yaml"), "--report", dir.path])
        #expect(text.status == 0)
        #expect(text.out.contains("job train (ddp, 8 ranks): finished"))
        #expect(text.out.contains("flows: 100 of 100 done"))
        for f in ["jobs.json", "jobs-collectives.svg", "jobs-iterations.svg", "jobs-flows.svg"] {
            let path = dir.appendingPathComponent(f).path
            #expect(FileManager.default.fileExists(atPath: path), "\(f)")
        }
        let svg = try String(contentsOf: dir.appendingPathComponent("jobs-iterations.svg"), encoding: .utf8)
        #expect(svg.hasPrefix("<svg") || svg.hasPrefix("<?xml"))
        #expect(svg.contains("train"))
    }
}

extension TrafficCLITests {
    @Test func ecmpCollisionExperimentPrintsItsFigures() throws {
        let r = try sluice(["experiment", "lb-ecmp-collisions", "--seeds", "30", "--json"])
        #expect(r.status == 0, "\(r.err)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any], "\(r.out)")
        #expect(json["seeds"] as? Int == 30)
        let busiest = try #require(json["mean_busiest_flows"] as? Double), used = try #require(json["mean_links_used"] as? Double)
        #expect(busiest >= 1 && busiest <= 8 && used >= 1 && used <= 8)
        #expect((json["busiest"] as? [Int])?.count == 30)
        let bad = try sluice(["experiment", "lb-ecmp-collisions", "--seeds", "0"])
        #expect(bad.status != 0 && bad.err.contains("--seeds 0"))
    }
}
