import Testing
import SluiceEmulator
import SluicePrograms
@testable import SluiceML

/// `flowlet`, `conga` and `hula` against `ecmp-router` in the emulator: 2 leaves, 4 spines,
/// 4 hosts a leaf, 100 Gb/s with spine 1 -- leaf 2 at a quarter of that, DCTCP with ECN at
/// 100 KB; 4 pairs from leaf 1 to leaf 2 send 32 chunks of 256 KiB each, 120 us after the last
/// one's acknowledgement (more than the 100 us flowlet timeout), all starting together. Each
/// seed fixes the transport's source ports, so every scheme sees the same flows.
@Suite struct LoadBalancingTests {
    static let yaml = """
        name: lb
        topology:
          generator: {leaf-spine: {spines: 4, leaves: 2, hosts-per-leaf: 4}}
          defaults:
            link: {rate: 100Gbps, delay: 1us, mtu: 4102, queue: {limit: 4MB, ecn: {kmin: 100KB, kmax: 100KB, pmax: 1}}}
            switch: {program: ecmp-router}
        """

    /// The topology: host links at MTU 4096 (links between switches keep 4102 for CONGA's 6
    /// bytes), the spine1 -- leaf2 link at 25 Gb/s.
    static func spec() throws -> TopologySpec {
        var spec = try TopologyFile.parse(yaml, file: "(lb)", baseDirectory: ".")
        let spine1 = try #require(spec.node(named: "spine1")), leaf2 = try #require(spec.node(named: "leaf2"))
        for i in spec.links.indices {
            let ends = [spec.links[i].a.node, spec.links[i].b.node]
            if ends.contains(where: { spec.nodes[$0].isHost }) { spec.links[i].mtu = 4096 }
            if Set(ends) == [spine1, leaf2] { spec.links[i].rate = 25_000_000_000 }
        }
        return spec
    }

    static let pairs = [("h1", "h5"), ("h2", "h6"), ("h3", "h7"), ("h4", "h8")]
    static let seeds: [UInt64] = Array(1...6)

    /// The slowest pair's finish per seed, in microseconds.
    static func slowest(_ program: String) throws -> [Double] {
        try seeds.map { seed in
            let r = try ElephantRun.run(try spec(), program: program, pairs: pairs, chunks: 32, chunkBytes: 256 << 10,
                                        gap: 120_000_000, seed: seed, until: 50_000_000_000)
            #expect(!r.finish.contains(.max), "\(program) seed \(seed): every pair finishes")
            return Double(r.slowest) / 1e6
        }
    }

    /// Averaged over the seeds, each scheme's slowest pair finishes before ECMP's: ECMP keeps a
    /// flow hashed onto the slow path there for all its chunks; the others move chunks.
    @Test func loadBalancersFinishSynchronizedElephantsBeforeECMP() throws {
        print("LoadBalancingTests seeds \(Self.seeds)")
        let ecmp = try Self.slowest(ECMPRouter.name)
        let mean = { (xs: [Double]) in xs.reduce(0, +) / Double(xs.count) }
        print("ecmp-router: mean \(Int(mean(ecmp))) us, per seed \(ecmp.map { Int($0) })")
        for program in [Flowlet.name, CONGA.name, HULA.name] {
            let lb = try Self.slowest(program)
            print("\(program): mean \(Int(mean(lb))) us (\(Int((1 - mean(lb) / mean(ecmp)) * 100))% less than ecmp-router), per seed \(lb.map { Int($0) })")
            #expect(mean(lb) < mean(ecmp), "\(program)")
        }
    }

    @Test func congaRefusesFabricLinksWithoutRoomForItsHeader() throws {
        var spec = try Self.spec()
        for i in spec.links.indices { spec.links[i].mtu = 4096 }
        do {
            _ = try ElephantRun.run(spec, program: CONGA.name, pairs: Self.pairs, chunks: 1, chunkBytes: 1000, gap: 0, seed: 1, until: 1_000_000_000)
            Issue.record("conga ran with no room for its header")
        } catch {
            #expect("\(error)".contains("links between switches need an MTU of at least 4102 (the hosts' 4096 + 6)"), "\(error)")
        }
    }

    @Test func hulaNeedsATimeToStopItsProbes() throws {
        var spec = try Self.spec()
        for s in spec.switches { spec.nodes[s].kind = .switch(SwitchSpec(program: HULA.name)) }
        let emu = try Emulator(spec)
        do {
            try HULASetup.prepare(emu, spec)
            Issue.record("prepare accepted a topology without `until`")
        } catch {
            #expect("\(error)" == "hula: the probe agents need a time to stop at: give the topology `until` (or pass stopAt)")
        }
    }
}
