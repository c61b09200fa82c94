import Foundation
import SluiceEmulator

/// Balls into bins on the emulator's ECMP: `flows` equal elephants from one leaf to the other
/// over `links` spine uplinks, each run with other queue-pair source ports (the seed), counted
/// per uplink from the leaf's transmit bytes. The busiest uplink decides the collective's time.
public enum ECMPCollisions {
    public struct Result: Sendable, Encodable {
        public var seeds: Int
        public var firstSeed: UInt64
        public var flows: Int
        public var links: Int
        /// Means over the seeds.
        public var meanBusiestFlows: Double
        public var meanLinksUsed: Double
        /// Balls into bins (uniform hashing), computed exactly.
        public var expectedBusiestFlows: Double
        public var expectedLinksUsed: Double
        /// Per seed: the flows on the busiest uplink.
        public var busiest: [Int]

        enum CodingKeys: String, CodingKey {
            case seeds, firstSeed = "first_seed", flows, links, meanBusiestFlows = "mean_busiest_flows", meanLinksUsed = "mean_links_used"
            case expectedBusiestFlows = "expected_busiest_flows", expectedLinksUsed = "expected_links_used", busiest
        }
    }

    /// Runs `seeds` emulations (seeds `firstSeed` ...): leaf-spine with two leaves of `flows`
    /// hosts and `links` spines at 100 Gb/s, host i of leaf 1 sends `bytes` to host i of leaf 2.
    public static func run(seeds: Int = 200, firstSeed: UInt64 = 1, flows: Int = 8, links: Int = 8, bytes: Int = 64 << 10,
                           progress: (Int) -> Void = { _ in }) throws -> Result {
        let traffic = (1...flows).map { "  - {kind: bulk, from: h\($0), to: h\($0 + flows), size: \(bytes)}" }.joined(separator: "\n")
        let yaml = """
            name: ecmp-collisions
            topology:
              generator: {leaf-spine: {spines: \(links), leaves: 2, hosts-per-leaf: \(flows)}}
              defaults:
                link: {rate: 100Gbps, delay: 1us, mtu: 4096, queue: {limit: 8MB}}
                switch: {program: ecmp-router}
            traffic:
            \(traffic)
            """
        let spec = try TopologyFile.parse(yaml, file: "(ecmp-collisions)", baseDirectory: ".", programs: .builtIn)
        var busiest: [Int] = [], used: [Int] = []
        for k in 0..<seeds {
            var o = EmulatorOptions()
            o.seed = firstSeed &+ UInt64(k)
            o.sourcePortSeed = firstSeed &+ UInt64(k)
            let emu = try Emulator(spec, options: o, programs: .builtIn)
            let stats = emu.run()
            let report = RunReport(emu, stats: stats)
            let uplinks = report.ports.filter { $0.node == "leaf1" && $0.peer.hasPrefix("spine") }
            guard uplinks.count == links else { throw WorkloadError("leaf1 has \(uplinks.count) uplinks, expected \(links)") }
            let total = uplinks.reduce(UInt64(0)) { $0 + $1.txBytes }
            guard total > 0 else { throw WorkloadError("seed \(o.seed): no traffic crossed the spines") }
            let perFlow = Double(total) / Double(flows)
            let counts = uplinks.map { Int((Double($0.txBytes) / perFlow).rounded()) }
            guard counts.reduce(0, +) == flows else { throw WorkloadError("seed \(o.seed): uplink bytes \(uplinks.map(\.txBytes)) do not split into \(flows) equal flows") }
            busiest.append(counts.max()!)
            used.append(counts.filter { $0 > 0 }.count)
            progress(k + 1)
        }
        return Result(seeds: seeds, firstSeed: firstSeed, flows: flows, links: links,
                      meanBusiestFlows: Double(busiest.reduce(0, +)) / Double(seeds), meanLinksUsed: Double(used.reduce(0, +)) / Double(seeds),
                      expectedBusiestFlows: expectedMaxLoad(balls: flows, bins: links),
                      expectedLinksUsed: Double(links) * (1 - pow(1 - 1 / Double(links), Double(flows))), busiest: busiest)
    }

    /// E[the fullest bin's count] for `balls` thrown uniformly into `bins`: sum over m of
    /// P(max >= m), with P(max <= m) = balls! [x^balls] (sum_{j<=m} x^j / j!)^bins / bins^balls.
    public static func expectedMaxLoad(balls: Int, bins: Int) -> Double {
        func atMost(_ m: Int) -> Double {
            var poly = [Double](repeating: 0, count: balls + 1)
            poly[0] = 1
            var term = [Double](repeating: 0, count: balls + 1)
            var f = 1.0
            for j in 0...min(m, balls) { if j > 0 { f *= Double(j) }; term[j] = 1 / f }
            for _ in 0..<bins {
                var next = [Double](repeating: 0, count: balls + 1)
                for a in 0...balls where poly[a] != 0 { for b in 0...(balls - a) where term[b] != 0 { next[a + b] += poly[a] * term[b] } }
                poly = next
            }
            var factorial = 1.0
            for i in 1...max(1, balls) { factorial *= Double(i) }
            return poly[balls] * factorial / pow(Double(bins), Double(balls))
        }
        var e = 0.0
        for m in 1...balls { e += 1 - atMost(m - 1) }
        return e
    }
}
