import Foundation
import SluiceTelemetry
import SluiceTesting
import SluiceRuntime
import Testing

/// What the decoder should read for a hop written with `bitmap` (fields not asked for stay all
/// ones); `report`: RepMdBits meaning (bit 0 reserved, bit 15 queue id + drop reason).
func expectedHop(_ h: HopSpec, bitmap: UInt16, report: Bool, node: UInt32? = nil) -> INTHop {
    var e = INTHop()
    if bitmap & 0x8000 != 0, !report { e.nodeID = h.nodeID }
    if let node { e.nodeID = node }
    if bitmap & 0x4000 != 0 { e.ingressPort = h.ingressPort; e.egressPort = h.egressPort }
    if bitmap & 0x2000 != 0 { e.hopLatency = h.hopLatency }
    if bitmap & 0x1000 != 0 { e.queueID = h.queueID; e.queueOccupancy = h.queueOccupancy }
    if bitmap & 0x0800 != 0 { e.ingressTimestamp = h.ingressTimestamp }
    if bitmap & 0x0400 != 0 { e.egressTimestamp = h.egressTimestamp }
    if bitmap & 0x0200 != 0 { e.level2Ingress = h.level2Ingress; e.level2Egress = h.level2Egress }
    if bitmap & 0x0100 != 0 { e.txUtilization = h.txUtilization }
    if bitmap & 0x0080 != 0 { e.bufferID = h.bufferID; e.bufferOccupancy = h.bufferOccupancy }
    if bitmap & 0x0001 != 0 { if report { e.queueID = h.queueID } else { e.checksumComplement = h.checksum } }
    return e
}

func randomHop(_ rng: inout SplitMix64, node: UInt32) -> HopSpec {
    func r<T: FixedWidthInteger>(_ t: T.Type) -> T { T(truncatingIfNeeded: rng.next()) }
    // Values below all ones: all ones means "absent" on the wire.
    return HopSpec(nodeID: node, ingressPort: r(UInt16.self) & 0x7FFF, egressPort: r(UInt16.self) & 0x7FFF,
                   hopLatency: r(UInt32.self) & 0x7FFF_FFFF, queueID: r(UInt8.self) & 0x7F, queueOccupancy: r(UInt32.self) & 0x7F_FFFF,
                   ingressTimestamp: r(UInt64.self) >> 1, egressTimestamp: r(UInt64.self) >> 1, level2Ingress: r(UInt32.self) >> 1,
                   level2Egress: r(UInt32.self) >> 1, txUtilization: r(UInt32.self) >> 1, bufferID: r(UInt8.self) & 0x7F,
                   bufferOccupancy: r(UInt32.self) & 0x7F_FFFF, checksum: r(UInt32.self), dropReason: r(UInt8.self))
}

func decodeAll(_ payload: [UInt8], detection: INTDetection = INTDetection()) -> (reports: [TelemetryReport], hops: [[INTHop]], problems: [MalformedReport]) {
    let d = TelemetryDecoder(detection: detection)
    var reports: [TelemetryReport] = [], hops: [[INTHop]] = [], problems: [MalformedReport] = []
    payload.withUnsafeBytes { p in
        var r = TelemetryReport()
        if let bad = d.group(p, into: &r) { problems.append(bad); return }
        var offset = 8, next = 0
        while offset + 4 <= p.count {
            if let bad = d.individual(p, at: offset, into: &r, next: &next) { problems.append(bad) } else {
                reports.append(r)
                hops.append((0..<r.int.hopCount).map { d.hops[$0] })
            }
            guard next > offset else { break }
            offset = next
        }
    }
    return (reports, hops, problems)
}

