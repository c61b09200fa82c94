import Foundation
import SluiceRuntime
import SluiceTelemetry
import Testing

/// Forged reports cannot drive the collector's state without bound: flows past `maxFlows` are
/// counted, not kept, and a sequence number that jumps implausibly far ahead is counted as
/// such, not as millions of lost reports.
@Suite struct CollectorBoundsTests {
    /// A Telemetry Report v2.0 packet with one inner-only report of an IPv4/UDP packet carrying
    /// an empty INT-MD stack: the smallest report that names a flow (its source address).
    static func report(node: UInt32, sequence: UInt32, source: UInt32) -> [UInt8] {
        func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
        let intBytes = 4 + 12
        let ipv4: [UInt8] = [0x45, 0] + be16(UInt16(20 + 8 + intBytes)) + [0, 0, 0, 0, 64, 17, 0, 0] + be32(source) + be32(0x0A00_0002)
        let udp = be16(1234) + be16(INTFormat.defaultINTPort) + be16(UInt16(8 + intBytes)) + [0, 0]
        let shim: [UInt8] = [INTFormat.shimMD << 4, 3, 0, 0]
        let md = be32(UInt32(INTFormat.version) << 28 | 1 << 8) + [0, 0, 0, 0, 0, 0, 0, 0]
        let group = be32(UInt32(INTFormat.version) << 28 | sequence) + be32(node)
        let individual = be32(UInt32(INTFormat.InnerType.ipv4.rawValue) << 24 | UInt32(INTFormat.lengthToEnd) << 16)
        return group + individual + ipv4 + udp + shim + md
    }

    @Test func theReportIsReadAsOneINTReportOfOneFlow() {
        let c = TelemetryCollector()
        c.receive(Self.report(node: 1, sequence: 0, source: 0x0A00_0001), at: 0)
        #expect(c.reports == 1 && c.intReports == 1 && c.malformedTotal == 0 && c.flows.count == 1)
    }

    @Test func flowsPastTheCapAreCountedNotKept() throws {
        let c = TelemetryCollector(maxFlows: 100)
        for i in 0..<250 { c.receive(Self.report(node: 1, sequence: UInt32(i), source: 0x0B00_0000 + UInt32(i)), at: Int64(i)) }
        // A flow already kept is still recorded.
        c.receive(Self.report(node: 1, sequence: 250, source: 0x0B00_0000), at: 250)
        #expect(c.flows.count == 100)
        #expect(c.flowsDropped == 150)
        #expect(c.intReports == 251 && c.flows[0].reports == 2)
        let s = c.summary()
        #expect(s.flowsDropped == 150 && s.flows.count == 100)
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(s)) as? [String: Any]
        #expect(json?["flows_dropped"] as? Int == 150)
        #expect(c.summaryText().contains("  150 reports of flows not kept: the collector keeps at most 100 flows\n"))
    }

    @Test func theDefaultCapIs65536Flows() {
        let c = TelemetryCollector()
        #expect(c.maxFlows == 65_536)
        for i in 0..<(65_536 + 10) { c.receive(Self.report(node: 1, sequence: UInt32(i), source: UInt32(i)), at: 0) }
        #expect(c.flows.count == 65_536 && c.flowsDropped == 10)
    }

    @Test func aForgedJumpIsImplausibleNotMillionsLost() throws {
        let c = TelemetryCollector()
        // Genuine 0, 1, 2; a forged 2,000,000 (a jump of 1,999,997); genuine 3, 4 (one lost: 5); 6.
        for (i, seq) in [0, 1, 2, 2_000_000, 3, 4, 6].enumerated() {
            c.receive(Self.report(node: 7, sequence: UInt32(seq), source: 0x0A00_0001), at: Int64(i))
        }
        #expect(c.implausibleSequence == 1)
        #expect(c.lostReports == 1)
        let s = c.summary()
        #expect(s.sources.map { [$0.received, $0.lost, $0.late, $0.implausible] } == [[7, 1, 0, 1]])
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(s)) as? [String: Any]
        #expect(json?["implausible_sequence"] as? Int == 1 && json?["lost_reports"] as? Int == 1)
    }

    @Test func aJumpOfExactlyTheBoundIsLoss() {
        var t = SequenceTracker()
        t.record(0)
        t.record(SequenceTracker.maxPlausibleGap + 1)    // a gap of exactly 2^20
        #expect(t.lost == 1 << 20 && t.implausible == 0)
    }

    /// A source that really jumped is followed again from its second report after the jump.
    @Test func aRealJumpIsFollowedFromItsSecondReport() {
        var t = SequenceTracker()
        for s: UInt32 in [10, 11, 2_000_000, 2_000_001, 2_000_003] { t.record(s) }
        #expect(t.implausible == 1 && t.lost == 1 && t.late == 0)
    }

    /// Forged jumps among eight genuine streams, drawn from a printed seed: none counts as loss.
    @Test func randomForgedJumpsNeverCountAsLoss() {
        let seed: UInt64 = 28
        print("randomForgedJumpsNeverCountAsLoss: seed \(seed)")
        var rng = SplitMix64(seed: seed)
        let c = TelemetryCollector()
        var next = [UInt32](repeating: 0, count: 8)
        var forged = 0
        for i in 0..<20_000 {
            let node = Int(rng.next() % 8)
            // Each source's first report is genuine: it sets the expected number.
            if next[node] > 0 && rng.next() % 10 == 0 {
                let span = UInt64(INTFormat.sequenceModulus / 2 - SequenceTracker.maxPlausibleGap - 1)
                let jump = SequenceTracker.maxPlausibleGap + 1 + UInt32(rng.next() % span)
                c.receive(Self.report(node: UInt32(node), sequence: (next[node] + jump) % INTFormat.sequenceModulus, source: 1), at: Int64(i))
                forged += 1
            } else {
                c.receive(Self.report(node: UInt32(node), sequence: next[node], source: 1), at: Int64(i))
                next[node] = (next[node] + 1) % INTFormat.sequenceModulus
            }
        }
        #expect(forged > 1000, "seed \(seed)")
        #expect(c.lostReports == 0 && c.implausibleSequence == forged, "seed \(seed)")
    }
}
