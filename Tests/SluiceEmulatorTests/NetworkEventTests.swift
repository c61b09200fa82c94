#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Testing
import SluiceControlPlane
import SluiceRuntime
import SluicePrograms
import SluiceTesting
@testable import SluiceEmulator

/// Changes to the network during a run (`events`): a link failing under a transfer and the
/// routing controller moving it, rate changes against a closed form, entries arriving, and the
/// errors of bad event specs.
@Suite struct NetworkEventTests {
    static let packageRoot: String = {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }()

    static func router(_ name: String, _ n: UInt64) -> NodeSpec {
        NodeSpec(name: name, kind: .switch(SwitchSpec(program: ECMPRouter.name)), mac: 0x0200_0000_0A00 | n)
    }

    /// h1 - s1 = (s2 | s3) = s4 - h2: two equal paths, 10 Gb/s links of 1 us, MTU 1500, every
    /// switch routed; 1 MB of bulk transfer from h1 to h2.
    static func twoPaths() -> TopologySpec {
        func link(_ a: Int, _ ap: UInt16, _ b: Int, _ bp: UInt16) -> LinkSpec {
            LinkSpec(a: Endpoint(node: a, port: ap), b: Endpoint(node: b, port: bp), rate: 10_000_000_000, delay: 1_000_000, mtu: 1500)
        }
        var spec = TopologySpec(name: "two-paths", nodes: [
            Net.host("h1", 1), Net.host("h2", 2), router("s1", 1), router("s2", 2), router("s3", 3), router("s4", 4),
        ], links: [
            link(0, 0, 2, 1), link(2, 2, 3, 1), link(2, 3, 4, 1), link(3, 2, 5, 2), link(4, 2, 5, 3), link(5, 1, 1, 0),
        ], flows: [FlowSpec(kind: .bulk, src: 0, dst: 1, bytes: 1_000_000)])
        spec.routing = RoutingPolicy(recompute: true, detection: 100_000_000)   // 100 us
        return spec
    }

    /// The spine (s2 or s3) whose link from s1 carries the transfer's data: a short run tells.
    static func dataPath() throws -> (port: UInt16, spine: String) {
        let probe = try Emulator(twoPaths(), programs: .builtIn)
        probe.run(until: 50_000_000)
        let p2 = try #require(probe.ports.first { $0.node == "s1" && $0.port == 2 }).txPackets
        let p3 = try #require(probe.ports.first { $0.node == "s1" && $0.port == 3 }).txPackets
        #expect((p2 == 0) != (p3 == 0), "one path carries the flow: \(p2), \(p3)")
        return p2 > 0 ? (2, "s2") : (3, "s3")
    }

