import Testing
import SluiceIR
import SluiceRuntime
import SluiceTesting
@testable import SluicePrograms

/// `drill`: per packet, the least deep of two random members of the group and the remembered
/// one. Depths are planted in `drill_depth` (cell = group[5:0] ++ member[5:0]); the runtime has
/// no queues, so every departure records depth 0 for the member it used.
@Suite struct DRILLTests {
    func harness() throws -> SwitchHarness {
        try SwitchHarness(DRILL.program().verified(), entries: ECMPRouterTests.entries, queues: true)
    }

    static func cell(group: Int, member: Int) -> Int { group << 6 | member }

    func route(_ h: SwitchHarness, sport: UInt16) throws -> UInt16 {
        let f = ECMPRouterTests.Flow(src: "10.0.0.1", dst: "10.0.2.3", proto: 17, sport: sport, dport: 443)
        return try ECMPRouterTests().route(h, f.packet())
    }

    /// The remembered member with an empty queue keeps every packet while the others are deep.
    @Test func theRememberedMemberWinsWhileItsQueueIsShortest() throws {
        let h = try harness()
        for m in 0..<4 { try h.pipeline.writeRegister("drill_depth", index: Self.cell(group: 1, member: m), m == 2 ? 0 : 5_000) }
        try h.pipeline.writeRegister("drill_best", index: 1, 2)
        for i in 0..<100 { #expect(try route(h, sport: UInt16(1000 + i)) == 12) }
        #expect(try h.pipeline.readRegister("drill_best", index: 1) == 2)
    }

    /// A deep remembered member is left for a sampled shorter one at the first packet whose
    /// samples are not both that member, and never chosen again while it stays deeper.
    @Test func aDeepRememberedMemberIsAbandoned() throws {
        let h = try harness()
        try h.pipeline.writeRegister("drill_depth", index: Self.cell(group: 1, member: 0), 9_000)
        try h.pipeline.writeRegister("drill_best", index: 1, 0)
        var ports: [UInt16] = []
        for i in 0..<200 { ports.append(try route(h, sport: UInt16(2000 + i))) }
        let firstElsewhere = try #require(ports.firstIndex { $0 != 10 }, "every packet stayed on the deep member: \(ports.prefix(10))")
        #expect(!ports[firstElsewhere...].contains(10), "the deep member was chosen again: \(ports)")
        #expect(Set(ports[firstElsewhere...]).isSubset(of: [11, 12, 13]))
        #expect(try h.pipeline.readRegister("drill_depth", index: Self.cell(group: 1, member: 0)) == 9_000)
        #expect(try h.pipeline.readRegister("drill_best", index: 1) != 0)
    }

    /// One flow's packets spread over the group when queues are equal only through the
    /// samples: with all depths 0 the remembered member keeps winning ties.
    @Test func tiesKeepTheRememberedMember() throws {
        let h = try harness()
        try h.pipeline.writeRegister("drill_best", index: 1, 1)
        for _ in 0..<50 { #expect(try route(h, sport: 4242) == 11) }
    }

    /// A remembered member outside the group (a stale cell) is replaced by a sample; a group
    /// of count 0 drops, forwards and the ipv4-router checks are ecmp-router's.
    @Test func aStaleMemoryIsReplacedAndEmptyGroupsDrop() throws {
        let h = try harness()
        try h.pipeline.writeRegister("drill_best", index: 2, 7)
        let f = ECMPRouterTests.Flow(src: "10.0.0.1", dst: "10.0.3.9", proto: 6, sport: 5, dport: 80)
        #expect([20, 21, 22].contains(try ECMPRouterTests().route(h, f.packet())))
        #expect(try h.pipeline.readRegister("drill_best", index: 2) < 3)
        try h.send(ECMPRouterTests.Flow(src: "10.0.0.1", dst: "10.0.4.1", proto: 6, sport: 5, dport: 80).packet().bytes, port: 0)
        #expect(h.drain().isEmpty)
        #expect(try ECMPRouterTests().route(h, ECMPRouterTests.Flow(src: "10.0.0.2", dst: "10.0.1.1", proto: 6, sport: 5, dport: 80).packet()) == 1)
    }
}
