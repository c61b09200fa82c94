import SluiceControlPlane
import Testing
import SluiceIR
import SluiceRuntime
import SluicePrograms
import SluiceTesting
@testable import SluiceEmulator

/// The routing controller on small hand-built topologies: routes are installed into real
/// `ecmp-router` pipelines, then real packets are walked through them hop by hop, following
/// the output ports over the topology's links.
@Suite struct RoutingControllerTests {
    static func host(_ name: String, _ n: UInt32) -> NodeSpec {
        NodeSpec(name: name, kind: .host(HostSpec(ipv4: 0x0A00_0000 | n)), mac: 0x0200_0000_0000 | UInt64(n))
    }

    static func router(_ name: String, mac: UInt64, program: String = ECMPRouter.name, routing: Bool = true) -> NodeSpec {
        NodeSpec(name: name, kind: .switch(SwitchSpec(program: program, routing: routing)), mac: mac)
    }

    static func link(_ a: Int, _ ap: UInt16, _ b: Int, _ bp: UInt16) -> LinkSpec {
        LinkSpec(a: Endpoint(node: a, port: ap), b: Endpoint(node: b, port: bp))
    }

    /// h1, h2 on leaf1 (ports 1, 2), h3, h4 on leaf2; each leaf's port 3 goes to spine1 and
    /// port 4 to spine2 (spine port 1: leaf1, port 2: leaf2).
    static let leafSpine = TopologySpec(name: "leaf-spine", nodes: [
        host("h1", 1), host("h2", 2), host("h3", 3), host("h4", 4),
        router("spine1", mac: 0x0200_0000_0A01), router("spine2", mac: 0x0200_0000_0A02),
        router("leaf1", mac: 0x0200_0000_0B01), router("leaf2", mac: 0x0200_0000_0B02),
    ], links: [
        link(0, 0, 6, 1), link(1, 0, 6, 2), link(2, 0, 7, 1), link(3, 0, 7, 2),
        link(6, 3, 4, 1), link(6, 4, 5, 1), link(7, 3, 4, 2), link(7, 4, 5, 2),
    ])

    /// h1 - s1 - s2 - s3 - h2, and h9, attached to nothing.
    static let line = TopologySpec(name: "line", nodes: [
        host("h1", 1), host("h2", 2),
        router("s1", mac: 0x0200_0000_0A01), router("s2", mac: 0x0200_0000_0A02), router("s3", mac: 0x0200_0000_0A03),
        host("h9", 9),
    ], links: [
        link(0, 0, 2, 1), link(2, 2, 3, 1), link(3, 2, 4, 1), link(4, 2, 1, 0),
    ])

    /// A network of routed `ecmp-router` pipelines, and a way to walk packets through it.
    final class Network {
        let topology: TopologySpec
        var pipelines: [Int: Pipeline] = [:]

        init(_ topology: TopologySpec) throws {
            self.topology = topology
            for s in topology.switches where topology.nodes[s].switchSpec?.program == ECMPRouter.name {
                pipelines[s] = try Pipeline(ECMPRouter.program().verified())
            }
        }

        func install() throws -> RoutingSummary {
            try RoutingController.install(topology) { self.pipelines[$0] }
        }

        func peer(of e: Endpoint) -> Endpoint? {
            for l in topology.links {
                if l.a == e { return l.b }
                if l.b == e { return l.a }
            }
            return nil
        }

        struct Arrival {
            var host: Int
            var bytes: [UInt8]
            /// The switches crossed, in order.
            var path: [Int]
            var lastSwitch: Int { path.last! }
        }