    @Test func aLinkFailingUnderATransferIsRoutedAroundAfterTheDetectionDelay() throws {
        let (port, spine) = try Self.dataPath()
        let other: UInt16 = port == 2 ? 3 : 2
        let failed = "s1:p\(port)-\(spine):p1"
        let failure: Int64 = 200_000_000, detection: Int64 = 100_000_000
        let emu = try Emulator(Self.twoPaths(), programs: .builtIn)
        try emu.schedule(at: failure, link: failed, .down)
        let s1 = 2, h2 = 1

        // Up to the moment the controller learns of it, s1 still sends onto the dead link.
        emu.run(until: failure + detection - 1)
        #expect(try emu.isUp(link: failed) == false)
        #expect(emu.routing?.route(on: s1, to: h2)?.nextHops.count == 2)
        let before = try #require(emu.ports.first { $0.node == "s1" && $0.port == port })
        #expect(before.droppedAtFailure > 0, "the link carried the transfer when it failed")

        emu.run()
        let flow = emu.flows[0]
        let out = try #require(emu.ports.first { $0.node == "s1" && $0.port == port })
        let back = try #require(emu.ports.first { $0.node == spine && $0.port == 1 })
        // Nothing more was sent onto it once the routes moved.
        #expect(out.droppedWhileDown == before.droppedWhileDown)
        #expect(out.droppedAtFailure == before.droppedAtFailure)
        #expect(flow.completed != nil && flow.bytesReceived == 1_000_000)
        #expect(flow.completed! > failure + detection)
        #expect(emu.routing?.route(on: s1, to: h2)?.nextHops.map(\.port) == [other])
        #expect(emu.packetsInFlight == 0)

        var pins = WorkPins("two paths, \(failed) down at 200 us, detected 100 us later", margin: 0)
        pins.check("dropped at failure s1 -> \(spine)", out.droppedAtFailure, pinned: 2)
        pins.check("dropped while down s1 -> \(spine)", out.droppedWhileDown, pinned: 83)
        pins.check("dropped at failure \(spine) -> s1", back.droppedAtFailure, pinned: 0)
        pins.check("dropped while down \(spine) -> s1", back.droppedWhileDown, pinned: 0)
        pins.check("completed ps", UInt64(flow.completed!), pinned: 1_063_985_600)
        pins.check("retransmitted bytes", flow.retransmittedBytes, pinned: 244_188)
        pins.check("events", emu.eventCounts.total, pinned: 7_260)
        pins.check("cancelled events", emu.eventCounts.cancelled, pinned: 1)
        #expect(pins.failure == nil, "\(pins.failure ?? "")")

        #expect(emu.networkEventLog.map { "\($0.time) \($0.what): \($0.result)" } == [
            "\(failure) link s1:p\(port)-\(spine):p1 down: took 1 link down, dropping \(out.droppedAtFailure + back.droppedAtFailure) packets queued or on the wire",
            "\(failure + detection) routing recompute after link s1:p\(port)-\(spine):p1 down: changed 3 routes, removed 0, rewrote 0 groups on 4 switches",
        ])
    }

    @Test func aLinkThatComesBackUpCarriesTrafficAgain() throws {
        let (port, spine) = try Self.dataPath()
        let failed = "s1:p\(port)-\(spine):p1"
        let emu = try Emulator(Self.twoPaths(), programs: .builtIn)
        try emu.schedule(at: 200_000_000, link: failed, .down)
        try emu.schedule(at: 400_000_000, link: failed, .up)
        emu.run(until: 400_000_000 + 100_000_000 - 1)
        let s1 = 2, h2 = 1
        #expect(try emu.isUp(link: failed))
        let sentWhileDown = try #require(emu.ports.first { $0.node == "s1" && $0.port == port }).txPackets
        emu.run(until: 400_000_000 + 100_000_000)
        #expect(emu.routing?.route(on: s1, to: h2)?.nextHops.count == 2)
        emu.run()
        #expect(emu.flows[0].bytesReceived == 1_000_000)
        // Rerouted back: the flow's hash picks the same spine as before the failure.
        #expect(try #require(emu.ports.first { $0.node == "s1" && $0.port == port }).txPackets > sentWhileDown)
        #expect(emu.packetsInFlight == 0)
    }

    @Test func aSwitchFailingTakesAllItsLinksDown() throws {
        let emu = try Emulator(Self.twoPaths(), programs: .builtIn)
        try emu.schedule(at: 100_000_000, switch: "s2", .down)
        try emu.schedule(at: 100_000_000, switch: "s3", .down)
        emu.run(until: 150_000_000)
        for l in ["s1:p2-s2:p1", "s2:p2-s4:p2", "s1:p3-s3:p1", "s3:p2-s4:p3"] { #expect(try emu.isUp(link: l) == false) }
        #expect(try emu.isUp(link: "h1:p0-s1:p1"))
        // Nothing gets through; routes to h2 are gone from s1 once the controller knows.
        emu.run(until: 250_000_000)
        #expect(emu.routing?.route(on: 2, to: 1) == nil)
        #expect(emu.routing?.unreachable.contains(RoutingSummary.Pair(switchNode: 2, host: 1)) == true)
        #expect(emu.flows[0].completed == nil)
    }

    @Test func aLinkDownItselfStaysDownWhenItsSwitchComesBack() throws {
        let emu = try Emulator(Self.twoPaths(), programs: .builtIn)
        try emu.schedule(at: 10_000_000, link: "s1:p2-s2:p1", .down)
        try emu.schedule(at: 20_000_000, switch: "s2", .down)
        try emu.schedule(at: 30_000_000, switch: "s2", .up)
        try emu.schedule(at: 40_000_000, link: "s1:p2-s2:p1", .up)
        emu.run(until: 25_000_000)
        #expect(try emu.isUp(link: "s2:p2-s4:p2") == false)
        emu.run(until: 35_000_000)
        #expect(try emu.isUp(link: "s2:p2-s4:p2"))
        #expect(try emu.isUp(link: "s1:p2-s2:p1") == false)
        emu.run(until: 45_000_000)
        #expect(try emu.isUp(link: "s1:p2-s2:p1"))
        #expect(emu.networkEventLog.filter { !$0.what.hasPrefix("routing") }.map(\.result) == [
            "took 1 link down, dropping 2 packets queued or on the wire",   // the transfer's, on the wire to s2
            "took 1 link down, dropping 0 packets queued or on the wire",   // s2-s4; s1-s2 was down already
            "brought 1 link up",
            "brought 1 link up",
        ])
    }

    /// h1 -100G- s1 -10G- h2, 200 datagrams of 1,500-byte frames at 20 Gb/s: the 10 Gb/s link
    /// is busy from the first arrival to the last frame. Its rate goes to 15 Gb/s (still below
    /// the arrival rate: it stays busy) while frame 50 is on the wire.
    @Test func aRateChangeTakesEffectFromTheNextFrame() throws {
        let frames = 200, payload = 1458
        let start = Net.serialization(1500, 100_000_000_000) + 1_000_000   // the first frame reaches s1
        let change = start + 50 * 1_200_000 + 300_000
        func run(_ rate: UInt64?) throws -> Int64 {
            var spec = Net.bottleneck(bytes: frames * payload)
            spec.flows[0].payload = payload
            let emu = try Emulator(spec, programs: .builtIn)
            try Net.route(emu, "s1", to: 2, mac: 0x0200_0000_0002, port: 2)
            if let rate { try emu.schedule(at: change, link: "s1:p2-h2:p0", .rate(rate)) }
            emu.run()
            #expect(emu.flows[0].packetsReceived == UInt64(frames))
            return try #require(emu.flows[0].completionTime)
        }
        #expect(try run(nil) == start + Int64(frames) * 1_200_000 + 1_000_000)
        // Frames 0 ... 50 start before the change (at 10 Gb/s), the other 149 after it (15 Gb/s: 800 ns).
        #expect(try run(15_000_000_000) == start + 51 * 1_200_000 + Int64(frames - 51) * 800_000 + 1_000_000)
    }

    @Test func lossChangesDropOnTheWire() throws {
        var spec = Net.bottleneck(bytes: 1000 * 1458)
        spec.flows[0].payload = 1458
        let emu = try Emulator(spec, programs: .builtIn)
        try Net.route(emu, "s1", to: 2, mac: 0x0200_0000_0002, port: 2)
        try emu.schedule(at: 0, link: "s1:p2-h2:p0", .loss(0.5))
        emu.run()
        let out = try #require(emu.ports.first { $0.node == "s1" && $0.port == 2 })
        #expect(out.lost + UInt64(emu.flows[0].packetsReceived) == out.txPackets)
        // Seeded: the same run loses the same frames (about half of 1,000).
        #expect(out.lost == 488)
    }

    /// h1 - s1 - h2 on `ipv4-router` with no route until an entries file arrives at 20.5 us:
    /// a datagram a microsecond from h1 is dropped by s1 before, forwarded after.
    @Test func entriesArriveDuringTheRun() throws {
        let dir = "/tmp/sluice-events-\(getpid())"
        mkdir(dir, 0o755)
        defer { unlink(dir + "/more.txt"); rmdir(dir) }
        let file = dir + "/more.txt"
        let text = "table_add ipv4_lpm ipv4_forward 10.0.0.2/32 => 02:00:00:00:00:02 2\n"
        #expect(FileManagerless.write(file, text))
        var spec = Net.bottleneck(bytes: 50 * 1222)
        spec.links[1].rate = 100_000_000_000
        spec.flows[0] = FlowSpec(kind: .udp(rate: 10_000_000_000), src: 0, dst: 2, bytes: 50 * 1222, payload: 1222)
        let emu = try Emulator(spec, programs: .builtIn)
        try emu.schedule(NetworkEvent(time: 20_500_000, target: .node(1), change: .entries(file: file, text: text)))
        emu.run()
        #expect(emu.flows[0].packetsSent == 50)
        #expect(emu.flows[0].packetsReceived == 30)
        #expect(emu.switchStats[0].ingressDrops == 20)
        #expect(emu.networkEventLog.map(\.result) == ["applied 1 command"])
    }

    @Test func theFailoverTopologyRunsFromItsFile() throws {
        let spec = try TopologyFile.load(path: "\(Self.packageRoot)/Topologies/failover.yaml", programs: .builtIn)
        #expect(spec.events.count == 2)
        #expect(spec.routing == RoutingPolicy(recompute: true, detection: 200_000_000))
        let emu = try Emulator(spec, programs: .builtIn)
        emu.run()
        #expect(emu.flows.allSatisfy { $0.bytesReceived == $0.bytes })
        let report = RunReport(emu, stats: RunStats(simulated: emu.now, wallSeconds: 0, events: 0))
        #expect(report.networkEvents.map(\.what) == [
            "link leaf1:p3-spine1:p1 down", "routing recompute after link leaf1:p3-spine1:p1 down",
            "link leaf1:p3-spine1:p1 up", "routing recompute after link leaf1:p3-spine1:p1 up",
        ])
        let down = report.ports.filter { $0.droppedAtFailure + $0.droppedWhileDown > 0 }.map { "\($0.node):\($0.port)" }
        #expect(down.allSatisfy { $0 == "leaf1:3" || $0 == "spine1:1" } && !down.isEmpty, "\(down)")
        #expect(report.summaryText().contains("dropped at failure"))
        let json = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
        #expect(json.contains("\"network_events\":[{"))
        #expect(json.contains("\"time_ps\":500000000"))
        #expect(json.contains("\"droppedWhileDown\":"))
    }

    @Test func scheduleRefusesWhatCannotHappen() throws {
        let emu = try Emulator(Self.twoPaths(), programs: .builtIn)
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "no error" } catch { return "\(error)" }
        }
        #expect(message { try emu.schedule(at: 0, link: "s1:p2-s3:p1", .down) } == "no link joins s1:p2 and s3:p1")
        #expect(message { try emu.schedule(at: 0, link: "s9:p2-s3:p1", .down) }
                == "unknown node 's9' in 's9:p2-s3:p1' (valid: h1, h2, s1, s2, s3, s4)")
        #expect(message { try emu.schedule(at: 0, link: "s1:p2", .down) }
                == "'s1:p2' is not a link (valid: two endpoints joined by '-', e.g. s1:p1-s2:p3)")
        #expect(message { try emu.schedule(at: 0, link: "s1:p2-s2:p1", .loss(1)) }
                == "loss 1.0 on s1:p2-s2:p1 is not a probability below 1 (valid: 0 ..< 1; down for a dead link)")
        #expect(message { try emu.schedule(at: 0, switch: "h1", .down) } == "no switch named 'h1' (valid: s1, s2, s3, s4)")
        #expect(message { try emu.schedule(at: 0, switch: "s1", .rate(1)) }
                == "rate and loss belong to links, not to switch 's1' (valid for a switch: down, up, entries)")
        emu.run(until: 1_000)
        #expect(message { try emu.schedule(at: 999, switch: "s1", .down) } == "a change at 999 ps is in the past (the run is at 1 ns)")
    }
}

