import SluiceControlPlane
import Testing
import SluiceIR
import SluiceRuntime
import SluiceTesting
@testable import SluicePrograms

/// Behaviour of `l2-switch`: flooding, learning through digests, station moves.
@Suite struct L2SwitchTests {
    static let ports: [UInt16] = [0, 1, 2, 3]
    let a: MACAddress = "00:00:00:00:00:0a"
    let b: MACAddress = "00:00:00:00:00:0b"
    let c: MACAddress = "00:00:00:00:00:0c"

    func harness() throws -> (SwitchHarness, L2Switch.Controller) {
        let controller = L2Switch.Controller(ports: Self.ports)
        return (try SwitchHarness(L2Switch.program().verified(), controller: controller), controller)
    }

    /// A frame from `src` to `dst`; `tag` makes the payload (and so the bytes) distinct.
    func frame(_ dst: MACAddress, _ src: MACAddress, tag: UInt8 = 0) -> [UInt8] {
        Packet.ethernet(dst: dst, src: src)
            .ipv4(src: "10.0.0.1", dst: "10.0.0.2")
            .udp(sport: 1000, dport: 2000)
            .payload(count: 20, fill: .byte(tag))
            .bytes
    }

    /// The exact bytes must come out of every port but `ingress`, once, and nowhere else.
    func expectFlooded(_ h: SwitchHarness, _ bytes: [UInt8], from ingress: UInt16) throws {
        for p in Self.ports where p != ingress { try h.expect(bytes, port: p) }
        try h.expectNoOtherPackets()
    }

    func dmac(_ h: SwitchHarness) throws -> [UInt64: UInt16] {
        var out: [UInt64: UInt16] = [:]
        for (_, e) in try h.pipeline.entries("dmac") {
            guard case .exact(let mac) = e.matches[0], e.action.action == "forward" else {
                Issue.record("unexpected dmac entry \(e)")
                continue
            }
            out[UInt64(mac)] = UInt16(e.action.args[0])
        }
        return out
    }

    @Test func unknownDestinationFloodsToEveryPortButTheIngress() throws {
        for ingress in Self.ports {
            let (h, _) = try harness()
            let f = frame(a, b, tag: UInt8(ingress))
            try h.send(f, port: ingress)
            try expectFlooded(h, f, from: ingress)
        }
    }

    @Test func aFrameForAStationOnItsOwnPortIsFiltered() throws {
        let (h, _) = try harness()
        try h.send(frame(b, a), port: 1)  // a learnt on port 1; b unknown: flooded
        _ = h.drain()
        try h.send(frame(a, c), port: 1)  // c, also on port 1, talks to a: same segment
        try h.expectNoOtherPackets()
        #expect(h.pipeline.stats.egressDrops == 2)  // the pruned flood copy, then this one
    }

    @Test func floodedCopiesAreCountedAndThePrunedOneIsAnEgressDrop() throws {
        let (h, _) = try harness()
        try h.send(frame(a, b), port: 2)
        #expect(h.drain().count == 3)
        #expect(h.pipeline.stats.received == 1)
        #expect(h.pipeline.stats.sent == 3)
        #expect(h.pipeline.stats.egressDrops == 1)
    }

    @Test func sourceIsLearntAndARepliesGoOutOfExactlyOnePort() throws {
        let (h, controller) = try harness()
        // b speaks first from port 1: unknown destination a, so it floods; b is learnt.
        let first = frame(a, b, tag: 1)
        try h.send(first, port: 1)
        try expectFlooded(h, first, from: 1)
        #expect(controller.stations == [b.value: 1])
        // a replies from port 3: b is known, exactly one copy on port 1. a is learnt too.
        let reply = frame(b, a, tag: 2)
        try h.send(reply, port: 3)
        try h.expect(reply, port: 1)
        try h.expectNoOtherPackets()
        // and now b -> a goes to port 3 only.
        let again = frame(a, b, tag: 3)
        try h.send(again, port: 1)
        try h.expect(again, port: 3)
        try h.expectNoOtherPackets()
        #expect(controller.stations == [b.value: 1, a.value: 3])
    }

    @Test func knownSourcesAreNotReportedAgain() throws {
        let (h, _) = try harness()
        try h.send(frame(a, b), port: 1)
        _ = h.drain()
        // Learnt: smac hits (NoAction), so no digest reaches the control plane.
        try h.send(frame(a, b, tag: 9), port: 1)
        _ = h.drain()
        #expect(h.pipeline.drainDigests().isEmpty)
        #expect(try h.pipeline.entries("smac").count == 1)
        #expect(try h.pipeline.entries("dmac").count == 1)
    }

