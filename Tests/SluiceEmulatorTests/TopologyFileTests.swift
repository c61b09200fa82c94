#if canImport(Glibc)
import SluiceControlPlane
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
import SluicePrograms
@testable import SluiceEmulator

/// The package root, found from this file: `Tests/SluiceEmulatorTests/TopologyFileTests.swift`.
private let packageRoot: String = {
    var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}()

/// The built-in programs, as topology files see them.
private let programs = ProgramResolver.builtIn
private let programList = programs.names.joined(separator: ", ")

private func parse(_ yaml: String, file: String = "t.yaml", base: String = "/nonexistent", seed: UInt64 = 1) throws(TopologyError) -> TopologySpec {
    try TopologyFile.parse(yaml, file: file, baseDirectory: base, seed: seed, programs: programs)
}

/// The rendered error a document produces, or a note that it produced none.
private func failure(_ yaml: String, file: String = "t.yaml", base: String = "/nonexistent") -> String {
    do {
        _ = try parse(yaml, file: file, base: base)
        return "no error"
    } catch {
        return error.description
    }
}

/// A switch `s1` (ports p1, p2) with hosts h1 and h2: lines 1-11.
private let twoHosts = """
    name: t
    topology:
      defaults:
        switch: {program: ecmp-router}
      nodes:
        s1: {kind: switch}
        h1: {kind: host}
        h2: {kind: host}
      links:
        - endpoints: ["s1:p1", "h1:eth0"]
        - endpoints: ["s1:p2", "h2:eth0"]
    """

/// `twoHosts` with its links replaced.
private func twoHosts(links: String) -> String {
    let head = twoHosts.split(separator: "\n", omittingEmptySubsequences: false).prefix(9).joined(separator: "\n")
    return head + "\n" + links
}

private func writeFile(_ path: String, _ text: String) {
    guard let f = fopen(path, "wb") else { Issue.record("cannot write \(path)"); return }
    _ = text.withCString { fputs($0, f) }
    fclose(f)
}

@Suite struct TopologyFileUnitsTests {
    @Test func timesAreExactPicoseconds() throws {
        #expect(try Units.time("1.5us") == 1_500_000)
        #expect(try Units.time("1us") == 1_000_000)
        #expect(try Units.time("500ns") == 500_000)
        #expect(try Units.time("2ms") == 2_000_000_000)
        #expect(try Units.time("10ps") == 10)
        #expect(try Units.time("1s") == 1_000_000_000_000)
        #expect(try Units.time("0.000001s") == 1_000_000)
        #expect(try Units.time("2.000000000005s") == 2_000_000_000_005)
        #expect(try Units.time("1 us") == 1_000_000)
        #expect(try Units.time("0") == 0)
        #expect(try Units.time("1_000ns") == 1_000_000)
    }

    @Test func ratesSizesAndLimits() throws {
        #expect(try Units.rate("100Gbps") == 100_000_000_000)
        #expect(try Units.rate("400Gbps") == 400_000_000_000)
        #expect(try Units.rate("10Mbps") == 10_000_000)
        #expect(try Units.rate("2.5Gbps") == 2_500_000_000)
        #expect(try Units.rate("1Tbps") == 1_000_000_000_000)
        #expect(try Units.size("4MiB") == 4_194_304)
        #expect(try Units.size("4MB") == 4_000_000)
        #expect(try Units.size("1500B") == 1500)
        #expect(try Units.size("9KiB") == 9216)
        #expect(try Units.size("65KB") == 65_000)
        #expect(try Units.size("10000000") == 10_000_000)
        #expect(try Units.size("1.5KB") == 1500)
        #expect(try Units.queueLimit("4MB") == .bytes(4_000_000))
        #expect(try Units.queueLimit("65536") == .bytes(65536))
        #expect(try Units.queueLimit("1000p") == .packets(1000))
        #expect(try Units.queueLimit("1000 packets") == .packets(1000))
        #expect(try Units.probability("0.001") == 0.001)
        #expect(try Units.probability("0.1%") == 0.001)
        #expect(try Units.probability("1") == 1)
        #expect(try Units.probability("0") == 0)
    }

    private func problem(_ body: () throws -> Void) -> String {
        do { try body(); return "no error" } catch let e as Units.Problem { return "\(e.message) (valid: \(e.valid))" } catch { return "\(error)" }
    }