/// Writing a small file without Foundation.
enum FileManagerless {
    static func write(_ path: String, _ text: String) -> Bool {
        guard let f = fopen(path, "wb") else { return false }
        defer { fclose(f) }
        return text.withCString { fputs($0, f) } >= 0
    }
}

/// The `events` and `routing` sections of topology files: what they read as, and whole errors.
@Suite struct TopologyEventTests {
    /// Switches s1, s2 (routed), hosts h1, h2: h1 - s1 - s2 - h2; `events` start on line 13.
    static func document(_ tail: String) -> String {
        """
        name: t
        topology:
          defaults:
            switch: {program: ecmp-router}
          nodes:
            s1: {kind: switch}
            s2: {kind: switch}
            h1: {kind: host}
            h2: {kind: host}
          links:
            - endpoints: ["s1:p1", "h1:eth0"]
            - endpoints: ["s1:p2", "s2:p1"]
            - endpoints: ["s2:p2", "h2:eth0"]
        \(tail)
        """
    }

    static func parse(_ tail: String, base: String = "/nonexistent") throws(TopologyError) -> TopologySpec {
        try TopologyFile.parse(document(tail), file: "t.yaml", baseDirectory: base, programs: .builtIn)
    }

    static func failure(_ tail: String) -> String {
        do { _ = try parse(tail); return "no error" } catch { return error.description }
    }

