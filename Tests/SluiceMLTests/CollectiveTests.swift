import Testing
import SluiceEmulator
import SluicePrograms
@testable import SluiceML

/// Whole allreduces on an emulated star (the real `switchml` program in the switch, the
/// emulator's transport for the baselines): sums compared with a reference.
@Suite struct CollectiveTests {
    static let seed: UInt64 = 21

    static func integers(_ n: Int, _ count: Int) -> [[Int32]] {
        print("CollectiveTests seed \(seed)")
        return (0..<n).map { SyntheticTensors.integers(count: count, worker: $0, seed: seed) }
    }

    static func setup(_ n: Int, rate: Double = 10, loss: Double = 0) -> StarSetup {
        var s = StarSetup(workers: n, rateGbps: rate)
        s.seed = seed
        s.loss = loss
        s.poolSlots = 16
        return s
    }

    @Test(arguments: BaselineScheme.allCases)
    func baselinesSumInt32Exactly(_ scheme: BaselineScheme) throws {
        // 4 workers (tree needs a power of two), a size no chunk or segment divides.
        let x = Self.integers(4, 50_021)
        let buffers = x.map { TensorBuffer($0) }
        let m = try AllReduceRunner.run(.baseline(scheme), setup: Self.setup(4), buffers: buffers)
        #expect(m.time != nil, "\(scheme) did not finish")
        let reference = Reference.sum(x)
        for (w, b) in buffers.enumerated() { #expect(b.values == reference, "worker \(w) of \(scheme)") }
    }

    @Test(arguments: [BaselineScheme.ring, .ps, .psSharded])
    func baselinesWorkForOddWorkerCounts(_ scheme: BaselineScheme) throws {
        let x = Self.integers(5, 7_777)
        let buffers = x.map { TensorBuffer($0) }
        let m = try AllReduceRunner.run(.baseline(scheme), setup: Self.setup(5), buffers: buffers)
        #expect(m.time != nil)
        for b in buffers { #expect(b.values == Reference.sum(x)) }
    }

    @Test func baselinesSumFloat32WithinTheSummationBound() throws {
        let x = (0..<4).map { SyntheticTensors.gradients(count: 20_000, worker: $0, seed: Self.seed) }
        let reference = FloatReference(x)
        for scheme in BaselineScheme.allCases {
            let buffers = x.map { TensorBuffer($0) }
            _ = try AllReduceRunner.run(.baseline(scheme), setup: Self.setup(4), buffers: buffers)
            let check = reference.checkSummation(buffers)
            #expect(check.withinBound && check.workersAgree, "\(scheme): max error \(check.maxAbsError)")
        }
    }

    @Test func ringOverLossyLinksStaysExact() throws {
        let x = Self.integers(4, 30_000)
        let buffers = x.map { TensorBuffer($0) }
        let m = try AllReduceRunner.run(.baseline(.ring), setup: Self.setup(4, loss: 0.01), buffers: buffers)
        #expect(m.time != nil)
        for b in buffers { #expect(b.values == Reference.sum(x)) }
    }

    @Test func treeRefusesWorkerCountsThatAreNotPowersOfTwo() throws {
        let x = Self.integers(6, 100)
        #expect {
            _ = try AllReduceRunner.run(.baseline(.tree), setup: Self.setup(6), buffers: x.map { TensorBuffer($0) })
        } throws: { "\($0)" == "tree (halving-doubling): 6 workers (valid: a power of two)" }
    }

    @Test(arguments: [64, 256])
    func inNetworkInt32IsExact(k: Int) throws {
        let x = Self.integers(6, k * 100 + 17)
        let buffers = x.map { TensorBuffer($0) }
        let m = try AllReduceRunner.run(.inNetwork(k: k), setup: Self.setup(6), buffers: buffers)
        #expect(m.time != nil)
        #expect(m.retransmissions == 0)
        for b in buffers { #expect(b.values == Reference.sum(x)) }
    }

    /// 1% loss on every link, both directions: updates and results are lost, retransmissions
    /// recover them through the shadow copies; every worker finishes with the exact sum.
    @Test func inNetworkUnderLinkLossStaysExact() throws {
        let x = Self.integers(4, 64 * 400)
        let buffers = x.map { TensorBuffer($0) }
        var s = Self.setup(4, loss: 0.01)
        s.timeout = 20_000_000   // 20 us
        let m = try AllReduceRunner.run(.inNetwork(k: 64), setup: s, buffers: buffers, limit: 1_000_000_000_000)
        #expect(m.time != nil, "a worker never finished")
        #expect(m.retransmissions > 0)
        for b in buffers { #expect(b.values == Reference.sum(x)) }
    }

    /// The same loss without the shadow set: wrong sums or workers that never finish.
    @Test func inNetworkWithoutShadowSetsFailsUnderLoss() throws {
        let x = Self.integers(4, 64 * 400)
        let buffers = x.map { TensorBuffer($0) }
        var s = Self.setup(4, loss: 0.01)
        s.timeout = 20_000_000
        s.shadow = false
        let m = try AllReduceRunner.run(.inNetwork(k: 64), setup: s, buffers: buffers, limit: 100_000_000_000)
        let correct = m.time != nil && buffers.allSatisfy { $0.values == Reference.sum(x) }
        #expect(!correct)
    }

    /// Seeded drops at the switch's ports (SwitchML's drop simulator) instead of link loss.
    @Test func inNetworkWithPerPortDropsStaysExact() throws {
        let n = 4, k = 64
        let x = Self.integers(n, k * 300)
        let buffers = x.map { TensorBuffer($0) }
        let setup = Self.setup(n)
        let spec = try TopologyFile.parse(setup.yaml(hosts: n, program: SwitchML.name), file: "t.yaml", baseDirectory: ".", seed: Self.seed, programs: .builtIn)
        let emulator = try Emulator(spec, options: setup.options, programs: .builtIn)
        for port in 1...UInt16(n) { try emulator.setArrivalDrop(switch: "sw", port: port, probability: 0.02) }
        let config = AggregationConfig(job: 1, workers: n, elementsPerPacket: k, poolSlots: 16, timeout: 20_000_000)
        let run = try InNetworkRun(emulator: emulator, switchName: "sw", workers: (1...n).map { "h\($0)" }, buffers: buffers, config: config)
        _ = emulator.run(until: 1_000_000_000_000)
        #expect(run.outcome.complete)
        #expect(emulator.switchStats[0].arrivalDrops > 0)
        for b in buffers { #expect(b.values == Reference.sum(x)) }
    }

    /// Two jobs on one switch at once, disjoint slot ranges: each gets exactly its own sum.
    @Test func twoJobsShareASwitch() throws {
        let k = 64
        let x = Self.integers(6, k * 200 + 5)
        let setup = Self.setup(6)
        let spec = try TopologyFile.parse(setup.yaml(hosts: 6, program: SwitchML.name), file: "t.yaml", baseDirectory: ".", seed: Self.seed, programs: .builtIn)
        let emulator = try Emulator(spec, options: setup.options, programs: .builtIn)
        let a = x[0..<3].map { TensorBuffer($0) }, b = x[3...].map { TensorBuffer($0) }
        let ra = try InNetworkRun(emulator: emulator, switchName: "sw", workers: ["h1", "h2", "h3"], buffers: a,
                                  config: AggregationConfig(job: 1, workers: 3, elementsPerPacket: k, poolSlots: 8), slotBase: 0)
        let rb = try InNetworkRun(emulator: emulator, switchName: "sw", workers: ["h4", "h5", "h6"], buffers: b,
                                  config: AggregationConfig(job: 2, workers: 3, elementsPerPacket: k, poolSlots: 8), slotBase: 8)
        _ = emulator.run()
        #expect(ra.outcome.complete && rb.outcome.complete)
        for t in a { #expect(t.values == Reference.sum(Array(x[0..<3]))) }
        for t in b { #expect(t.values == Reference.sum(Array(x[3...]))) }
    }

    @Test func inNetworkFloat32IsWithinTheBlockBound() throws {
        let k = 64
        let x = (0..<4).map { SyntheticTensors.gradients(count: k * 150 + 9, worker: $0, seed: Self.seed) }
        let buffers = x.map { TensorBuffer($0) }
        _ = try AllReduceRunner.run(.inNetwork(k: k), setup: Self.setup(4), buffers: buffers)
        let check = FloatReference(x).checkBlocks(buffers, k: k)
        #expect(check.withinBound && check.workersAgree, "max error \(check.maxAbsError)")
    }
}