    @Test func refusedValuesSayWhatIsValid() {
        let rates = "bps, Kbps, Mbps, Gbps, Tbps"
        #expect(problem { _ = try Units.rate("100Gbs") } == "unknown unit 'Gbs' in '100Gbs' (valid: \(rates))")
        #expect(problem { _ = try Units.rate("100gbps") } == "unknown unit 'gbps' in '100gbps'; did you mean 'Gbps'? (valid: \(rates))")
        #expect(problem { _ = try Units.rate("100") } == "'100' has no unit (valid: \(rates))")
        #expect(problem { _ = try Units.rate("fast") } == "'fast' is not a number with a unit (valid: \(rates))")
        #expect(problem { _ = try Units.rate("0Gbps") } == "'0Gbps' is not positive (valid: a rate above 0 in \(rates))")
        #expect(problem { _ = try Units.rate("-5Gbps") } == "'-5Gbps' is negative (valid: \(rates))")
        #expect(problem { _ = try Units.rate("1.2.3Gbps") } == "'1.2.3Gbps' is not a number (valid: \(rates))")
        #expect(problem { _ = try Units.rate("99999999999Tbps") } == "'99999999999Tbps' is too large (valid: \(rates))")
        #expect(problem { _ = try Units.time("0.5ps") } == "'0.5ps' is not a whole number of picoseconds (valid: ps, ns, us, ms, s)")
        #expect(problem { _ = try Units.size("1.5B") } == "'1.5B' is not a whole number of bytes (valid: B, KB, MB, GB, KiB, MiB, GiB)")
        #expect(problem { _ = try Units.queueLimit("10q") } == "unknown unit 'q' in '10q' (valid: B, KB, MB, GB, KiB, MiB, GiB, p, packets)")
        #expect(problem { _ = try Units.probability("2") } == "'2' is above 1 (valid: a number from 0 to 1, or a percentage such as 0.1%)")
        #expect(problem { _ = try Units.probability("-0.1") } == "'-0.1' is negative (valid: a number from 0 to 1, or a percentage such as 0.1%)")
    }
}

@Suite struct TopologyGeneratorTests {
    /// Each switch uses ports 1...n once, each host port 0 once.
    private func checkPorts(_ t: Generators.Topology, switchPorts: [String: Int]) {
        var used: [String: [UInt16]] = [:]
        for l in t.links {
            used[t.nodes[l.a.node].name, default: []].append(l.a.port)
            used[t.nodes[l.b.node].name, default: []].append(l.b.port)
        }
        for n in t.nodes {
            let ports = (used[n.name] ?? []).sorted()
            if n.isHost {
                #expect(ports == [0], "\(n.name)")
            } else {
                #expect(ports == (1...(switchPorts[n.name] ?? -1)).map { UInt16($0) }, "\(n.name)")
            }
        }
    }

    @Test func leafSpine() {
        let t = Generators.leafSpine(spines: 2, leaves: 4, hostsPerLeaf: 4)
        #expect(t.nodes.filter(\.isHost).count == 16)
        #expect(t.nodes.filter { !$0.isHost }.map(\.name) == ["spine1", "spine2", "leaf1", "leaf2", "leaf3", "leaf4"])
        #expect(t.links.count == 16 + 8)
        var ports: [String: Int] = [:]
        for s in 1...2 { ports["spine\(s)"] = 4 }
        for l in 1...4 { ports["leaf\(l)"] = 6 }
        checkPorts(t, switchPorts: ports)
        func endOf(_ name: String, _ port: UInt16) -> String? {
            for l in t.links {
                if t.nodes[l.a.node].name == name && l.a.port == port { return "\(t.nodes[l.b.node].name):\(l.b.port)" }
                if t.nodes[l.b.node].name == name && l.b.port == port { return "\(t.nodes[l.a.node].name):\(l.a.port)" }
            }
            return nil
        }
        #expect(endOf("h5", 0) == "leaf2:1")       // host i on leaf ceil(i/H)
        #expect(endOf("h16", 0) == "leaf4:4")
        #expect(endOf("leaf2", 5) == "spine1:2")   // leaf port H+s to spine s, spine port j to leaf j
        #expect(endOf("leaf3", 6) == "spine2:3")
    }

    @Test(arguments: [(4, 16, 20, 48), (8, 128, 80, 384)])
    func fatTree(k: Int, hosts: Int, switches: Int, links: Int) {
        let t = Generators.fatTree(k: k)
        #expect(t.nodes.filter(\.isHost).count == hosts)
        #expect(t.nodes.filter { !$0.isHost }.count == switches)
        #expect(t.links.count == links)
        #expect(t.nodes.filter { $0.name.hasPrefix("core") }.count == (k / 2) * (k / 2))
        #expect(t.nodes.filter { $0.name.hasPrefix("agg") }.count == k * k / 2)
        #expect(t.nodes.filter { $0.name.hasPrefix("edge") }.count == k * k / 2)
        var ports: [String: Int] = [:]
        for n in t.nodes where !n.isHost { ports[n.name] = n.name.hasPrefix("core") ? k : k }
        checkPorts(t, switchPorts: ports)
    }