    @Test func eventsReadAsChangesInFileOrder() throws {
        let t = try Self.parse("""
            events:
              - {at: 2ms, link: s1:p2-s2:p1, down}
              - {at: 1.5ms, link: [s2:p1, s1:p2], rate: 25Gbps, loss: 1%}
              - at: 3ms
                switch: s2
                up: true
            routing: {recompute: true, detection: 1ms}
            """)
        let link = NetworkEvent.Target.link(Endpoint(node: 0, port: 2), Endpoint(node: 1, port: 1))
        #expect(t.events == [
            NetworkEvent(time: 2_000_000_000, target: link, change: .down, origin: "t.yaml:15"),
            NetworkEvent(time: 1_500_000_000, target: .link(Endpoint(node: 1, port: 1), Endpoint(node: 0, port: 2)),
                         change: .rate(25_000_000_000), origin: "t.yaml:16"),
            NetworkEvent(time: 1_500_000_000, target: .link(Endpoint(node: 1, port: 1), Endpoint(node: 0, port: 2)),
                         change: .loss(0.01), origin: "t.yaml:16"),
            NetworkEvent(time: 3_000_000_000, target: .node(1), change: .up, origin: "t.yaml:17"),
        ])
        #expect(t.routing == RoutingPolicy(recompute: true, detection: 1_000_000_000))
    }

    @Test func badEventsSayWhereAndWhatIsValid() {
        let cases: [(String, String)] = [
            ("events: [{at: 1ms, link: s1:p1-h2:eth0, down}]",
             "t.yaml:14: events[0].link: no link joins s1:p1 and h2:p0 (valid: the links of s1: s1:p1-h1:p0, s1:p2-s2:p1)"),
            ("events: [{at: 1ms, link: s1:p1, down}]",
             "t.yaml:14: events[0].link: 's1:p1' is not two endpoints (valid: two endpoints of a link, as a:p1-b:p2 or [a:p1, b:p2])"),
            ("events: [{at: 1ms, link: s9:p1-h1:eth0, down}]",
             "t.yaml:14: events[0].link: unknown node 's9' in 's9:p1'; did you mean 's1'? (valid: s1, s2, h1, h2)"),
            ("events: [{link: s1:p1-h1:eth0, down}]", "t.yaml:14: events[0].at: missing (valid: a time such as 2ms)"),
            ("events: [{at: 1ms, switch: s1, rate: 10Gbps}]",
             "t.yaml:14: events[0].rate: a switch event has no 'rate' (valid: down, up, entries)"),
            ("events: [{at: 1ms, link: s1:p1-h1:eth0, entries: x.txt}]",
             "t.yaml:14: events[0].entries: a link event has no 'entries' (valid: down, up, rate, loss)"),
            ("events: [{at: 1ms, switch: h1, down}]",
             "t.yaml:14: events[0].switch: 'h1' is a host; an event takes a switch or a link (valid: s1, s2)"),
            ("events: [{at: 1ms, switch: s3, down}]",
             "t.yaml:14: events[0].switch: unknown switch 's3'; did you mean 's1'? (valid: s1, s2)"),
            ("events: [{at: 1ms, switch: s1, link: s1:p1-h1:eth0, down}]",
             "t.yaml:14: events[0].switch: an event changes one link or one switch (valid: link or switch, not both)"),
            ("events: [{at: 1ms, down}]", "t.yaml:14: events[0].link: missing: what changes (valid: link: a:p-b:q, or switch: NAME)"),
            ("events: [{at: 1ms, switch: s1}]", "t.yaml:14: events[0]: changes nothing (valid: down, up, entries)"),
            ("events: [{at: 1ms, switch: s1, down: false}]",
             "t.yaml:14: events[0].down: 'down: false' changes nothing (valid: down with no value, or up for the opposite)"),
            ("events: [{at: 1ms, switch: s1, down, up}]", "t.yaml:14: events[0].up: down and up at once (valid: one of down, up)"),
            ("events: [{at: 1ms, link: s1:p1-h1:eth0, loss: 100%}]",
             "t.yaml:14: events[0].loss: a link that loses every packet (valid: a probability below 1, or down)"),
            ("events: [{at: 1ms, link: s1:p1-h1:eth0, rate: 10Gbs}]",
             "t.yaml:14: events[0].rate: unknown unit 'Gbs' in '10Gbs' (valid: bps, Kbps, Mbps, Gbps, Tbps)"),
            ("events: [{at: 1ms, switch: s1, entries: more.txt}]",
             "t.yaml:14: events[0].entries: cannot read '/nonexistent/more.txt': no such file (valid: an entries file, relative to the topology file)"),
            ("events: [{at: 1ms, switch: s1, dow}]",
             "t.yaml:14: events[0].dow: unknown field; did you mean 'down'? (valid: at, link, switch, down, up, rate, loss, entries)"),
            ("events: {at: 1ms}", "t.yaml:14: events: expected a list, got a mapping (valid: - {at: 2ms, link: s1:p1-s2:p1, down})"),
            ("routing: {recompute: yes, detecton: 1ms}",
             "t.yaml:14: routing.detecton: unknown field; did you mean 'detection'? (valid: recompute, detection)"),
            ("routing: {detection: 1ms}",
             "t.yaml:14: routing.detection: a detection delay without recompute: true does nothing (nothing recomputes the routes) (valid: recompute: true beside it, or no detection)"),
            ("routing: {recompute: false, detection: 1ms}",
             "t.yaml:14: routing.detection: a detection delay without recompute: true does nothing (nothing recomputes the routes) (valid: recompute: true beside it, or no detection)"),
        ]
        for (tail, expected) in cases { #expect(Self.failure(tail) == expected, "\(tail)") }
    }
}

