import Foundation
import SluiceRuntime
import SluiceTelemetry
import SluiceTesting
import Testing

func minimalReport(node: UInt32, hw: UInt8, seq: UInt32) -> ReportSpec {
    ReportSpec(hwID: hw, seq: seq, nodeID: node, reports: [IndividualSpec(inner: InnerSpec(int: INTSpec(bitmap: 0x9000, hops: [HopSpec(nodeID: 1)])))])
}

@Suite struct CollectorTests {
    @Test func lostReportsAreCountedBySequencePerSource() throws {
        try #require(ScapyOracle.available, "scapy (python3-scapy) is the independent oracle")
        // Source (7, 0): 3 and 4 go missing, then 4 arrives late. Source (7, 1): the 22-bit
        // sequence wraps, then 1 and 2 go missing. Source (8, 0): nothing lost.
        let a: [UInt32] = [0, 1, 2, 5, 6, 4]
        let b: [UInt32] = [4_194_302, 4_194_303, 0, 3]
        let c: [UInt32] = [10, 11, 12]
        var specs: [ReportSpec] = []
        for i in 0..<6 {
            if i < a.count { specs.append(minimalReport(node: 7, hw: 0, seq: a[i])) }
            if i < b.count { specs.append(minimalReport(node: 7, hw: 1, seq: b[i])) }
            if i < c.count { specs.append(minimalReport(node: 8, hw: 0, seq: c[i])) }
        }
        let collector = TelemetryCollector()
        for (i, p) in try ScapyOracle.build(OracleRequest(packets: specs)).enumerated() { collector.receive(p, at: Int64(i)) }
        let s = collector.summary()
        #expect(s.packets == 13 && s.reports == 13 && s.intReports == 13 && s.malformedTotal == 0)
        #expect(s.sources.map { [Int($0.node), Int($0.hardwareID), $0.received, $0.lost, $0.late] } == [[7, 0, 6, 1, 1], [7, 1, 4, 2, 0], [8, 0, 3, 0, 0]])
        #expect(s.lostReports == 3)
    }

    @Test func malformedReportsAreCountedByKindNotFatal() throws {
        try #require(ScapyOracle.available, "scapy (python3-scapy) is the independent oracle")
        let good = IndividualSpec(inner: InnerSpec(int: INTSpec(bitmap: 0x9000, hops: [HopSpec(nodeID: 1), HopSpec(nodeID: 2)])))
        func with(_ f: (inout IndividualSpec) -> Void) -> ReportSpec {
            var r = good
            f(&r)
            return ReportSpec(nodeID: 9, reports: [r])
        }
        var shortGroup = ReportSpec(nodeID: 9, reports: [good]); shortGroup.truncate = 5
        var badVersion = ReportSpec(nodeID: 9, reports: [good]); badVersion.version = 1
        var shortIndividual = ReportSpec(nodeID: 9, reports: [good]); shortIndividual.truncate = 10
        let cases: [(MalformedReport, ReportSpec)] = [
            (.shortGroupHeader, shortGroup),
            (.badReportVersion, badVersion),
            (.shortIndividualHeader, shortIndividual),
            (.reportBeyondPayload, with { $0.repLen = 200 }),
            (.metadataBeyondReport, with { $0.mdLen = 100 }),
            (.innerTruncated, with { $0.inner.truncate = 20 }),
            (.innerNotIPv4, with { $0.inType = 4 }),   // an Ethernet frame said to be IPv4
            (.intTruncated, with { $0.inner.truncate = 14 + 20 + 8 + 16 + 4 }),
            (.intBadVersion, with { $0.inner.int!.version = 1 }),
            (.intShortLength, with { $0.inner.int!.length = 2 }),
            (.intHopLengthTooSmall, with { $0.inner.int!.hopML = 1 }),
            (.intStackNotWholeHops, with { $0.inner.int!.length = 3 + 3 }),
        ]
        #expect(Set(cases.map(\.0)) == Set(MalformedReport.allCases), "every kind is exercised")
        let payloads = try ScapyOracle.build(OracleRequest(packets: cases.map(\.1) + [ReportSpec(nodeID: 9, reports: [good])]))
        for (i, (kind, _)) in cases.enumerated() {
            let c = TelemetryCollector()
            c.receive(payloads[i], at: 0)
            #expect(c.malformedCount(kind) == 1 && c.malformedTotal == 1, "\(kind.name): \(c.summary().malformed.filter { $0.value > 0 })")
            #expect(c.intReports == 0)
        }
        // After all of them, a good report still decodes.
        let c = TelemetryCollector()
        for p in payloads { c.receive(p, at: 0) }
        #expect(c.malformedTotal == cases.count && c.intReports == 1 && c.packets == cases.count + 1)
        #expect(c.summaryText().contains("1 int_stack_not_whole_hops: the metadata stack is not a whole number of HopML-word hops"))
    }