    @Test func dumbbellAndStar() {
        let d = Generators.dumbbell(hostsPerSide: 2, bottleneckRate: 10_000_000_000)
        #expect(d.nodes.map(\.name) == ["left", "right", "h1", "h2", "h3", "h4"])
        #expect(d.links.count == 5)
        #expect(d.links.last == Generators.Link(a: Endpoint(node: 0, port: 3), b: Endpoint(node: 1, port: 3), rate: 10_000_000_000))
        checkPorts(d, switchPorts: ["left": 3, "right": 3])
        let s = Generators.star(hosts: 5)
        #expect(s.nodes.map(\.name) == ["sw", "h1", "h2", "h3", "h4", "h5"])
        checkPorts(s, switchPorts: ["sw": 5])
    }
}

@Suite struct TopologyFileTests {
    static let shipped = ["leafspine-16", "leafspine-64", "leafspine-small", "fattree-k4", "fattree-k8", "dumbbell", "star", "failover"]

    private func load(_ name: String, seed: UInt64 = 1) throws -> TopologySpec {
        try TopologyFile.load(path: "\(packageRoot)/Topologies/\(name).yaml", seed: seed, programs: programs)
    }

    @Test(arguments: shipped)
    func shippedTopologyLoads(name: String) throws {
        let t = try load(name)
        #expect(t.name == name)
        #expect(!t.flows.isEmpty)
        for n in t.switches { #expect(t.nodes[n].switchSpec?.program == "ecmp-router") }
        // Every host has exactly one link; no port is used twice.
        var ports = Set<Endpoint>()
        for l in t.links { #expect(ports.insert(l.a).inserted); #expect(ports.insert(l.b).inserted) }
        for h in t.hosts { #expect(t.links.filter { $0.a.node == h || $0.b.node == h }.count == 1) }
    }

    @Test func shippedTopologiesUseTheRegisteredPrograms() throws {
        // Once `ecmp-router` is registered, the public entry point (real registry) loads them all.
        guard ProgramRegistry.named("ecmp-router") != nil else { return }
        for name in Self.shipped { _ = try TopologyFile.load(path: "\(packageRoot)/Topologies/\(name).yaml", programs: .builtIn) }
    }

    @Test func leafSpine16() throws {
        let t = try load("leafspine-16")
        #expect(t.hosts.count == 16)
        #expect(t.switches.count == 6)
        #expect(t.links.count == 24)
        for l in t.links {
            #expect(l.rate == 100_000_000_000)
            #expect(l.delay == 1_000_000)
            #expect(l.mtu == 9000)
            #expect(l.queue == QueueSpec(limitBytes: 4_000_000, limitPackets: nil, ecn: nil))
            #expect(l.origin == "")
        }
        #expect(t.flows.count == 16)
        for (i, f) in t.flows.enumerated() {
            #expect(t.nodes[f.src].name == "h\(i + 1)")
            #expect(t.nodes[f.dst].name == "h\((i + 8) % 16 + 1)")
            #expect(f.kind == .udp(rate: 45_000_000_000))
            #expect(f.bytes == 10_000_000)
            #expect(f.payload == 4000)
            #expect(f.start == 0)
            #expect(f.srcPort == UInt16(10_000 + i))
            #expect(f.dstPort == 20_000)
            #expect(f.origin == "\(packageRoot)/Topologies/leafspine-16.yaml:16")
        }
        let s = try #require(t.nodes[0].switchSpec)
        #expect(s == SwitchSpec(program: "ecmp-router", entries: nil, routing: true, pipelineLatency: 0, buffer: nil))
    }

    @Test func leafSpine64() throws {
        let t = try load("leafspine-64")
        #expect(t.hosts.count == 64)
        #expect(t.switches.count == 12)
        #expect(t.links.count == 64 + 32)
        #expect(t.flows.count == 64)
        for (i, f) in t.flows.enumerated() { #expect(t.nodes[f.dst].name == "h\((i + 32) % 64 + 1)") }
    }

    @Test func theHandWrittenLeafSpineEqualsTheGeneratedOne() throws {
        let written = try load("leafspine-small")
        var generated = try parse("""
            topology:
              generator: {leaf-spine: {spines: 2, leaves: 2, hosts-per-leaf: 2}}
              defaults:
                link: {rate: 100Gbps, delay: 1us, queue: {limit: 4MB}}
                switch: {program: ecmp-router}
            """)
        #expect(generated.name == "t")
        generated.name = written.name
        func strip(_ t: TopologySpec) -> TopologySpec {
            var t = t
            for i in t.nodes.indices { t.nodes[i].origin = "" }
            for i in t.links.indices { t.links[i].origin = "" }
            t.flows = []
            return t
        }
        #expect(strip(written) == strip(generated))
        #expect(written.flows.map { "\(written.nodes[$0.src].name)->\(written.nodes[$0.dst].name)" } == ["h1->h3", "h4->h2"])
        #expect(written.flows.allSatisfy { $0.kind == .bulk && $0.bytes == 1 << 20 })
    }

    @Test func fatTreesAndOthers() throws {
        let k4 = try load("fattree-k4")
        #expect((k4.hosts.count, k4.switches.count, k4.links.count) == (16, 20, 48))
        #expect(k4.flows.count == 16)
        let k8 = try load("fattree-k8")
        #expect((k8.hosts.count, k8.switches.count, k8.links.count) == (128, 80, 384))
        #expect(k8.flows.count == 128)

        let d = try load("dumbbell")
        #expect((d.hosts.count, d.switches.count, d.links.count) == (4, 2, 5))
        let bottleneck = try #require(d.links.last)
        #expect(bottleneck.rate == 10_000_000_000)
        #expect(bottleneck.queue.ecn == ECNSpec(kmin: 65_000, kmax: 65_000, pmax: 1))
        #expect(d.flows.map(\.start) == [0, 1_000_000_000])

        let s = try load("star")
        #expect(s.flows.map { s.nodes[$0.src].name } == ["h2", "h3", "h4", "h5", "h6", "h7", "h8"])
        #expect(s.flows.allSatisfy { s.nodes[$0.dst].name == "h1" })
        #expect(s.links[0].queue == QueueSpec(limitBytes: nil, limitPackets: 1000))
        #expect(s.until == 10_000_000_000)
    }

    @Test func defaultsKindsAndOverrides() throws {
        let base = "/tmp/sluice-topology-test-\(getpid())"
        mkdir(base, 0o755)
        writeFile(base + "/tor.entries", "# nothing\n")
        defer { unlink(base + "/tor.entries"); rmdir(base) }
        let t = try parse("""
            topology:
              generator: {star: {hosts: 2}}
              defaults:
                link: {rate: 25Gbps, delay: 500ns, mtu: 1500, loss: 0.1%, queue: {limit: 64KiB, ecn: {kmin: 20KB}}}
                switch: {program: ipv4-router, pipeline-latency: 200ns}
              kinds:
                tor: {program: l2-switch, entries: tor.entries, buffer: 16MiB}
              nodes:
                sw: {routing: false}
                t1: {kind: tor, mac: "02:aa:00:00:00:01"}
                h3: {kind: host, ipv4: 192.168.1.7}
              links:
                - endpoints: ["t1:p1", "h3:eth0"]
                  rate: 10Gbps
                  queue: {limit: 1000p, ecn: off}
                  capture: true
                - {endpoints: ["t1:p2", "sw:3"], queue: {ecn: {kmin: 30KB, kmax: 60KB, pmax: 0.5}}}
            """, base: base)
        #expect(t.nodes.map(\.name) == ["sw", "h1", "h2", "t1", "h3"])
        #expect(t.nodes.map(\.mac) == [0x0200_0000_0001, 0x0200_0000_0002, 0x0200_0000_0003, 0x02AA_0000_0001, 0x0200_0000_0005])
        #expect(t.nodes.compactMap { $0.host?.ipv4 } == [0x0A00_0001, 0x0A00_0002, 0xC0A8_0107])
        #expect(t.nodes[0].switchSpec == SwitchSpec(program: "ipv4-router", entries: nil, routing: false, pipelineLatency: 200_000))
        #expect(t.nodes[3].switchSpec == SwitchSpec(program: "l2-switch", entries: base + "/tor.entries", routing: false,
                                                    pipelineLatency: 200_000, buffer: 16 << 20))
        #expect(t.nodes[3].origin == "t.yaml:10")
        #expect(t.nodes[0].origin == "t.yaml:9")
        let generated = t.links[0]
        #expect(generated.rate == 25_000_000_000 && generated.delay == 500_000 && generated.mtu == 1500 && generated.loss == 0.001)
        #expect(generated.queue == QueueSpec(limitBytes: 65536, limitPackets: nil, ecn: ECNSpec(kmin: 20_000, kmax: 20_000, pmax: 1)))
        #expect(!generated.capture)
        #expect(t.links[2] == LinkSpec(a: Endpoint(node: 3, port: 1), b: Endpoint(node: 4, port: 0), rate: 10_000_000_000,
                                       delay: 500_000, loss: 0.001, mtu: 1500, queue: QueueSpec(limitBytes: nil, limitPackets: 1000),
                                       capture: true, origin: "t.yaml:13"))
        #expect(t.links[3].queue == QueueSpec(limitBytes: 65536, ecn: ECNSpec(kmin: 30_000, kmax: 60_000, pmax: 0.5)))
        #expect(t.links[3].b == Endpoint(node: 0, port: 3))
        #expect(t.until == nil)
    }