    @Test func broadcastAlwaysFloods() throws {
        let (h, _) = try harness()
        // Learn a, b and c on ports 0, 1, 2.
        for (mac, port) in [(a, UInt16(0)), (b, 1), (c, 2)] {
            try h.send(frame(.broadcast, mac, tag: UInt8(port)), port: port)
            _ = h.drain()
        }
        #expect(try dmac(h) == [a.value: 0, b.value: 1, c.value: 2])
        for ingress in Self.ports {
            let f = frame(.broadcast, ingress == 3 ? "00:00:00:00:00:0d" : [a, b, c][Int(ingress)], tag: 0x40 + UInt8(ingress))
            try h.send(f, port: ingress)
            try expectFlooded(h, f, from: ingress)
        }
        // The broadcast address is never learnt as a station.
        try h.send(frame(a, .broadcast, tag: 0x77), port: 2)
        _ = h.drain()
        #expect(try dmac(h)[MACAddress.broadcast.value] == nil)
        let toBroadcast = frame(.broadcast, a, tag: 0x78)
        try h.send(toBroadcast, port: 0)
        try expectFlooded(h, toBroadcast, from: 0)
    }

    @Test func aStationThatMovesIsRelearntAndTrafficFollowsIt() throws {
        let (h, controller) = try harness()
        try h.send(frame(a, b), port: 1)          // b at port 1
        try h.send(frame(b, a), port: 0)          // a at port 0
        _ = h.drain()
        let before = frame(b, a, tag: 1)
        try h.send(before, port: 0)
        try h.expect(before, port: 1)
        try h.expectNoOtherPackets()

        // b moves to port 2 and speaks (to a, which is known: one copy on port 0).
        let moved = frame(a, b, tag: 2)
        try h.send(moved, port: 2)
        try h.expect(moved, port: 0)
        try h.expectNoOtherPackets()
        #expect(controller.stations[b.value] == 2)

        // Traffic to b now goes to port 2, and only there.
        let after = frame(b, a, tag: 3)
        try h.send(after, port: 0)
        try h.expect(after, port: 2)
        try h.expectNoOtherPackets()

        // The old (b, port 1) source entry is gone; the new one is installed.
        let smac = try h.pipeline.entries("smac").map(\.1.matches)
        #expect(smac.contains([.exact(UInt128(b.value)), .exact(2)]))
        #expect(!smac.contains([.exact(UInt128(b.value)), .exact(1)]))
        #expect(try dmac(h) == [a.value: 0, b.value: 2])

        // And it can move back.
        try h.send(frame(a, b, tag: 4), port: 1)
        _ = h.drain()
        let back = frame(b, a, tag: 5)
        try h.send(back, port: 0)
        try h.expect(back, port: 1)
        try h.expectNoOtherPackets()
        #expect(try dmac(h) == [a.value: 0, b.value: 1])
        #expect(try h.pipeline.entries("smac").count == 2)
    }

    @Test func learntEntriesAreVisibleThroughTheControlPlane() throws {
        let (h, _) = try harness()
        #expect(try h.pipeline.entries("dmac").isEmpty)
        let stations: [(MACAddress, UInt16)] = [(a, 0), (b, 1), (c, 3)]
        for (mac, port) in stations {
            try h.send(frame(.broadcast, mac), port: port)
        }
        _ = h.drain()
        let entries = try h.pipeline.entries("dmac")
        #expect(entries.count == 3)
        for (mac, port) in stations {
            let e = entries.first { $0.1.matches == [.exact(UInt128(mac.value))] }
            #expect(e?.1.action == ActionCall("forward", [UInt128(port)]), "dmac entry for \(mac)")
            // The handle the listing gives is the one `find` gives.
            #expect(try h.pipeline.find("dmac", [.exact(UInt128(mac.value))], priority: 0) == e?.0)
        }
        let smac = try h.pipeline.entries("smac")
        #expect(Set(smac.map { $0.1.matches }) == Set(stations.map { [Match.exact(UInt128($0.0.value)), .exact(UInt128($0.1))] }))
        #expect(smac.allSatisfy { $0.1.action.action == "NoAction" })
    }

    @Test func theControllerSetsUpTheFloodGroup() throws {
        let (h, _) = try harness()
        #expect(h.pipeline.multicastGroup(L2Switch.floodGroup) == Self.ports.map { MulticastMember(port: $0, rid: $0) })
    }
}