@Suite struct DecoderTests {
    @Test func scapyBuiltReportsDecodeToTheExactFields() throws {
        try #require(ScapyOracle.available, "scapy (python3-scapy) is the independent oracle")
        let seed = testSeed("telemetry decoder")
        var rng = SplitMix64(seed: seed)
        // Every defined bit, reserved bit 9 and the checksum complement; then the common sets.
        let bitmaps: [UInt16] = [0xFFC1, 0x9000, 0xF000, 0x1000, 0x8C00, 0x0000]
        var packets: [ReportSpec] = []
        var expected: [(spec: ReportSpec, stack: [HopSpec], bitmap: UInt16, local: HopSpec, repBits: UInt16)] = []
        for (k, bitmap) in bitmaps.enumerated() {
            let stack = (0..<(k % 4 + 1)).map { i in randomHop(&rng, node: UInt32(100 + i)) }.reversed()
            let local = randomHop(&rng, node: 0)
            let repBits: UInt16 = k == 0 ? 0xFFC1 : 0x7000
            var inner = InnerSpec(src: "10.1.\(k).1", dst: "10.2.\(k).2", sport: UInt16(1000 + k), dport: 0x4568, proto: "udp", dscp: 0,
                                  int: INTSpec(bitmap: bitmap, rhc: UInt8(8 - stack.count), d: 1, e: k & 1, m: 0, domain: 0x1234,
                                               dsInstruction: 0xBEEF, dsFlags: 0x0102, hops: Array(stack), npt: 1, shimData: UInt16(7000 + k)),
                                  payload: 20)
            if bitmap == 0 { inner.int!.hops = [] }
            let ind = IndividualSpec(repType: 1, inType: 3, d: 0, q: k & 1, f: 1, i: 0, repMdBits: repBits, domain: 0x1234,
                                     dsMdBits: 0x00A0, dsMdStatus: 0x0050, local: local, inner: inner)
            let spec = ReportSpec(hwID: UInt8(k + 1), seq: UInt32(0x3F_FFF0 + k), nodeID: 0xAB00 + UInt32(k), reports: [ind])
            packets.append(spec)
            expected.append((spec, bitmap == 0 ? [] : Array(stack), bitmap, local, repBits))
        }
        let payloads = try ScapyOracle.build(OracleRequest(packets: packets))
        #expect(payloads.count == packets.count)
        for (i, payload) in payloads.enumerated() {
            let e = expected[i]
            let (reports, hops, problems) = decodeAll(payload)
            #expect(problems.isEmpty, "packet \(i): \(problems)")
            let r = try #require(reports.first)
            #expect(reports.count == 1)
            #expect(r.hardwareID == e.spec.hwID && r.sequence == e.spec.seq && r.nodeID == e.spec.nodeID)
            #expect(r.reportType == 1 && r.innerType == 3 && r.tracked && !r.dropped && !r.intermediate && r.congested == (i & 1 == 1))
            #expect(r.reportMetadataBits == e.repBits && r.domainID == 0x1234 && r.dsMetadataBits == 0x00A0 && r.dsMetadataStatus == 0x0050)
            #expect(r.local == expectedHop(e.local, bitmap: e.repBits, report: true, node: e.spec.nodeID))
            if e.repBits & 1 != 0 { #expect(r.dropReason == e.local.dropReason) }
            #expect(r.hasFlow && r.flow == FlowKey(source: 0x0A01_0001 | UInt32(i) << 8, destination: 0x0A02_0002 | UInt32(i) << 8,
                                                   proto: 17, sourcePort: UInt16(1000 + i), destinationPort: UInt16(7000 + i)))
            #expect(r.hasINT && r.int.shimType == 1 && r.int.npt == 1 && r.int.version == 2 && r.int.discard && r.int.hopCountExceeded == (i & 1 == 1))
            #expect(r.int.instructionBitmap == e.bitmap && r.int.domainID == 0x1234 && r.int.dsInstruction == 0xBEEF && r.int.dsFlags == 0x0102)
            #expect(Int(r.int.hopML) == INTFormat.hopWords(bitmap: e.bitmap))
            #expect(r.int.remainingHopCount == e.spec.reports[0].inner.int!.rhc)
            #expect(hops[0] == e.stack.map { expectedHop($0, bitmap: e.bitmap, report: false) })
        }
    }

    @Test func hopWordsFollowTheInstructionTable() {
        // The reference's worked example: node id + queue is 2 words.
        #expect(INTFormat.hopWords(bitmap: 0x9000) == 2)
        #expect(INTFormat.hopWords(bitmap: 0x0E00) == 6)
        #expect(INTFormat.hopWords(bitmap: 0xFF81) == 13)   // 9 + 3 wide + checksum
        #expect(INTFormat.hopWords(bitmap: 0x0000) == 0)
    }

    @Test func severalReportsInOnePacketAndOtherShapes() throws {
        try #require(ScapyOracle.available, "scapy (python3-scapy) is the independent oracle")
        let h1 = HopSpec(nodeID: 1, ingressPort: 3, egressPort: 4, hopLatency: 700, queueID: 0, queueOccupancy: 12)
        let h2 = HopSpec(nodeID: 2, ingressPort: 1, egressPort: 9, hopLatency: 90, queueID: 1, queueOccupancy: 3)
        let int = INTSpec(bitmap: 0xF000, hops: [h2, h1])
        // NPT 1 (port in the shim); DSCP-marked TCP (NPT 0); NPT 2 with the original UDP header
        // after the stack; a report running to the end of the payload (ReportLength 0xFF).
        var tcp = InnerSpec(sport: 443, dport: 8080, proto: "tcp", dscp: 0x17, int: int)
        tcp.int!.npt = 0
        var npt2 = InnerSpec(sport: 9, dport: 0x4568, int: int)
        npt2.int!.npt = 2; npt2.int!.shimData = 17
        var toEnd = IndividualSpec(inner: InnerSpec(sport: 7, int: INTSpec(bitmap: 0x8000, hops: [HopSpec(nodeID: 5)], shimData: 53)))
        toEnd.repLen = -1
        let spec = ReportSpec(hwID: 3, seq: 17, nodeID: 2, reports: [
            IndividualSpec(inner: InnerSpec(sport: 1, int: int, payload: 3)),
            IndividualSpec(inner: tcp),
            IndividualSpec(inner: npt2),
            toEnd,
        ])
        let payloads = try ScapyOracle.build(OracleRequest(packets: [spec]))
        let (reports, hops, problems) = decodeAll(payloads[0], detection: INTDetection(udpPort: 0x4568, dscp: 0x17))
        #expect(problems.isEmpty)
        #expect(reports.count == 4)
        guard reports.count == 4 else { return }
        #expect(reports[0].flow.sourcePort == 1 && reports[0].flow.destinationPort == 0 && reports[0].flow.proto == 17)
        #expect(reports[1].flow == FlowKey(source: 0x0A00_0001, destination: 0x0A00_0002, proto: 6, sourcePort: 443, destinationPort: 8080))
        #expect(reports[2].flow.proto == 17 && reports[2].flow.sourcePort == 0xABAB && reports[2].flow.destinationPort == 0xABAB,
                "NPT 2: the ports of the L4 header after the stack (here payload bytes 0xAB)")
        #expect(reports[3].reportLength == 0xFF && reports[3].flow.destinationPort == 53)
        for i in 0..<3 { #expect(hops[i] == [h2, h1].map { expectedHop($0, bitmap: 0xF000, report: false) }) }
        #expect(hops[3] == [expectedHop(HopSpec(nodeID: 5), bitmap: 0x8000, report: false)])
    }
}