    @Test func singleFlowsAndPorts() throws {
        let t = try parse(twoHosts + """

            traffic:
              - {kind: udp, from: h1, to: h2, rate: 45Gbps, size: 10MB, payload: 4000B, start: 2us}
              - {kind: bulk, from: h2, to: h1, size: 1MiB, sport: 4000, dport: 4791}
            until: 10ms
            """)
        #expect(t.flows == [
            FlowSpec(kind: .udp(rate: 45_000_000_000), src: 1, dst: 2, bytes: 10_000_000, payload: 4000, start: 2_000_000,
                     srcPort: 10_000, dstPort: 20_000, origin: "t.yaml:13"),
            FlowSpec(kind: .bulk, src: 2, dst: 1, bytes: 1 << 20, srcPort: 4000, dstPort: 4791, origin: "t.yaml:14"),
        ])
        #expect(t.until == 10_000_000_000)
    }

    private let eightHosts = """
        topology:
          generator: {star: {hosts: 8}}
          defaults: {switch: {program: ecmp-router}}
        """

    @Test func shiftPattern() throws {
        let t = try parse(eightHosts + "\ntraffic:\n  - {pattern: shift, offset: -3, kind: bulk, size: 1000}")
        #expect(t.flows.map { t.nodes[$0.dst].name } == ["h6", "h7", "h8", "h1", "h2", "h3", "h4", "h5"])
        #expect(t.flows.map(\.srcPort) == Array(10_000...10_007))
        #expect(Traffic.shift(4, offset: 1).map { [$0.0, $0.1] } == [[0, 1], [1, 2], [2, 3], [3, 0]])
    }

    @Test func permutationIsASeededDerangement() throws {
        let doc = eightHosts + "\ntraffic:\n  - {pattern: permutation, kind: bulk, size: 1MiB}"
        func destinations(_ seed: UInt64) throws -> [Int] { try parse(doc, seed: seed).flows.map(\.dst) }
        let a = try destinations(1)
        #expect(a == (try destinations(1)))
        #expect(Set(a) == Set(1...8))
        let t = try parse(doc)
        #expect(t.flows.allSatisfy { $0.src != $0.dst })
        #expect(t.flows.map(\.src) == Array(1...8))
        // Other seeds give other permutations (some of the first ten differ from seed 1's).
        var others = Set<[Int]>()
        for s in 2...10 { others.insert(try destinations(UInt64(s))) }
        #expect(others.count > 1 && others.contains { $0 != a })
        for seed in 0..<200 as Range<UInt64> {
            let d = Traffic.derangement(5, seed: seed)
            #expect(d.sorted() == [0, 1, 2, 3, 4])
            #expect(!d.enumerated().contains { $0.offset == $0.element })
        }
        #expect(Traffic.derangement(2, seed: 7) == [1, 0])
    }

    @Test func incastPattern() throws {
        let t = try parse(eightHosts + "\ntraffic:\n  - {pattern: incast, to: h1, from: [h2, h3, h4], kind: bulk, size: 1MiB}")
        #expect(t.flows.map { "\(t.nodes[$0.src].name)->\(t.nodes[$0.dst].name)" } == ["h2->h1", "h3->h1", "h4->h1"])
        let all = try parse(eightHosts + "\ntraffic:\n  - {pattern: incast, to: h3, kind: udp, rate: 1Gbps, size: 1MiB}")
        #expect(all.flows.map { all.nodes[$0.src].name } == ["h1", "h2", "h4", "h5", "h6", "h7", "h8"])
    }

    // MARK: errors, as whole messages

    @Test func unreadableFile() {
        #expect(throws: TopologyError.unreadable("no-such-topology.yaml", reason: "no such file")) {
            try TopologyFile.load(path: "no-such-topology.yaml", programs: .builtIn)
        }
        do {
            _ = try TopologyFile.load(path: "x.yaml", programs: .builtIn)
            Issue.record("loaded x.yaml")
        } catch {
            #expect(error.description == "cannot read 'x.yaml': no such file")
        }
    }

    @Test func unknownFields() {
        #expect(failure("name: t\ntopology:\n  nodez: {}\n")
                == "t.yaml:3: topology.nodez: unknown field; did you mean 'nodes'? (valid: generator, defaults, kinds, nodes, links)")
        #expect(failure("topology: {}\ntrafic: []\n")
                == "t.yaml:2: trafic: unknown field; did you mean 'traffic'? (valid: name, topology, traffic, jobs, transport, until, events, routing)")
        #expect(failure(twoHosts(links: "    - {endpoints: [\"s1:p1\", \"h1:eth0\"], latency: 1us}"))
                == "t.yaml:10: links[0].latency: unknown field (valid: endpoints, rate, delay, mtu, loss, queue, capture)")
        #expect(failure("topology:\n  nodes:\n    h1: {kind: host, program: ipv4-router}\n")
                == "t.yaml:3: nodes.h1.program: a host has no 'program' (valid: kind, ipv4, mac, partition)")
        #expect(failure("topology:\n  nodes:\n    s1: {kind: swtich}\n")
                == "t.yaml:3: nodes.s1.kind: unknown kind 'swtich'; did you mean 'switch'? (valid: host, switch)")
        #expect(failure("topology:\n  nodes:\n    h1: {kind: host, kind: host}\n")
                == "t.yaml:3: nodes.h1.kind: given twice (first on line 3)")
        #expect(failure("name: t\n")
                == "t.yaml:1: topology: missing (valid: a mapping of generator, defaults, kinds, nodes, links)")
    }

    @Test func endpointErrors() {
        #expect(failure(twoHosts(links: "    - endpoints: [\"s2:p1\", \"h1:eth0\"]"))
                == "t.yaml:10: links[0].endpoints[0]: unknown node 's2' in 's2:p1'; did you mean 's1'? (valid: s1, h1, h2)")
        #expect(failure(twoHosts(links: "    - endpoints: [\"s1:p1\", \"h1:eth\"]"))
                == "t.yaml:10: links[0].endpoints[1]: port 'eth' in 'h1:eth' has no number (valid: a port name ending in a number, e.g. p1, eth0, 3)")
        #expect(failure(twoHosts(links: "    - endpoints: [\"s1:p70000\", \"h1:eth0\"]"))
                == "t.yaml:10: links[0].endpoints[0]: port number 70000 in 's1:p70000' is out of range (valid: 0 to 65535)")
        #expect(failure(twoHosts(links: "    - endpoints: [\"s1\", \"h1:eth0\"]"))
                == "t.yaml:10: links[0].endpoints[0]: 's1' has no port (valid: node:port, e.g. s1:p1 or h1:eth0)")
        #expect(failure(twoHosts(links: "    - endpoints: [\"s1:p1\"]"))
                == "t.yaml:10: links[0].endpoints: expected two endpoints, got 1 (valid: [\"node:port\", \"node:port\"])")
        #expect(failure(twoHosts(links: "    - endpoints: [\"s1:p1\", \"h1:eth0\"]\n    - endpoints: [\"s1:p1\", \"h2:eth0\"]"))
                == "t.yaml:11: links[1].endpoints[0]: port 1 of 's1' is already used by links[0] (line 10) (valid: a free port, e.g. s1:p2)")
        #expect(failure(twoHosts(links: "    - endpoints: [\"s1:p1\", \"h1:eth0\"]\n    - endpoints: [\"s1:p2\", \"h1:eth1\"]"))
                == "t.yaml:11: links[1].endpoints[1]: host 'h1' already has a link: links[0] (line 10) (valid: exactly one link per host)")
        #expect(failure(twoHosts(links: "    - endpoints: [\"s1:p1\", \"h1:eth0\"]"))
                == "t.yaml:8: nodes.h2: host 'h2' has no link (valid: exactly one link per host)")
        #expect(failure(twoHosts(links: "    - endpoints: [\"s1:p1\", \"s1:p2\"]"))
                == "t.yaml:10: links[0].endpoints: both ends are on 's1' (valid: two different nodes)")
    }

    @Test func unitErrorsNameTheFieldAndLine() {
        let doc = """
            name: leafspine
            topology:
              defaults: {switch: {program: ecmp-router}}
              generator:
                star: {hosts: 4}
              nodes:
                s2: {kind: switch}
              links:
                - {endpoints: ["s2:p1", "sw:p5"]}
                - {endpoints: ["s2:p2", "sw:p6"]}
                - {endpoints: ["s2:p3", "sw:p7"]}
                - {endpoints: ["s2:p4", "sw:p8"], rate: 100Gbs}
            """
        #expect(failure(doc, file: "leafspine.yaml")
                == "leafspine.yaml:12: links[3].rate: unknown unit 'Gbs' in '100Gbs' (valid: bps, Kbps, Mbps, Gbps, Tbps)")
        #expect(failure(twoHosts(links: "    - {endpoints: [\"s1:p1\", \"h1:eth0\"], rate: -5Gbps}"))
                == "t.yaml:10: links[0].rate: '-5Gbps' is negative (valid: bps, Kbps, Mbps, Gbps, Tbps)")
        #expect(failure(twoHosts(links: "    - {endpoints: [\"s1:p1\", \"h1:eth0\"], rate: 0Gbps}"))
                == "t.yaml:10: links[0].rate: '0Gbps' is not positive (valid: a rate above 0 in bps, Kbps, Mbps, Gbps, Tbps)")
        #expect(failure("topology:\n  defaults:\n    link: {delay: 1.5}\n")
                == "t.yaml:3: defaults.link.delay: '1.5' has no unit (valid: ps, ns, us, ms, s)")
        #expect(failure("topology:\n  defaults:\n    link:\n      queue: {limit: 10 frames}\n")
                == "t.yaml:4: defaults.link.queue.limit: unknown unit 'frames' in '10 frames' (valid: B, KB, MB, GB, KiB, MiB, GiB, p, packets)")
        #expect(failure("topology:\n  defaults:\n    link: {loss: 100%}\n")
                == "t.yaml:3: defaults.link.loss: a link that loses every packet (valid: a probability below 1)")
        #expect(failure("topology:\n  defaults:\n    link: {rate: {gbps: 100}}\n")
                == "t.yaml:3: defaults.link.rate: expected a rate such as 100Gbps, got a mapping")
    }

    @Test func programAndEntriesErrors() {
        #expect(failure("topology:\n  nodes:\n    s1: {kind: switch}\n")
                == "t.yaml:3: nodes.s1: switch 's1' has no program; set it here, in its kind or in defaults.switch (valid: \(programList))")
        #expect(failure("topology:\n  generator: {star: {hosts: 2}}\n")
                == "t.yaml:2: nodes.sw: switch 'sw' has no program; set defaults.switch.program (valid: \(programList))")
        #expect(failure("topology:\n  nodes:\n    s1: {kind: switch, program: ipv4-routr}\n")
                == "t.yaml:3: nodes.s1.program: unknown program 'ipv4-routr'; did you mean 'ipv4-router'? (valid: \(programList), or a program file (.json))")
        #expect(failure("topology:\n  defaults:\n    switch: {program: router}\n  generator: {star: {hosts: 2}}\n")
                == "t.yaml:3: defaults.switch.program: unknown program 'router' (valid: \(programList), or a program file (.json))")
        #expect(failure("topology:\n  nodes:\n    s1: {kind: switch, program: ipv4-router, entries: s1.entries}\n", base: "/tmp/no-such-dir")
                == "t.yaml:3: nodes.s1.entries: cannot read '/tmp/no-such-dir/s1.entries': no such file (valid: an entries file, relative to the topology file)")
    }

    @Test func nextHopGroupKinds() throws {
        let file = "topology:\n  generator: {leaf-spine: {spines: 2, leaves: 2, hosts-per-leaf: 1}}\n  defaults: {switch: {program: ecmp-router, groups: resilient, group-buckets: 128}}\n"
        let t = try TopologyFile.parse(file, file: "t.yaml", baseDirectory: ".", programs: .builtIn)
        #expect(t.switches.allSatisfy { t.nodes[$0].switchSpec?.groups == .resilient && t.nodes[$0].switchSpec?.groupBuckets == 128 })
        #expect(failure("topology:\n  nodes:\n    s1: {kind: switch, program: ecmp-router, groups: fair}\n")
                == "t.yaml:3: nodes.s1.groups: unknown next-hop group kind 'fair' (valid: equal, weighted, resilient)")
        #expect(failure("topology:\n  nodes:\n    s1: {kind: switch, program: ecmp-router, group-buckets: 0}\n").hasPrefix("t.yaml:3: nodes.s1.group-buckets:"))
    }

    @Test func routingNeedsARoutableProgram() {
        let links = "\n  links:\n    - endpoints: [\"s1:p1\", \"h1:eth0\"]\n"
        let names = programs.routedNames.joined(separator: ", ")
        #expect(programs.routedNames.first == "ecmp-router")
        #expect(failure("topology:\n  nodes:\n    s1: {kind: switch, program: ipv4-router}\n    h1: {kind: host}" + links)
                == "t.yaml:3: nodes.s1.program: the routing controller fills only switches running \(names), and 's1' runs 'ipv4-router' with no entries file (valid: program: one of \(names); routing: NAME (one of those) for a program whose route tables are NAME's; or an entries file instead of routing)")
        #expect(failure("topology:\n  defaults: {switch: {routing: true}}\n  nodes:\n    s1: {kind: switch, program: l2-switch}\n    h1: {kind: host}" + links)
                == "t.yaml:2: defaults.switch.routing: the routing controller fills only switches running \(names), and 's1' runs 'l2-switch' (valid: program: one of \(names); routing: NAME (one of those) for a program whose route tables are NAME's; or an entries file instead of routing)")
        #expect(failure("topology:\n  nodes:\n    s1: {kind: switch, program: ipv4-router, routing: false}\n    h1: {kind: host}" + links) == "no error")
    }

    @Test func trafficErrors() {
        let doc = eightHosts + "\ntraffic:\n"
        #expect(failure(doc + "  - {kind: bulk, from: h1, to: sw, size: 1MiB}")
                == "t.yaml:5: traffic[0].to: 'sw' is a switch, not a host (valid: h1, h2, h3, h4, h5, h6, h7, h8)")
        #expect(failure(doc + "  - {kind: bulk, from: h12, to: h1, size: 1MiB}")
                == "t.yaml:5: traffic[0].from: unknown host 'h12'; did you mean 'h1'? (valid: h1, h2, h3, h4, h5, h6, h7, h8)")
        #expect(failure(doc + "  - {kind: tcp, from: h1, to: h2, size: 1MiB}")
                == "t.yaml:5: traffic[0].kind: unknown flow kind 'tcp' (valid: udp, bulk)")
        #expect(failure(doc + "  - {kind: udp, from: h1, to: h2, size: 1MiB}")
                == "t.yaml:5: traffic[0].rate: missing (valid: a rate such as 10Gbps)")
        #expect(failure(doc + "  - {kind: bulk, from: h1, to: h2, size: 1MiB, rate: 1Gbps}")
                == "t.yaml:5: traffic[0].rate: does not apply to bulk flows (the transport sets their pace and segment size) (valid: pattern, from, to, kind, size, start, sport, dport)")
        #expect(failure(doc + "  - {kind: udp, from: h1, to: h2, size: 1MiB, rate: 1Gbps, payload: 9000}")
                == "t.yaml:5: traffic[0].payload: 9000 bytes does not fit (valid: 8 to 8972 bytes: the tag, up to the MTU (9000) less IPv4 and UDP headers)")
        #expect(failure(doc + "  - {pattern: shift, offset: 8, kind: bulk, size: 1MiB}")
                == "t.yaml:5: traffic[0].offset: 8 would send each host to itself (valid: not a multiple of 8, the number of hosts)")
        #expect(failure(doc + "  - {pattern: permutation, from: h1, kind: bulk, size: 1MiB}")
                == "t.yaml:5: traffic[0].from: does not apply to pattern permutation (valid: pattern, seed, kind, size, rate, payload, start, sport, dport)")
        #expect(failure(doc + "  - {pattern: ring, kind: bulk, size: 1MiB}")
                == "t.yaml:5: traffic[0].pattern: unknown pattern 'ring' (valid: shift, permutation, incast)")
        #expect(failure(doc + "  - {kind: bulk, from: h1, to: h1, size: 1MiB}")
                == "t.yaml:5: traffic[0].to: 'h1' would send to itself (valid: a different host)")
    }

    @Test func everyPrefixOfAFileParsesOrFailsCleanly() throws {
        for name in ["leafspine-small", "dumbbell", "failover"] {
            let text = try TopologyFile.readText("\(packageRoot)/Topologies/\(name).yaml")
            let bytes = Array(text.utf8)
            for n in 0...bytes.count {
                do { _ = try parse(String(decoding: bytes[..<n], as: UTF8.self), file: "\(name).yaml") } catch {
                    #expect(error.line != nil && !error.problem.isEmpty)
                }
            }
        }
    }

    @Test func malformedYAMLAndGenerators() {
        #expect(failure("topology:\n  nodes: {s1: {kind: switch}\n  links: []\n")
                == "t.yaml:3: malformed YAML: did not find expected ',' or '}' while parsing a flow mapping")
        #expect(failure("topology:\n  generator:\n    fat-tree: {k: 3}\n")
                == "t.yaml:3: generator.fat-tree.k: 3 is odd (valid: an even number from 2 to 128)")
        #expect(failure("topology:\n  generator:\n    fat-tree: {k: 130}\n")
                == "t.yaml:3: generator.fat-tree.k: 130 is out of range (valid: an even number from 2 to 128)")
        #expect(failure("topology:\n  generator:\n    leaf-spine: {spines: 2, leaves: 0, hosts-per-leaf: 4}\n")
                == "t.yaml:3: generator.leaf-spine.leaves: 0 is out of range (valid: 1 to 65535)")
        #expect(failure("topology:\n  generator:\n    leaf-spine: {spines: 2, hosts-per-leaf: 4}\n")
                == "t.yaml:3: generator.leaf-spine.leaves: missing (valid: 1 to 65535)")
        #expect(failure("topology:\n  generator:\n    clos: {k: 4}\n")
                == "t.yaml:3: generator.clos: unknown field (valid: leaf-spine, fat-tree, dumbbell, star)")
        #expect(failure("topology:\n  generator: {star: {hosts: 2}}\n  defaults: {switch: {program: ipv4-router}}\n  nodes:\n    sw: {kind: host}\n")
                == "t.yaml:5: nodes.sw.kind: the generator made 'sw' a switch (valid: switch or a switch kind)")
        #expect(failure("")
                == "t.yaml:1: the document is empty (valid: a mapping with 'topology')")
    }
}
