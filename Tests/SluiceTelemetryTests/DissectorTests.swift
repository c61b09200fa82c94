import SluiceControlPlane
import Foundation
import SluiceEmulator
import SluiceML
import SluicePrograms
import SluiceTelemetry
import SluiceTesting
import Testing

/// tshark with the dissector `sluice wireshark-dissector` writes: the fields it shows, one line
/// per frame, values of repeated fields joined by commas.
struct TShark {
    let lua: String
    let dir: String

    static let tool = "/usr/bin/tshark"

    init() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.tool), "tshark is needed (apt-get install tshark; .ci/run installs it)")
        dir = NSTemporaryDirectory() + "sluice-dissector-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        lua = dir + "/sluice.lua"
        let r = try ChildProcess.run(sluiceBinaryPath, ["wireshark-dissector", "-o", lua], seconds: 60)
        #expect(r.status == 0, "\(r.err)")
    }

    func remove() { try? FileManager.default.removeItem(atPath: dir) }

    func fields(_ pcap: String, filter: String? = nil, _ names: [String]) throws -> [[String]] {
        var args = ["-X", "lua_script:" + lua, "-r", pcap, "-T", "fields"]
        if let f = filter { args += ["-Y", f] }
        for n in names { args += ["-e", n] }
        let r = try ChildProcess.run(Self.tool, args, seconds: 120)
        #expect(r.status == 0 && !r.err.contains("Lua: Error"), "tshark: \(r.err)")
        return r.out.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
            .map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
    }
}

@Suite struct DissectorTests {
    @Test func theCommandWritesTheShippedDissector() throws {
        let t = try TShark()
        defer { t.remove() }
        let written = try String(contentsOfFile: t.lua, encoding: .utf8)
        #expect(written == WiresharkDissector.lua)
        #expect(written.contains("Proto(\"int_md\"") && written.contains("Proto(\"int_report\"") && written.contains("Proto(\"switchml\""))
        let out = try ChildProcess.run(sluiceBinaryPath, ["wireshark-dissector"], seconds: 60)
        #expect(out.status == 0 && out.out == written)
    }

    @Test func intReportsAndINTOverUDPShowTheirFields() throws {
        try #require(ScapyOracle.available, "scapy (python3-scapy) is the independent oracle")
        let t = try TShark()
        defer { t.remove() }
        let hops = [HopSpec(nodeID: 202, ingressPort: 3, egressPort: 4, hopLatency: 1234, queueID: 5, queueOccupancy: 70_000,
                            ingressTimestamp: 1_000_000_000_123, egressTimestamp: 1_000_000_001_357),
                    HopSpec(nodeID: 101, ingressPort: 1, egressPort: 2, hopLatency: 77, queueID: 0, queueOccupancy: 1500,
                            ingressTimestamp: 999_999_000_000, egressTimestamp: 999_999_000_077)]
        let local = HopSpec(ingressPort: 9, egressPort: 10, hopLatency: 55, queueID: 2, queueOccupancy: 4242, dropReason: 0)
        let spec = ReportSpec(hwID: 3, seq: 4_000_001, nodeID: 303, reports: [IndividualSpec(
            repType: 1, inType: 3, d: 0, q: 1, f: 1, i: 0, repMdBits: 0x7000, domain: 7, local: local,
            inner: InnerSpec(src: "10.0.1.1", dst: "10.0.2.2", sport: 40_123, dport: 0x4568,
                             int: INTSpec(bitmap: 0xFC00, rhc: 6, domain: 9, hops: hops, npt: 1, shimData: 5201)))])
        let pcap = t.dir + "/int.pcap"
        _ = try ScapyOracle.build(OracleRequest(packets: [spec], pcap: pcap, innerFrames: true))
        let rows = try t.fields(pcap, ["int_report.version", "int_report.hw_id", "int_report.seq", "int_report.node_id",
                                       "int_report.rep_type", "int_report.in_type", "int_report.q", "int_report.rep_md_bits",
                                       "int_report.md.hop_latency", "int_report.md.queue_occupancy", "int_report.md.egress_port",
                                       "int_md.shim.type", "int_md.shim.length", "int_md.shim.original_port", "int_md.version",
                                       "int_md.hop_ml", "int_md.rhc", "int_md.instruction_bitmap", "int_md.hops",
                                       "int_md.hop.node_id", "int_md.hop.queue_occupancy", "int_md.hop.hop_latency",
                                       "int_md.hop.egress_port", "int_md.hop.ingress_timestamp", "int_md.hop.egress_timestamp"])
        // Frame 1: the original packet on its own; frame 2: the report carrying it. Bitmap 0xFC00
        // is 8 words a hop (two 8-byte timestamps), so Length = 3 + 2 x 8.
        #expect(rows.count == 2)
        let intFields = ["1", "19", "5201", "2", "8", "6", "0xfc00", "2", "202,101", "70000,1500", "1234,77", "4,2",
                         "1000000000123,999999000000", "1000000001357,999999000077"]
        #expect(rows.first.map { Array($0[11...]) } == intFields)
        #expect(rows.first.map { $0[0...10].allSatisfy(\.isEmpty) } == true)
        #expect(rows.last.map { Array($0[0...10]) } == ["2", "3", "4000001", "303", "1", "3", "1", "0x7000", "55", "4242", "10"])
        #expect(rows.last.map { Array($0[11...]) } == intFields)
    }

