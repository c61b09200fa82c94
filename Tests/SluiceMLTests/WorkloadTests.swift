import SluiceTestingML
import Foundation
import Testing
import SluiceEmulator
import SluicePcapFiles
import SluicePrograms
import SluiceRuntime
import SluiceTesting
@testable import SluiceML

/// Workload families run in the emulator through the replay harness, and the traffic they
/// generate checked packet by packet from the host traces.
@Suite struct WorkloadTests {
    static let seed: UInt64 = 5

    /// 8 hosts under 2 leaves and 4 spines (1:1), 100 Gb/s, MTU 4096.
    static let leafSpine = """
        name: ws
        topology:
          generator: {leaf-spine: {spines: 4, leaves: 2, hosts-per-leaf: 4}}
          defaults:
            link: {rate: 100Gbps, delay: 1us, mtu: 4096, queue: {limit: 4MB}}
            switch: {program: ecmp-router}
        """

    static func options(trace: String? = nil, perHost: String? = nil) -> EmulatorOptions {
        print("WorkloadTests seed \(seed)")
        var o = EmulatorOptions()
        o.seed = seed
        o.hostTrace = trace
        o.hostTraceDirectory = perHost
        return o
    }

    static func temporary(_ name: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-workload-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    // MARK: every family runs

    @Test(arguments: [
        ("ddp", ["model=6MB", "bucket=2MB", "compute=1ms", "iterations=2"]),
        ("ddp", ["model=6MB", "compute=1ms", "iterations=1", "algorithm=tree"]),
        ("ddp", ["model=6MB", "compute=1ms", "iterations=1", "algorithm=halving-doubling"]),
        ("fsdp", ["model=8MB", "units=2", "compute=1ms", "iterations=1"]),
        ("pipeline", ["microbatches=4", "activation=512KB", "compute=50us", "iterations=2"]),
        ("tp", ["layers=2", "activation=1MB", "compute=50us", "iterations=1"]),
        ("moe", ["layers=1", "tokens=1MB", "compute=50us", "iterations=1", "skew=1.5"]),
        ("ps", ["servers=2", "model=4MB", "compute=100us", "iterations=2"]),
        ("3d", ["tp=2", "pp=2", "dp=2", "model=8MB", "microbatches=2", "activation=512KB", "compute=50us", "iterations=1"]),
        ("permutation", ["bytes=1MB", "iterations=2"]),
        ("incast", ["bytes=1MB", "to=3"]),
        ("alltoall", ["bytes=256KB"]),
        ("background", ["flows=40", "load=0.2"]),
    ])
    func familyRunsToCompletionWithEveryMessageOnce(_ family: String, _ parameters: [String]) throws {
        let h = try WorkloadHarness(workload: family, parameters, topology: Self.leafSpine, options: Self.options())
        let r = h.run()[0]
        try h.expectComplete()
        try h.expectEveryMessageDeliveredExactlyOnce()
        #expect(r.operationsDone == r.operations)
        let g = h.runs[0].graph
        if g.iterations > 0 { #expect(r.iterations.count == g.iterations, "\(family): \(r.iterations)") }
        #expect(r.phases.allSatisfy { $0.duration != nil }, "\(family): a phase never finished")
        // Bytes the hosts' connections carried = bytes the graph sends.
        let carried = h.emulator.connectionStats.reduce(UInt64(0)) { $0 + $1.bytesDelivered }
        #expect(carried == UInt64(g.bytesSentPerRank.reduce(0, +)), "\(family)")
    }

    @Test func inNetworkDDPRunsThroughTheSwitchmlSwitch() throws {
        let star = """
            name: star
            topology:
              generator: {star: {hosts: 4}}
              defaults:
                link: {rate: 100Gbps, delay: 1us, mtu: 1500, queue: {limit: 4MB}}
                switch: {program: switchml}
            """
        let h = try WorkloadHarness(workload: "ddp", ["model=2MB", "bucket=1MB", "first-bucket=256KB", "compute=500us", "iterations=2", "algorithm=in-network"],
                                    topology: star, aggregator: "sw", options: Self.options())
        let r = h.run()[0]
        try h.expectComplete()
        #expect(r.iterations.count == 2)
        #expect(r.collectives.count == 2 * 3)
        // No transport messages: every byte went through the switch.
        #expect(h.runs[0].graph.sends == 0)
        #expect(h.emulator.connectionStats.isEmpty)
    }

    // MARK: sanity checks of the generated traffic

    /// One ring allreduce of S bytes over 8 workers: each worker sends exactly 2(n-1)/n x S
    /// payload bytes, counted in the graph, by the transport, and in the per-host pcaps.
    @Test func ringAllreduceCarriesTwoNMinusOneOverNPerWorker() throws {
        let dir = try Self.temporary("ring")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let n = 8, size = 8_000_000
        let h = try WorkloadHarness(workload: "ddp", ["model=\(size)", "bucket=\(size)", "first-bucket=\(size)", "compute=0s", "iterations=1"],
                                    topology: Self.leafSpine, options: Self.options(perHost: dir))
        h.run()
        try h.expectComplete()
        try h.expectNoDrops()
        let expected = 2 * (n - 1) * size / n
        #expect(h.runs[0].graph.bytesSentPerRank == Array(repeating: expected, count: n))
        for host in 0..<n {
            let sent = h.emulator.connectionStats.filter { $0.source == host }.reduce(UInt64(0)) { $0 + $1.bytesDelivered }
            #expect(sent == UInt64(expected), "h\(host + 1): transport")
            let frames = try RoCEFrame.read("\(dir)/h\(host + 1).pcap")
            let ip = 0x0A00_0001 + UInt32(host)
            let payload = frames.filter { $0.srcIP == ip && $0.isData }.reduce(0) { $0 + $1.payload }
            #expect(payload == expected, "h\(host + 1): pcap")
        }
    }

    /// DDP traffic shows one burst per bucket, the bucket sizes in bytes (2(n-1)/n of each on
    /// every host), repeating once per iteration.
    @Test func ddpTrafficShowsBucketBurstsOncePerIteration() throws {
        let dir = try Self.temporary("ddp")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // 1 MB first, 2.5 MB buckets; backward (4 ms) produces a 2.5 MB bucket every 1 ms and
        // its allreduce takes ~0.4 ms: the buckets' traffic is separated by silence.
        let model = 10_000_000, n = 8
        let h = try WorkloadHarness(workload: "ddp", ["model=\(model)", "bucket=2.5MB", "first-bucket=1MB", "compute=6ms", "iterations=3"],
                                    topology: Self.leafSpine, options: Self.options(trace: "\(dir)/all.pcap"))
        let r = h.run()[0]
        try h.expectComplete()
        let frames = try RoCEFrame.read("\(dir)/all.pcap")
        let h1 = frames.filter { $0.srcIP == 0x0A00_0001 && $0.isData }
        // Bursts: data frames of h1 with less than 50 us between them.
        var bursts: [(start: Int64, bytes: Int)] = []
        var last = Int64.min / 2
        for f in h1 {
            if f.time - last > 50_000 { bursts.append((f.time, 0)) }
            bursts[bursts.count - 1].bytes += f.payload
            last = f.time
        }
        let buckets = [1_000_000, 2_500_000, 2_500_000, 2_500_000, 1_500_000]
        let perBurst = buckets.map { 2 * (n - 1) * $0 / n }
        #expect(bursts.map(\.bytes) == Array(repeating: perBurst, count: 3).flatMap { $0 }, "\(bursts)")
        // Period: the first bucket's burst starts once per iteration, as far apart as the
        // iterations the workload reports. h1 starts an iteration when its own previous one
        // ended, the report's iterations end with the last rank: a few microseconds apart.
        let starts = stride(from: 0, to: bursts.count, by: buckets.count).map { bursts[$0].start }
        for i in 1..<starts.count {
            let period = Double(starts[i] - starts[i - 1]) / 1e9
            #expect(abs(period / r.iterations[i] - 1) < 0.002, "iteration \(i + 1): burst period \(period) s, iteration \(r.iterations[i]) s")
            #expect(period >= 0.006, "an iteration cannot be shorter than its compute")
        }
    }

    /// RoCEv2 frames: UDP 4791, source port 0xC000 | queue pair, one source port per queue
    /// pair, spread over the connections; opcodes and QP decoded the same by tshark.
    @Test func roceSourcePortsComeFromTheQueuePair() throws {
        let dir = try Self.temporary("roce")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let h = try WorkloadHarness(workload: "alltoall", ["bytes=64KB"], topology: Self.leafSpine, options: Self.options(trace: "\(dir)/a.pcap"))
        h.run()
        try h.expectComplete()
        let frames = try RoCEFrame.read("\(dir)/a.pcap")
        #expect(!frames.isEmpty)
        #expect(frames.allSatisfy { $0.dstPort == 4791 && $0.srcPort >= 0xC000 })
        let data = frames.filter(\.isData)
        // One source port per queue pair, and each QP's port is 0xC000 | (QP - 0x100).
        let qps = Set(data.map(\.qp))
        #expect(qps.count == 8 * 7, "an all-to-all of 8 hosts opens 56 connections")
        #expect(data.allSatisfy { $0.srcPort == 0xC000 | UInt16(($0.qp - 0x100) & 0x3FFF) })
        #expect(Set(data.map(\.srcPort)).count == qps.count)
        // Independent decoder: tshark reads the same opcodes and queue pairs.
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/tshark") else {
            Issue.record("tshark is not installed (apt-get install tshark; .ci/run installs it): cannot cross-check the RoCE decoding")
            return
        }
        let out = try ChildProcess.run("/usr/bin/tshark", ["-r", "\(dir)/a.pcap", "-T", "fields", "-e", "udp.srcport", "-e", "infiniband.bth.opcode", "-e", "infiniband.bth.destqp"])
        #expect(out.status == 0, "\(out.err)")
        let rows = out.out.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        #expect(rows.count == frames.count)
        for (row, f) in zip(rows, frames) {
            #expect(row.count == 3 && Int(row[0]) == Int(f.srcPort) && Int(row[1]) == Int(f.opcode) && Int(row[2].dropFirst(2), radix: 16) == Int(f.qp), "\(row)")
        }
    }

    @Test func backgroundSizesFollowTheirDistribution() {
        for d in WorkloadCatalog.SizeDistribution.allCases {
            var rng = SplitMix64(seed: Self.seed)
            let n = 200_000
            var sum = 0.0
            for _ in 0..<n { sum += Double(d.size(at: Double(rng.next() >> 11) / Double(1 << 53))) }
            let mean = sum / Double(n)
            // The heavy tail makes the sample mean noisy: 5% at 200k samples.
            #expect(abs(mean / d.mean - 1) < 0.05, "\(d): sample mean \(mean), CDF mean \(d.mean)")
        }
        #expect(WorkloadCatalog.SizeDistribution.websearch.size(at: 0.15) == 10_000)
        #expect(WorkloadCatalog.SizeDistribution.datamining.size(at: 0.5) == 1460)
    }

    // MARK: the harness's checks can fail

    @Test func harnessChecksFailWhenTheirConditionDoesNot() throws {
        let h = try WorkloadHarness(workload: "incast", ["bytes=1MB"], topology: Self.leafSpine, options: Self.options())
        h.run(until: 20_000_000)   // 20 us: not done
        #expect(throws: HarnessError.self) { try h.expectComplete() }
        #expect(throws: HarnessError.self) { try h.expectEveryMessageDeliveredExactlyOnce() }
        let done = try WorkloadHarness(workload: "incast", ["bytes=1MB"], topology: Self.leafSpine, options: Self.options())
        done.run()
        try done.expectComplete()
        // 7 senders into one 100G port: the queue builds.
        #expect(done.deepestQueue.bytes > 100_000)
        #expect(throws: HarnessError.self) { try done.expectNoQueue(above: 100_000) }
        try done.expectNoQueue(above: 4_000_000 + 4200)
    }

    @Test func iterationTimeWithinTheComputePlusCommunicationBound() throws {
        // No overlap: each iteration is compute, then the allreduce of the whole model (one
        // bucket): at least compute + 2(n-1)/n x S / (line rate x efficiency).
        let n = 8.0, s = 4_000_000.0
        let h = try WorkloadHarness(workload: "ddp", ["model=4MB", "bucket=4MB", "first-bucket=4MB", "compute=1ms", "overlap=false", "iterations=3"],
                                    topology: Self.leafSpine, options: Self.options())
        h.run()
        let eta = TransportFormat.efficiency(mtu: 4096, countingAcks: true)
        let bound = 1e-3 + 2 * (n - 1) / n * s * 8 / (100e9 * eta)
        try h.expectIterationTime(within: 0.15, of: bound)
        #expect(throws: HarnessError.self) { try h.expectIterationTime(within: 0.15, of: bound * 1.5) }
    }

    // MARK: traces replay

    @Test func generatedTraceReplaysThroughAProgramAndATopology() throws {
        let dir = try Self.temporary("replay")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let h = try WorkloadHarness(workload: "permutation", ["bytes=200KB"], topology: Self.leafSpine, options: Self.options(perHost: dir))
        h.run()
        try h.expectComplete()
        // h1's trace through ipv4-router: every frame h1 sent leaves on the port of its
        // destination's route, TTL one lower.
        let frames = try RoCEFrame.read("\(dir)/h1.pcap").filter { $0.srcIP == 0x0A00_0001 }
        #expect(!frames.isEmpty)
        let entries = "table_add ipv4_lpm ipv4_forward 10.0.0.0/8 => 02:00:00:00:00:99 7\n"
        let program = try IPv4Router.program().verified()
        let sentOnly = dir + "/h1-sent.pcap"
        let w = try PcapWriter(path: sentOnly)
        for f in try PcapFileReader.readAll(path: "\(dir)/h1.pcap") where RoCEFrame.sourceIP(f.bytes) == 0x0A00_0001 {
            f.bytes.withUnsafeBytes { w.write(timestampNanoseconds: f.timestamp, bytes: $0) }
        }
        w.close()
        let out = try replayTrace(sentOnly, through: program, entries: entries, port: 1)
        #expect(out.frames == frames.count)
        #expect(out.outputs.keys.sorted() == [7])
        #expect(out.outputs[7]?.count == frames.count)
        #expect(out.outputs[7]!.allSatisfy { $0[22] == 63 })   // TTL 64 - 1

        // The same frames into a topology at h1's NIC reach their destinations.
        let again = try WorkloadHarness(topology: Self.leafSpine, options: Self.options())
        try again.replay(pcap: sentOnly, at: "h1", port: 0)
        again.run()
        #expect(again.emulator.injections[0].injected == UInt64(frames.count))
        #expect(again.report!.hosts.reduce(UInt64(0)) { $0 + $1.rxPackets } == UInt64(frames.count))
    }
}

/// What the tests need of a RoCEv2 frame (Ethernet, IPv4, UDP, BTH).
struct RoCEFrame {
    var time: Int64
    var srcIP: UInt32
    var srcPort: UInt16
    var dstPort: UInt16
    var opcode: UInt8
    var qp: Int
    /// Payload bytes after the 40-byte header, before the 4-byte ICRC.
    var payload: Int
    var isData: Bool { opcode != 0x11 }

    static func sourceIP(_ b: [UInt8]) -> UInt32 {
        UInt32(b[26]) << 24 | UInt32(b[27]) << 16 | UInt32(b[28]) << 8 | UInt32(b[29])
    }

    static func read(_ path: String) throws -> [RoCEFrame] {
        try PcapFileReader.readAll(path: path).compactMap { p in
            let b = p.bytes
            guard b.count >= 14 + 20 + 8 + 12, b[12] == 0x08, b[13] == 0x00, b[23] == 17 else { return nil }
            let udp = 14 + Int(b[14] & 0x0F) * 4
            let sport = UInt16(b[udp]) << 8 | UInt16(b[udp + 1]), dport = UInt16(b[udp + 2]) << 8 | UInt16(b[udp + 3])
            let udpLength = Int(b[udp + 4]) << 8 | Int(b[udp + 5])
            let bth = udp + 8
            return RoCEFrame(time: p.timestamp, srcIP: sourceIP(b), srcPort: sport, dstPort: dport, opcode: b[bth],
                             qp: Int(b[bth + 5]) << 16 | Int(b[bth + 6]) << 8 | Int(b[bth + 7]),
                             payload: udpLength - 8 - 40 - 4)
        }
    }
}

