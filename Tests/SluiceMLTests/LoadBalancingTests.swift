import Testing
import SluiceEmulator
import SluicePrograms
@testable import SluiceML

/// `flowlet`, `conga` and `hula` against `ecmp-router` in the emulator: 2 leaves, 4 spines,
/// 4 hosts a leaf, 100 Gb/s with spine 1 -- leaf 2 at a quarter of that; 4 pairs of synchronized
/// chunked elephants from leaf 1 to leaf 2, the same seed (so the same source ports) for all.
@Suite struct LoadBalancingTests {
    static let yaml = """
        name: lb
        topology:
          generator: {leaf-spine: {spines: 4, leaves: 2, hosts-per-leaf: 4}}
          defaults:
            link: {rate: 100Gbps, delay: 1us, mtu: 4102, queue: {limit: 4MB, ecn: {kmin: 100KB, kmax: 100KB, pmax: 1}}}
            switch: {program: ecmp-router}
        """

    /// The topology: host links at MTU 4096 (fabric links keep 4102 for CONGA's 6 bytes), the
    /// spine1 -- leaf2 link at 25 Gb/s.
    static func spec() throws -> TopologySpec {
        var spec = try TopologyFile.parse(yaml, file: "(lb)", baseDirectory: ".")
        let spine1 = spec.node(named: "spine1")!, leaf2 = spec.node(named: "leaf2")!
        for i in spec.links.indices {
            let ends = [spec.links[i].a.node, spec.links[i].b.node]
            if ends.contains(where: { spec.nodes[$0].isHost }) { spec.links[i].mtu = 4096 }
            if Set(ends) == [spine1, leaf2] { spec.links[i].rate = 25_000_000_000 }
        }
        return spec
    }

    static let pairs = [("h1", "h5"), ("h2", "h6"), ("h3", "h7"), ("h4", "h8")]

    static func run(_ program: String, seed: UInt64) throws -> ElephantRun.Result {
        try ElephantRun.run(try spec(), program: program, pairs: pairs, chunks: 8, chunkBytes: 1 << 20, gap: 150_000_000,
                            seed: seed, until: 50_000_000_000)
    }

    @Test(arguments: [Flowlet.name, CONGA.name, HULA.name])
    func finishesSynchronizedElephantsFasterThanECMP(_ program: String) throws {
        let seed: UInt64 = 3
        print("LoadBalancingTests seed \(seed)")
        let ecmp = try Self.run(ECMPRouter.name, seed: seed)
        let lb = try Self.run(program, seed: seed)
        print("\(program): slowest pair \(Double(lb.slowest) / 1e6) us (pairs \(lb.finish.map { Double($0) / 1e6 })), ecmp-router \(Double(ecmp.slowest) / 1e6) us (pairs \(ecmp.finish.map { Double($0) / 1e6 }))")
        #expect(!ecmp.finish.contains(.max) && !lb.finish.contains(.max), "every pair finishes")
        #expect(lb.slowest < ecmp.slowest)
    }
}