    @Test func switchMLFromAnEmulatorPcap() throws {
        let t = try TShark()
        defer { t.remove() }
        let n = 2, k = 32, chunks = 3
        var inputs: [[Int32]] = []
        for w in 0..<n { inputs.append((0..<(k * chunks)).map { (i: Int) -> Int32 in Int32(w * 1000 + i * 7 - 50) }) }
        var sum = [Int32](repeating: 0, count: k * chunks)
        for w in 0..<n { for i in 0..<sum.count { sum[i] &+= inputs[w][i] } }
        let yaml = """
            name: switchml-pcap
            topology:
              generator: {star: {hosts: \(n)}}
              defaults:
                link: {rate: 10Gbps, delay: 1us}
                switch: {program: switchml}
            """
        let spec = try TopologyFile.parse(yaml, file: "t.yaml", baseDirectory: ".", seed: 1, programs: .builtIn)
        var options = EmulatorOptions()
        options.pcapDirectory = t.dir
        let programs = ProgramResolver.builtIn.replacing(SwitchML.name) { try SwitchML.program(k: k, slots: 64, shadow: true).verified() }
        let emulator = try Emulator(spec, options: options, programs: programs)
        let buffers: [TensorBuffer<Int32>] = inputs.map { TensorBuffer($0) }
        let run = try InNetworkRun(emulator: emulator, switchName: "sw", workers: ["h1", "h2"], buffers: buffers,
                                   config: AggregationConfig(job: 3, workers: n, elementsPerPacket: k, poolSlots: 8))
        _ = emulator.run(until: 1_000_000_000_000)
        #expect(run.outcome.complete)
        let h1 = try #require(try FileManager.default.contentsOfDirectory(atPath: t.dir).first { $0.hasSuffix(".pcapng") && $0.contains("h1") })
        let rows = try t.fields(t.dir + "/" + h1, filter: "switchml", ["ip.src", "switchml.msg_type", "switchml.job", "switchml.size",
                                                                       "switchml.values", "switchml.value"])
        let updates = rows.filter { $0[1] == "0" }, results = rows.filter { $0[1] == "1" }
        #expect(updates.count == chunks && results.count == chunks)
        #expect(rows.allSatisfy { $0[2] == "3" && $0[3] == "0" && $0[4] == "\(k)" })
        func split(_ v: [Int32]) -> Set<[Int32]> { Set(stride(from: 0, to: v.count, by: k).map { Array(v[$0..<($0 + k)]) }) }
        func values(_ r: [String]) -> [Int32] { r[5].split(separator: ",").map { Int32($0)! } }
        #expect(Set(updates.map(values)) == split(inputs[0]))
        #expect(Set(results.map(values)) == split(sum))
    }
}