/// Failover with next-hop groups: a leaf with three uplinks loses one; the routing controller's
/// recompute keeps a resilient group's other buckets, and rebuilds an equal one (ECMP rehash).
@Suite struct FailoverGroupTests {
    static func run(groups: String) throws -> (before: [UInt16], after: [UInt16], id: (UInt16, UInt16)) {
        let yaml = """
            name: three-spines
            topology:
              generator:
                leaf-spine: {spines: 3, leaves: 2, hosts-per-leaf: 1}
              defaults:
                switch: {program: ecmp-router, groups: \(groups), group-buckets: 12}
            traffic:
              - {kind: udp, from: h1, to: h2, rate: 1Gbps, size: 1400}
            events:
              - {at: 1us, link: leaf1:p2-spine1:p1, down}
            routing: {recompute: true, detection: 0s}
            """
        let (spec, emu) = try Self.emulator(yaml)
        let before = try Self.leaf1Group(spec, emu)
        emu.run()
        let after = try Self.leaf1Group(spec, emu)
        return (before.ports, after.ports, (before.id, after.id))
    }

    static func emulator(_ yaml: String) throws -> (TopologySpec, Emulator) {
        let spec = try TopologyFile.parse(yaml, file: "t.yaml", baseDirectory: ".", programs: .builtIn)
        return (spec, try Emulator(spec, programs: .builtIn))
    }

