import Foundation
import SluiceRuntime
import SluiceTelemetry
import Testing

/// Forged reports cannot drive the collector's state without bound: flows past `maxFlows`,
/// sources past `maxSources`, paths past `maxPaths` and path latencies past `maxLatencies` are
/// counted, not kept, and a sequence number that jumps implausibly far ahead is counted as
/// such, not as millions of lost reports.
@Suite struct CollectorBoundsTests {
    /// A Telemetry Report v2.0 packet with one inner-only report of an IPv4/UDP packet carrying
    /// an INT-MD stack: the smallest report that names a flow (its source address). `path`
    /// lists the hops' node ids from the first hop (pushed newest first), each reporting
    /// `latency` as its hop latency; empty, the stack is empty.
    static func report(node: UInt32, sequence: UInt32, source: UInt32, path: [UInt32] = [], latency: UInt32 = 0) -> [UInt8] {
        func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xFF)] }
        // Node id and hop latency (2 words) a hop.
        let stack = path.reversed().flatMap { be32($0) + be32(latency) }
        let intBytes = 4 + 12 + stack.count
        let ipv4: [UInt8] = [0x45, 0] + be16(UInt16(20 + 8 + intBytes)) + [0, 0, 0, 0, 64, 17, 0, 0] + be32(source) + be32(0x0A00_0002)
        let udp = be16(1234) + be16(INTFormat.defaultINTPort) + be16(UInt16(8 + intBytes)) + [0, 0]
        let shim: [UInt8] = [INTFormat.shimMD << 4, UInt8(3 + stack.count / 4), 0, 0]
        let md = path.isEmpty ? be32(UInt32(INTFormat.version) << 28 | 1 << 8) + [0, 0, 0, 0, 0, 0, 0, 0]
                              : be32(UInt32(INTFormat.version) << 28 | 2 << 8) + be16(0xA000) + [0, 0, 0, 0, 0, 0] + stack
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

    /// A forged node id per report: sources past the cap are counted and not followed (their
    /// gaps are no loss), and the rest of their reports is still recorded.
    @Test func sourcesPastTheCapAreCountedNotFollowed() throws {
        let c = TelemetryCollector(maxSources: 10)
        for n in 0..<25 { c.receive(Self.report(node: 1000 + UInt32(n), sequence: 0, source: 0x0A00_0001), at: Int64(n)) }
        // A source already followed is still followed (4 lost); one not followed is counted again.
        c.receive(Self.report(node: 1000, sequence: 5, source: 0x0A00_0001), at: 25)
        c.receive(Self.report(node: 1020, sequence: 9, source: 0x0A00_0001), at: 26)
        #expect(c.sources.count == 10)
        #expect(c.sourcesDropped == 16)
        #expect(c.lostReports == 4)
        #expect(c.intReports == 27 && c.flows.count == 1 && c.flows[0].reports == 27)
        let s = c.summary()
        #expect(s.sourcesDropped == 16 && s.sources.map(\.node) == (0..<10).map { 1000 + UInt32($0) })
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(s)) as? [String: Any]
        #expect(json?["sources_dropped"] as? Int == 16)
        #expect(c.summaryText().contains("  16 reports of sources not followed (no loss counted): the collector follows at most 10 sources\n"), "\(c.summaryText())")
    }

    /// Forged stacks, a new path each: paths past the cap are counted and not kept; the flow
    /// and its hop samples are still recorded, its path is -1 while on a path not kept, and a
    /// change to or from such a path counts.
    @Test func pathsPastTheCapAreCountedNotKept() throws {
        let c = TelemetryCollector(maxPaths: 4)
        // Paths [1, 10] ... [1, 13] are kept; [1, 14] and [1, 15] are not; then [1, 10] again.
        for (i, last) in [10, 11, 12, 13, 14, 15, 10].enumerated() {
            c.receive(Self.report(node: 1, sequence: UInt32(i), source: 0x0A00_0001, path: [1, UInt32(last)], latency: 5), at: Int64(i))
            if i == 4 { #expect(c.flows[0].path == -1) }
        }
        #expect(c.paths.map(\.nodes) == [[1, 10], [1, 11], [1, 12], [1, 13]])
        #expect(c.pathsDropped == 2)
        #expect(c.paths.map(\.reports) == [2, 1, 1, 1] && c.paths[0].latencies == [10, 10])
        #expect(c.flows.count == 1 && c.flows[0].reports == 7 && c.flows[0].path == 0)
        // 10 > 11 > 12 > 13 > (not kept) > (not kept, not told apart) > 10.
        #expect(c.flows[0].pathChanges == 5)
        #expect(c.samples.count == 14)
        let s = c.summary()
        #expect(s.pathsDropped == 2 && s.paths.count == 4)
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(s)) as? [String: Any]
        #expect(json?["paths_dropped"] as? Int == 2)
        #expect(c.summaryText().contains("  2 reports of paths not kept: the collector keeps at most 4 paths\n"), "\(c.summaryText())")
    }

    /// Latencies are kept up to the cap over all paths together; the rest are counted, and each
    /// path's distribution is of the latencies kept (none: no distribution).
    @Test func latenciesPastTheCapAreCountedNotKept() throws {
        let c = TelemetryCollector(maxLatencies: 5)
        for i in 0..<8 { c.receive(Self.report(node: 1, sequence: UInt32(i), source: 0x0A00_0001, path: [1, 2], latency: UInt32(i)), at: Int64(i)) }
        for i in 8..<11 { c.receive(Self.report(node: 1, sequence: UInt32(i), source: 0x0A00_0002, path: [3], latency: 7), at: Int64(i)) }
        #expect(c.paths.map(\.reports) == [8, 3])
        #expect(c.paths[0].latencies == [0, 2, 4, 6, 8] && c.paths[1].latencies.isEmpty)
        #expect(c.latenciesNotKept == 6)
        let s = c.summary()
        #expect(s.latenciesNotKept == 6 && s.paths[0].latency?.max == 8 && s.paths[1].latency == nil)
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(s)) as? [String: Any]
        #expect(json?["latencies_not_kept"] as? Int == 6)
        #expect(c.summaryText().contains("  6 path latencies not kept: the collector keeps at most 5\n"), "\(c.summaryText())")
    }

    @Test func theDefaultCapsAre16384SourcesAnd65536PathsAnd4MLatencies() {
        let c = TelemetryCollector()
        #expect(c.maxSources == 16_384 && c.maxPaths == 65_536 && c.maxLatencies == 4_000_000)
        for i in 0..<(16_384 + 10) { c.receive(Self.report(node: UInt32(i), sequence: 0, source: 1), at: 0) }
        #expect(c.sources.count == 16_384 && c.sourcesDropped == 10)
        let p = TelemetryCollector()
        for i in 0..<(65_536 + 10) { p.receive(Self.report(node: 1, sequence: UInt32(i), source: 1, path: [UInt32(i)]), at: 0) }
        #expect(p.paths.count == 65_536 && p.pathsDropped == 10)
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
