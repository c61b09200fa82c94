import Testing
import SluiceIR
import SluiceRuntime
import SluiceTesting
@testable import SluicePrograms

/// Weighted and resilient next-hop groups of `ecmp-router`: buckets in `ecmp_nhop`, picked by
/// the same CRC-32 scaling as plain ECMP (`ECMPRouterTests.Flow.member`), handed out by
/// `ECMPRouter.NextHopGroup`. Every flow's port is checked against the reference, then the
/// shares and what moves when a member leaves or joins.
@Suite struct NextHopGroupTests {
    typealias Group = ECMPRouter.NextHopGroup
    typealias Flow = ECMPRouterTests.Flow

    static func members(_ weights: [Int]) -> [Group.Member] {
        weights.enumerated().map { Group.Member(port: UInt16(10 + $0.offset), mac: 0x0800_0000_0A00 | UInt64($0.offset), weight: $0.element) }
    }

    /// ecmp-router with the switch MAC set, 10.0.2.0/24 routed through `group`.
    func harness(_ group: Group) throws -> SwitchHarness {
        let h = try SwitchHarness(ECMPRouter.program().verified(), entries: """
            table_set_default switch_mac set_switch_mac 02:00:00:00:0a:01
            """)
        try h.pipeline.insert("ipv4_lpm", TableEntry([.lpm(0x0A00_0200, prefixLength: 24)], group.routeAction))
        try group.install(h.pipeline)
        return h
    }

    /// The port the reference picks for `f`: the bucket by the CRC scaling, then its member.
    static func expectedPort(_ f: Flow, _ g: Group) -> UInt16 {
        g.members[g.buckets[Int(f.member(count: UInt32(g.buckets.count)))]]!.port
    }

    /// Route every flow through `h`, checking each against the reference; ports by flow.
    func routeAll(_ h: SwitchHarness, _ flows: [Flow], _ g: Group) throws -> [UInt16] {
        try flows.map { f in
            let port = try ECMPRouterTests().route(h, f.packet())
            #expect(port == Self.expectedPort(f, g), "\(f): port \(port), reference \(Self.expectedPort(f, g))")
            return port
        }
    }

    @Test func sharesFollowTheWeightsByLargestRemainder() throws {
        #expect(Group.shares(of: [3, 1], over: 64) == [48, 16])
        #expect(Group.shares(of: [1, 1, 1], over: 64) == [22, 21, 21])
        #expect(Group.shares(of: [100, 100, 100, 25], over: 64) == [20, 20, 19, 5])
        #expect(Group.shares(of: [1000, 1], over: 4) == [3, 1])   // every member keeps one bucket
        let g = try Group(id: 1, kind: .weighted, members: Self.members([100, 100, 100, 25]))
        #expect(g.buckets.count == 64 && (0..<4).map(g.bucketCount) == [20, 20, 19, 5])
    }

    /// An equal group is exactly plain ECMP: one bucket per member.
    @Test func anEqualGroupIsPlainECMP() throws {
        let g = try Group(id: 1, kind: .equal, members: Self.members([1, 1, 1, 1]))
        #expect(g.buckets == [0, 1, 2, 3])
        #expect(g.routeAction == ActionCall("ecmp", [1, 4]))
    }

    @Test func weightedGroupsSplitFlowsByWeight() throws {
        let g = try Group(id: 1, kind: .weighted, members: Self.members([3, 1]))
        let h = try harness(g)
        let flows = ECMPRouterTests.randomFlows(10_000, dstNet: 0x0A00_0200, seed: testSeed("NextHopGroupTests.weighted"))
        let ports = try routeAll(h, flows, g)
        let onFirst = ports.filter { $0 == 10 }.count
        // 48 of 64 buckets: 7,500 expected; a binomial's standard deviation here is 43 flows.
        #expect((7_250...7_750).contains(onFirst), "port 10 carried \(onFirst) of 10,000 flows, expected about 7,500")
    }