        /// Send `bytes` out of host `src`'s port 0 and follow them until a host receives them.
        func send(_ bytes: [UInt8], from src: Int) throws -> Arrival {
            var at = try #require(peer(of: Endpoint(node: src, port: 0)), "\(topology.nodes[src].name) has no link")
            var packet = bytes, path: [Int] = []
            while !topology.nodes[at.node].isHost {
                let pipeline = try #require(pipelines[at.node], "\(topology.nodes[at.node].name) has no pipeline")
                path.append(at.node)
                try #require(path.count <= 16, "a loop: \(path.map { topology.nodes[$0].name })")
                let out = pipeline.process(packet, port: at.port)
                try #require(out.count == 1, "\(topology.nodes[at.node].name) sent \(out.count) packets (ports \(out.map(\.port)))")
                packet = out[0].bytes
                at = try #require(peer(of: Endpoint(node: at.node, port: out[0].port)),
                                  "\(topology.nodes[at.node].name) sent to port \(out[0].port), which has no link")
            }
            return Arrival(host: at.node, bytes: packet, path: path)
        }
    }

    static func udp(from src: NodeSpec, to dst: NodeSpec, sport: UInt16 = 1234, dport: UInt16 = 80, ttl: UInt8 = 64) -> [UInt8] {
        Packet.ethernet(dst: "02:00:00:00:ff:ff", src: MACAddress(value: src.mac))
            .ipv4(src: IPv4Address(value: src.host!.ipv4), dst: IPv4Address(value: dst.host!.ipv4), ttl: ttl)
            .udp(sport: sport, dport: dport)
            .payload(count: 16)
            .bytes
    }

    /// Every host reaches every other host: the right one, TTL decremented once per switch, the
    /// destination MAC the host's and the source MAC the last switch's, a valid checksum, and
    /// the rest of the packet untouched.
    func expectAllPairsDelivered(_ net: Network, switchesBetween: (Int, Int) -> Int) throws {
        let t = net.topology
        for s in t.hosts where !t.links.filter({ $0.a.node == s || $0.b.node == s }).isEmpty {
            for d in t.hosts where d != s && !t.links.filter({ $0.a.node == d || $0.b.node == d }).isEmpty {
                let sent = Self.udp(from: t.nodes[s], to: t.nodes[d])
                let got = try net.send(sent, from: s)
                let name = "\(t.nodes[s].name) -> \(t.nodes[d].name)"
                #expect(got.host == d, "\(name) reached \(t.nodes[got.host].name)")
                #expect(got.path.count == switchesBetween(s, d), "\(name): path \(got.path.map { t.nodes[$0].name })")
                let p = parse(got.bytes)
                #expect(p.ipv4?.ttl == UInt8(64 - got.path.count), "\(name)")
                #expect(p.ipv4?.checksumValid == true, "\(name)")
                #expect(p.ethernet?.dst == MACAddress(value: t.nodes[d].mac), "\(name)")
                #expect(p.ethernet?.src == MACAddress(value: t.nodes[got.lastSwitch].mac), "\(name)")
                #expect(got.bytes.count == sent.count && Array(got.bytes[12..<22]) == Array(sent[12..<22])
                        && got.bytes[23] == sent[23] && Array(got.bytes[26...]) == Array(sent[26...]),
                        "\(name): only the MACs, the TTL and the checksum change")
            }
        }
    }

    // MARK: leaf-spine

    @Test func leafSpineRoutesEveryPairOverShortestPaths() throws {
        let net = try Network(Self.leafSpine)
        let summary = try net.install()
        #expect(summary.unreachable.isEmpty)
        #expect(summary.routes.count == 4 * 4)
        let leaf = { (h: Int) in h < 2 ? 6 : 7 }
        try expectAllPairsDelivered(net) { s, d in leaf(s) == leaf(d) ? 1 : 3 }
    }

    @Test func aLeafHasATwoMemberGroupTowardRemoteHostsAndForwardsToLocalOnes() throws {
        let net = try Network(Self.leafSpine)
        let summary = try net.install()
        let spine1 = RoutingSummary.NextHop(port: 3, node: 4, mac: 0x0200_0000_0A01, rate: 100_000_000_000)
        let spine2 = RoutingSummary.NextHop(port: 4, node: 5, mac: 0x0200_0000_0A02, rate: 100_000_000_000)
        #expect(summary.groups[6] == [RoutingSummary.Group(id: 1, members: [spine1, spine2], buckets: [0, 1])])
        #expect(summary.groups[7]?.count == 1)
        #expect(summary.groups[4] == [] && summary.groups[5] == [])
        // leaf1: local hosts by a plain forward, remote ones through group 1.
        #expect(summary.route(on: 6, to: 0) == RoutingSummary.Route(switchNode: 6, host: 0, distance: 1,
                nextHops: [RoutingSummary.NextHop(port: 1, node: 0, mac: 0x0200_0000_0001, rate: 100_000_000_000)], group: nil))
        #expect(summary.route(on: 6, to: 2) == RoutingSummary.Route(switchNode: 6, host: 2, distance: 3,
                nextHops: [spine1, spine2], group: 1))
        #expect(summary.route(on: 6, to: 3)?.group == 1)
        // What is in the pipeline's tables.
        let leaf1 = try #require(net.pipelines[6])
        let lpm = try leaf1.entries("ipv4_lpm").map(\.1)
        #expect(lpm.count == 4)
        #expect(lpm.contains(TableEntry([.lpm(0x0A00_0001, prefixLength: 32)], ActionCall("forward", [1, 0x0200_0000_0001]))))
        #expect(lpm.contains(TableEntry([.lpm(0x0A00_0003, prefixLength: 32)], ActionCall("ecmp", [1, 2]))))
        let nhop = try leaf1.entries("ecmp_nhop").map(\.1)
        #expect(Set(nhop) == [
            TableEntry([.exact(1), .exact(0)], ActionCall("forward", [3, 0x0200_0000_0A01])),
            TableEntry([.exact(1), .exact(1)], ActionCall("forward", [4, 0x0200_0000_0A02])),
        ])
        #expect(try leaf1.entries("switch_mac").isEmpty)
        // A spine forwards down to the leaf of the host.
        let spine = try net.pipelines[4]!.entries("ipv4_lpm").map(\.1)
        #expect(spine.contains(TableEntry([.lpm(0x0A00_0004, prefixLength: 32)], ActionCall("forward", [2, 0x0200_0000_0B02]))))
    }

    @Test func differentFlowsBetweenTheSameHostsUseBothSpines() throws {
        let net = try Network(Self.leafSpine)
        _ = try net.install()
        let t = Self.leafSpine
        var perSpine: [Int: Int] = [:]
        for sport in UInt16(10_000)..<10_064 {
            let got = try net.send(Self.udp(from: t.nodes[0], to: t.nodes[2], sport: sport), from: 0)
            #expect(got.host == 2)
            #expect(got.path.count == 3 && got.path.first == 6 && got.path.last == 7)
            perSpine[got.path[1], default: 0] += 1
            // A flow sticks to its spine.
            let again = try net.send(Self.udp(from: t.nodes[0], to: t.nodes[2], sport: sport), from: 0)
            #expect(again.path == got.path)
        }
        #expect(Set(perSpine.keys) == [4, 5], "64 flows took \(perSpine)")
        #expect(perSpine.values.allSatisfy { $0 >= 16 }, "64 flows took \(perSpine)")
    }

    @Test func textReportListsRoutesAndGroups() throws {
        let summary = try Network(Self.leafSpine).install()
        #expect(summary.textReport() == """
            routing: 4 switches, 16 routes (4 through ECMP groups), 2 groups, 0 unreachable
              spine1: 4 routes, 0 groups
              spine2: 4 routes, 0 groups
              leaf1: 4 routes, 1 group
                group 1: ports 3 (spine1), 4 (spine2)
              leaf2: 4 routes, 1 group
                group 1: ports 3 (spine1), 4 (spine2)
            """)
    }

    /// `groups: weighted` gives each uplink buckets in proportion to its link's rate (leaf1's
    /// link to spine2 at a quarter rate: 51 and 13 of 64 buckets); `resilient` does the same,
    /// and `equal` is one bucket per member. Packets follow the buckets.
    @Test func weightedGroupsFollowLinkRates() throws {
        for kind in ECMPRouter.GroupKind.allCases {
            var t = Self.leafSpine
            for s in t.switches { if case .switch(var spec) = t.nodes[s].kind { spec.groups = kind; t.nodes[s].kind = .switch(spec) } }
            t.links[5].rate = 25_000_000_000   // leaf1 port 4 - spine2
            let net = try Network(t)
            let summary = try net.install()
            let g = try #require(summary.groups[6]?.first)
            let expected = kind == .equal ? [0, 1] : Array(repeating: 0, count: 51) + Array(repeating: 1, count: 13)
            #expect(g.buckets == expected, "\(kind)")
            #expect(summary.route(on: 6, to: 2)?.group == 1)
            let lpm = try net.pipelines[6]!.entries("ipv4_lpm").map(\.1)
            #expect(lpm.contains(TableEntry([.lpm(0x0A00_0003, prefixLength: 32)], ActionCall("ecmp", [1, UInt128(expected.count)]))))
            var perSpine: [Int: Int] = [:]
            for sport in UInt16(10_000)..<10_640 {
                let got = try net.send(Self.udp(from: t.nodes[0], to: t.nodes[2], sport: sport), from: 0)
                #expect(got.host == 2)
                perSpine[got.path[1], default: 0] += 1
            }
            if kind == .equal {
                #expect(perSpine.values.allSatisfy { $0 > 200 }, "\(perSpine)")
            } else {
                // 13 of 64 buckets: about 130 of 640 flows through spine2.
                #expect((90...170).contains(perSpine[5] ?? 0), "\(kind): \(perSpine)")
            }
        }
    }

    // MARK: a line

    @Test func aLineOfThreeSwitchesDecrementsTTLThreeTimesAndListsUnreachableHosts() throws {
        let net = try Network(Self.line)
        let summary = try net.install()
        #expect(summary.groups.values.allSatisfy { $0.isEmpty })
        #expect(summary.routes.count == 3 * 2)
        #expect(summary.unreachable == [2, 3, 4].map { RoutingSummary.Pair(switchNode: $0, host: 5) })
        try expectAllPairsDelivered(net) { _, _ in 3 }
        #expect(summary.route(on: 3, to: 0)?.nextHops == [RoutingSummary.NextHop(port: 1, node: 2, mac: 0x0200_0000_0A01, rate: 100_000_000_000)])
        #expect(summary.route(on: 3, to: 0)?.distance == 2)
        #expect(summary.textReport().hasSuffix("  unreachable: h9 from s1, h9 from s2, h9 from s3"))
        // TTL 2 leaves s1 with 1 and s2 drops it.
        let t = Self.line
        let out = net.pipelines[2]!.process(Self.udp(from: t.nodes[0], to: t.nodes[1], ttl: 2), port: 1)
        #expect(out.count == 1 && out[0].port == 2)
        #expect(net.pipelines[3]!.process(out[0].bytes, port: 1).isEmpty)
    }

    /// Hosts are leaves: a host with links to two otherwise separate switches joins nothing.
    @Test func neverRoutesThroughAHost() throws {
        let t = TopologySpec(name: "two-islands", nodes: [
            Self.host("ha", 1), Self.host("hb", 2), Self.host("hm", 3),
            Self.router("sa", mac: 0x0200_0000_0A01), Self.router("sb", mac: 0x0200_0000_0A02),
        ], links: [
            Self.link(0, 0, 3, 1), Self.link(1, 0, 4, 1), Self.link(2, 0, 3, 2), Self.link(2, 1, 4, 2),
        ])
        let summary = try Network(t).install()
        #expect(Set(summary.unreachable) == [RoutingSummary.Pair(switchNode: 3, host: 1), RoutingSummary.Pair(switchNode: 4, host: 0)])
        #expect(summary.route(on: 3, to: 2)?.nextHops.map(\.port) == [2])
        #expect(summary.route(on: 4, to: 2)?.nextHops.map(\.port) == [2])
    }

    /// Switches with `routing: false` carry traffic in the graph but get no entries.
    @Test func unroutedSwitchesAreLeftAlone() throws {
        var t = Self.line
        t.nodes[3] = Self.router("s2", mac: 0x0200_0000_0A02, routing: false)
        let net = try Network(t)
        let summary = try net.install()
        #expect(summary.switches == [2, 4])
        #expect(try net.pipelines[3]!.entries("ipv4_lpm").isEmpty)
        #expect(summary.route(on: 2, to: 1)?.nextHops.map(\.node) == [3])
    }

    // MARK: errors

    @Test func routingNeedsECMPRouter() throws {
        var t = Self.line
        t.nodes[3] = Self.router("s2", mac: 0x0200_0000_0A02, program: IPv4Router.name)
        let net = try Network(t)
        let names = ProgramResolver.builtIn.routedNames.joined(separator: ", ")
        #expect(throws: RoutingError("switch 's2' runs 'ipv4-router' with routing: true; the routing controller installs routes only into \(names) (use one of those programs, or routing: false with an entries file)")) {
            try net.install()
        }
        // Nothing was installed anywhere.
        #expect(try net.pipelines[2]!.entries("ipv4_lpm").isEmpty)
    }

    @Test func aMissingControlPlaneIsNamed() throws {
        #expect(throws: RoutingError("switch 's2': no control plane to install routes into")) {
            try RoutingController.install(Self.line) { n -> (any ControlPlane)? in
                n == 3 ? nil : try? Pipeline(ECMPRouter.program().verified())
            }
        }
    }

    @Test func aRefusedInsertNamesTheSwitchAndTheTable() throws {
        let net = try Network(Self.line)
        try net.pipelines[3]!.insert("ipv4_lpm", TableEntry([.lpm(0x0A00_0002, prefixLength: 32)], ActionCall("drop")))
        #expect(throws: RoutingError("switch 's2': table 'ipv4_lpm': cannot install the route to h2 (10.0.0.2/32) -> forward(port 2, 02:00:00:00:0a:03): table 'ipv4_lpm' already has an entry 0xa000002/32; modify it or delete it first")) {
            try net.install()
        }
    }

    @Test func aFullNextHopTableNamesTheSwitchAndTheTable() throws {
        var pipelines: [Int: Pipeline] = [:]
        for s in Self.leafSpine.switches { pipelines[s] = try Pipeline(ECMPRouter.program(members: 1).verified()) }
        #expect(throws: RoutingError("switch 'leaf1': table 'ecmp_nhop': cannot install bucket 1 of group 1 -> forward(port 4, 02:00:00:00:0a:02): table 'ecmp_nhop' is full (size 1); raise its Size or delete entries")) {
            try RoutingController.install(Self.leafSpine) { pipelines[$0] }
        }
    }
}

extension RoutingController {
    /// Routes through the built-in programs' route installers, found by each switch's program
    /// name, as the emulator finds them.
    static func install(_ t: TopologySpec, controlPlane: (Int) -> (any ControlPlane)?) throws -> RoutingSummary {
        let programs = ProgramResolver.builtIn
        return try install(t, routes: { programs.program(named: t.nodes[$0].switchSpec?.program ?? "")?.routes },
                           routedPrograms: programs.routedNames, controlPlane: controlPlane)
    }
}