    @Test func truncatedAndCorruptedReportsNeverCrash() throws {
        try #require(ScapyOracle.available, "scapy (python3-scapy) is the independent oracle")
        let seed = testSeed("telemetry fuzz")
        var rng = SplitMix64(seed: seed)
        let stack = (0..<3).map { randomHop(&rng, node: UInt32($0)) }
        let spec = ReportSpec(hwID: 1, seq: 5, nodeID: 3, reports: [
            IndividualSpec(repMdBits: 0xFFC1, local: randomHop(&rng, node: 0), inner: InnerSpec(int: INTSpec(bitmap: 0xFFC1, hops: stack))),
            IndividualSpec(inner: InnerSpec(proto: "tcp", dscp: 0x17, int: INTSpec(bitmap: 0x9000, hops: [HopSpec(nodeID: 4)], npt: 0))),
        ])
        let payload = try ScapyOracle.build(OracleRequest(packets: [spec]))[0]
        let c = TelemetryCollector(detection: INTDetection(udpPort: 0x4568, dscp: 0x17))
        var fed = 0, short = 0
        for n in 0...payload.count {
            c.receive(Array(payload[0..<n]), at: Int64(fed)); fed += 1
        }
        for _ in 0..<20_000 {
            var p = payload
            for _ in 0..<(1 + Int(rng.next() % 4)) { p[Int(rng.next() % UInt64(p.count))] = UInt8(truncatingIfNeeded: rng.next()) }
            if rng.next() % 3 == 0 { p = Array(p[0..<Int(rng.next() % UInt64(p.count + 1))]) }
            if p.count < 8 { short += 1 }
            c.receive(p, at: Int64(fed)); fed += 1
        }
        #expect(c.packets == fed)
        // Every packet ends as a read report or a named problem (at least one of them).
        #expect(c.reports + c.malformedTotal >= fed)
        #expect(c.malformedCount(.shortGroupHeader) == 8 + short, "the cuts inside the group header")
    }

    @Test func pathsLatencyAndQueuesPerHop() throws {
        try #require(ScapyOracle.available, "scapy (python3-scapy) is the independent oracle")
        func hop(_ node: UInt32, _ port: UInt16, _ lat: UInt32, _ occ: UInt32) -> HopSpec {
            HopSpec(nodeID: node, ingressPort: 1, egressPort: port, hopLatency: lat, queueOccupancy: occ)
        }
        // Flow 1 over 1 > 2 (stack newest first), reported by node 3 with its own metadata;
        // flow 2 over 1 > 4, its sink (node 4) pushed itself on the stack.
        var specs: [ReportSpec] = []
        let occupancies: [UInt32] = [0, 1500, 3000, 1500]
        for (i, occ) in occupancies.enumerated() {
            specs.append(ReportSpec(seq: UInt32(i), nodeID: 3, reports: [IndividualSpec(
                repMdBits: 0x7000, local: hop(0, 2, 50, 10),
                inner: InnerSpec(sport: 1, int: INTSpec(bitmap: 0xF000, hops: [hop(2, 5, 100 + UInt32(i), occ), hop(1, 7, 10, 0)])))]))
        }
        specs.append(ReportSpec(seq: 0, nodeID: 4, reports: [IndividualSpec(
            repMdBits: 0x7000, local: hop(0, 1, 1, 1),
            inner: InnerSpec(sport: 2, int: INTSpec(bitmap: 0xF000, hops: [hop(4, 1, 5, 0), hop(1, 8, 20, 60)])))]))
        let c = TelemetryCollector()
        for (i, p) in try ScapyOracle.build(OracleRequest(packets: specs)).enumerated() { c.receive(p, at: Int64(i) * 1000) }
        let s = c.summary()
        #expect(s.paths.map(\.nodes) == [[1, 2, 3], [1, 4]])
        #expect(s.paths[0].reports == 4 && s.paths[1].reports == 1)
        #expect(s.paths[0].latency?.min == 10 + 100 + 50 && s.paths[0].latency?.max == 10 + 103 + 50)
        #expect(s.paths[1].latency?.max == 25)
        #expect(s.flows.map(\.reports) == [4, 1] && s.flows.map(\.path) == [0, 1])
        let hottest = try #require(s.hottest)
        #expect(hottest.node == 2 && hottest.egressPort == 5 && hottest.maxOccupancy == 3000 && hottest.samples == 4)
        #expect(hottest.meanOccupancy == 1500)
        #expect(s.hops.first { $0.node == 1 && $0.egressPort == 8 }?.maxOccupancy == 60)
        #expect(c.samples.filter { $0.node == 2 }.map(\.occupancy) == occupancies)
        #expect(c.samples.filter { $0.node == 2 }.map(\.time) == [0, 1000, 2000, 3000])
    }

    @Test func reportFolderHasPlotsTablesAndJSON() throws {
        try #require(ScapyOracle.available, "scapy (python3-scapy) is the independent oracle")
        let specs = (0..<5).map { i in
            ReportSpec(seq: UInt32(i), nodeID: 3, reports: [IndividualSpec(inner: InnerSpec(int: INTSpec(
                bitmap: 0xF000, hops: [HopSpec(nodeID: 2, egressPort: 4, hopLatency: 100, queueOccupancy: UInt32(i * 100))])))])
        }
        let c = TelemetryCollector()
        for (i, p) in try ScapyOracle.build(OracleRequest(packets: specs)).enumerated() { c.receive(p, at: Int64(i) * 1_000_000) }
        let dir = NSTemporaryDirectory() + "sluice-collector-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let index = try c.writeReport(to: dir)
        #expect(index.hasSuffix("index.html"))
        for f in ["queue-occupancy.svg", "path-latency.svg", "report.json", "hop-samples.csv", "path-latency.csv"] {
            #expect(FileManager.default.fileExists(atPath: dir + "/" + f), "\(f)")
        }
        let csv = try String(contentsOfFile: dir + "/hop-samples.csv", encoding: .utf8).split(separator: "\n")
        #expect(csv.count == 6)
        #expect(csv[3] == "2000000,2,0,4,0,200,100,10.0.0.1:5000 > 10.0.0.2:0 udp,0")
        let svg = try String(contentsOfFile: dir + "/queue-occupancy.svg", encoding: .utf8)
        #expect(svg.contains("node 2 port 4"))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/report.json"))) as? [String: Any]
        #expect(json?["int_reports"] as? Int == 5 && json?["lost_reports"] as? Int == 0)
    }
}
