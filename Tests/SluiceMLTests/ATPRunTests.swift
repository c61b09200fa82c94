import SluiceControlPlane
import Testing
import SluiceEmulator
import SluicePrograms
@testable import SluiceML

/// ATP end to end on an emulated star running the real `atp` program: sums bit-exact against
/// the reference, with plenty of aggregators, with too few (the servers take the rest), and
/// under link loss.
@Suite struct ATPRunTests {
    static let seed: UInt64 = 33

    struct Outcome { var run: ATPRun; var buffers: [[TensorBuffer<Int32>]]; var refs: [[Int32]] }

    static func run(jobs: Int, perJob: Int, elements: Int, aggregators: Int, loss: Double = 0, window: Int = 16,
                    timeout: Int64 = 50_000_000) throws -> Outcome {
        print("ATPRunTests seed \(seed)")
        let k = 64
        var setup = StarSetup(workers: jobs * (perJob + 1), rateGbps: 10)
        setup.seed = seed
        setup.loss = loss
        let spec = try TopologyFile.parse(setup.yaml(hosts: jobs * (perJob + 1), program: ATP.name), file: "atp.yaml",
                                          baseDirectory: ".", seed: seed, programs: .builtIn)
        var options = setup.options
        let programs = ProgramResolver.builtIn.replacing(ATP.name) { try ATP.program(k: k, aggregators: aggregators).verified() }
        let emulator = try Emulator(spec, options: options, programs: programs)
        var specs: [ATPRun.JobSpec] = [], buffers: [[TensorBuffer<Int32>]] = [], refs: [[Int32]] = []
        for j in 0..<jobs {
            let inputs = (0..<perJob).map { SyntheticTensors.integers(count: elements, worker: j * perJob + $0, seed: seed) }
            refs.append(Reference.sum(inputs))
            let b = inputs.map { TensorBuffer($0) }
            buffers.append(b)
            specs.append(ATPRun.JobSpec(workers: (0..<perJob).map { "h\(j * perJob + $0 + 1)" }, server: "h\(jobs * perJob + j + 1)",
                                        buffers: b, window: window, timeout: timeout))
        }
        let run = try ATPRun(emulator: emulator, switchName: "sw", jobs: specs, k: k)
        _ = emulator.run(until: 10_000_000_000_000)
        return Outcome(run: run, buffers: buffers, refs: refs)
    }

    @Test func oneJobAggregatesInTheSwitchExactly() throws {
        let o = try Self.run(jobs: 1, perJob: 4, elements: 64 * 200 + 7, aggregators: 1024)
        #expect(o.run.outcomes[0].complete)
        for b in o.buffers[0] { #expect(b.values == o.refs[0]) }
        #expect(o.run.switchAggregated > 0)
        #expect(o.run.overlaps == 0)
    }

    /// Two jobs, 8 aggregators for windows of 16 each: most sequences collide and go to the
    /// servers; no job's values reach the other's sums.
    @Test func twoJobsWithTooFewAggregatorsStayExact() throws {
        let o = try Self.run(jobs: 2, perJob: 3, elements: 64 * 150, aggregators: 8)
        for j in 0..<2 {
            #expect(o.run.outcomes[j].complete)
            for b in o.buffers[j] { #expect(b.values == o.refs[j]) }
        }
        #expect(o.run.fallbackPackets > 0)
        #expect(o.run.switchAggregated > 0)
        #expect(o.run.overlaps == 0)
    }

    @Test func linkLossIsRecoveredExactly() throws {
        let o = try Self.run(jobs: 2, perJob: 3, elements: 64 * 150, aggregators: 64, loss: 0.01)
        for j in 0..<2 {
            #expect(o.run.outcomes[j].complete, "job \(j + 1) did not finish")
            for b in o.buffers[j] { #expect(b.values == o.refs[j]) }
        }
    }

    @Test func badParametersAreNamed() {
        #expect(throws: (any Error).self) { _ = try ATP.program(k: 100) }
        #expect(throws: (any Error).self) { _ = try ATP.program(k: 64, aggregators: 0) }
    }
}