    /// leaf1's first next-hop group: the port of each bucket, as the summary says and as the
    /// ecmp_nhop table holds it (checked equal), and its id.
    static func leaf1Group(_ spec: TopologySpec, _ emu: Emulator) throws -> (ports: [UInt16], id: UInt16) {
        let leaf1 = try #require(spec.node(named: "leaf1"))
        let g = try #require(emu.routing?.groups[leaf1]?.first)
        let cp = try #require(emu.controlPlane(switch: "leaf1"))
        let entries = try cp.entries("ecmp_nhop").map(\.1).filter { $0.matches.first == .exact(UInt128(g.id)) }
        var byBucket: [Int: UInt16] = [:]
        for e in entries { if case .exact(let b) = e.matches[1] { byBucket[Int(b)] = UInt16(e.action.args[0]) } }
        #expect(g.buckets.indices.map { byBucket[$0] } == g.buckets.map { g.members[$0].port }, "the table holds what the summary says")
        return (g.buckets.map { g.members[$0].port }, g.id)
    }

    @Test func resilientGroupsMoveOnlyTheFailedMembersBuckets() throws {
        let r = try Self.run(groups: "resilient")
        #expect(r.before == [2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4])
        #expect(r.id.0 == r.id.1)
        for (b, a) in zip(r.before, r.after) where b != 2 { #expect(a == b) }
        #expect(r.after == [3, 4, 3, 4, 3, 3, 3, 3, 4, 4, 4, 4])
    }

    @Test func equalGroupsAreRebuilt() throws {
        let r = try Self.run(groups: "equal")
        #expect(r.before == [2, 3, 4])
        #expect(r.after == [3, 4])
    }

    /// leaf1's uplink to spine1 drops from 100 to 25 Gb/s: in weighted and resilient groups the
    /// member's weight is its link's rate, so the recompute moves spine1's surplus buckets (its
    /// last ones) to spine2 and leaves the rest; an equal group ignores rates.
    static func rateChange(groups: String) throws -> (before: [UInt16], after: [UInt16], log: [String]) {
        let yaml = """
            name: two-spines
            topology:
              generator:
                leaf-spine: {spines: 2, leaves: 2, hosts-per-leaf: 1}
              defaults:
                link: {rate: 100Gbps}
                switch: {program: ecmp-router, groups: \(groups), group-buckets: 12}
            traffic:
              - {kind: udp, from: h1, to: h2, rate: 1Gbps, size: 1400}
            events:
              - {at: 1us, link: leaf1:p2-spine1:p1, rate: 25Gbps}
            routing: {recompute: true, detection: 1us}
            """
        let (spec, emu) = try Self.emulator(yaml)
        let before = try Self.leaf1Group(spec, emu)
        emu.run()
        return (before.ports, try Self.leaf1Group(spec, emu).ports, emu.networkEventLog.map { "\($0.time) \($0.what): \($0.result)" })
    }

    @Test(arguments: ["weighted", "resilient"])
    func weightedGroupsFollowARateChange(_ groups: String) throws {
        let r = try Self.rateChange(groups: groups)
        #expect(r.before == [2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3])
        // Shares of 12 buckets for 25 and 100 Gb/s: 2 and 10 (largest remainder).
        #expect(r.after == [2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3])
        #expect(r.log.contains { $0.contains("routing recompute after link leaf1:p2-spine1:p1 rate") && $0.contains("rewrote 1 group") }, "\(r.log)")
    }

    @Test func equalGroupsIgnoreARateChange() throws {
        let r = try Self.rateChange(groups: "equal")
        #expect(r.before == [2, 3])
        #expect(r.after == [2, 3])
        #expect(r.log.contains { $0.contains("routing recompute after link leaf1:p2-spine1:p1 rate") && $0.contains("rewrote 0 groups") }, "\(r.log)")
    }
}