    /// Removing a member of a resilient group moves only that member's flows; the same removal
    /// from an equal group (plain ECMP over one member fewer) moves some of the others too: the
    /// multiply-shift keeps hash ranges in order, so removing member 2 of 4 moves the flows of
    /// member 1 in the upper third of its range, about one surviving flow in nine (a modulo
    /// would move two in three).
    @Test func removingAResilientMemberMovesOnlyItsFlows() throws {
        var g = try Group(id: 1, kind: .resilient, members: Self.members([1, 1, 1, 1]))
        let h = try harness(g)
        let flows = ECMPRouterTests.randomFlows(4_000, dstNet: 0x0A00_0200, seed: testSeed("NextHopGroupTests.resilient"))
        let before = try routeAll(h, flows, g)
        let changed = try g.remove(member: 2)
        #expect(changed.count == 16 && changed.allSatisfy { b in g.buckets[b] != 2 })
        try g.install(h.pipeline, buckets: changed)
        let after = try routeAll(h, flows, g)
        var moved = 0
        for i in flows.indices {
            if before[i] == 12 { #expect(after[i] != 12) } else if after[i] != before[i] { moved += 1 }
        }
        #expect(moved == 0, "\(moved) flows not on the removed member moved")
        #expect(Set(after) == [10, 11, 13])
        #expect((0..<4).map(g.bucketCount) == [22, 21, 0, 21] || (0..<4).map(g.bucketCount).sorted() == [0, 21, 21, 22])

        var e = try Group(id: 1, kind: .equal, members: Self.members([1, 1, 1, 1]))
        let he = try harness(e)
        let beforeEqual = try routeAll(he, flows, e)
        try e.remove(member: 2)
        try he.pipeline.upsert("ipv4_lpm", TableEntry([.lpm(0x0A00_0200, prefixLength: 24)], e.routeAction))
        try e.install(he.pipeline)
        let afterEqual = try routeAll(he, flows, e)
        let survivors = flows.indices.filter { beforeEqual[$0] != 12 }
        let movedEqual = survivors.filter { afterEqual[$0] != beforeEqual[$0] }.count
        #expect(movedEqual * 12 > survivors.count && movedEqual * 7 < survivors.count,
                "plain ECMP moved \(movedEqual) of \(survivors.count) surviving flows, expected about one in nine")
    }

    /// A member joining a resilient group takes its share only from the others' buckets: every
    /// flow either stays or moves to the new member.
    @Test func addingAResilientMemberMovesFlowsOnlyToIt() throws {
        var g = try Group(id: 1, kind: .resilient, members: Self.members([1, 1, 1]))
        let h = try harness(g)
        let flows = ECMPRouterTests.randomFlows(3_000, dstNet: 0x0A00_0200, seed: testSeed("NextHopGroupTests.add"))
        let before = try routeAll(h, flows, g)
        let changed = try g.add(Group.Member(port: 13, mac: 0x0800_0000_0A03))
        #expect(changed.count == 16)
        try g.install(h.pipeline, buckets: changed)
        let after = try routeAll(h, flows, g)
        for i in flows.indices where after[i] != before[i] { #expect(after[i] == 13, "\(flows[i]) moved \(before[i]) -> \(after[i])") }
        #expect((0..<4).map(g.bucketCount) == [16, 16, 16, 16])
    }

    @Test func badGroupsAreRefusedWithTheReason() throws {
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "" } catch { return "\(error)" }
        }
        #expect(message { _ = try Group(id: 3, kind: .weighted, members: []) } == "next-hop group 3: no members")
        #expect(message { _ = try Group(id: 3, kind: .weighted, members: Self.members([1, 0])) }
                == "next-hop group 3: member on port 11 has weight 0; weights must be above 0")
        #expect(message { _ = try Group(id: 3, kind: .resilient, members: Self.members([1, 1, 1]), buckets: 2) }
                == "next-hop group 3: 2 buckets for 3 members (valid: 3 ... 4096)")
        var one = try Group(id: 3, kind: .resilient, members: Self.members([1]))
        #expect(message { try one.remove(member: 0) } == "next-hop group 3: cannot remove the last member")
        #expect(message { try one.remove(member: 5) } == "next-hop group 3: no member 5 (members: 0)")
    }
}
