import SluiceControlPlane
import SluiceEmulator
import SluicePrograms
import Sluice
import Foundation
import SluiceSupport

extension Experiments {
    /// E6: two jobs on one switch. switchml: each job owns a slot range (disjoint), run alone
    /// and together. atp: aggregators claimed by hashing, supply from 2x to 0.25x of demand.
    static func e6(_ s: ExperimentSettings, _ add: (ExperimentRow) -> Void) throws {
        let perJob = 4, k = 64, slots = 128
        let count = elements(10e6, s)
        let inputs = (0..<(2 * perJob)).map { SyntheticTensors.integers(count: count, worker: $0, seed: s.seed) }
        let refs = [Reference.sum(Array(inputs[0..<perJob])), Reference.sum(Array(inputs[perJob...]))]

        for together in [false, true] {
            let jobs = together ? 2 : 1
            var setup = StarSetup(workers: 2 * perJob, rateGbps: 100)
            setup.seed = s.seed
            setup.progress = s.progress
            let spec = try TopologyFile.parse(setup.yaml(hosts: 2 * perJob, program: SwitchML.name), file: "e6.yaml", baseDirectory: ".", seed: s.seed, programs: .builtIn)
            let options = setup.options
            let emulator = try Emulator(spec, options: options, programs: .builtIn)
            var runs: [InNetworkRun<Int32>] = []
            var buffers: [[TensorBuffer<Int32>]] = []
            let clock = MonotonicClock.nanoseconds
            for j in 0..<jobs {
                let b = inputs[(j * perJob)..<((j + 1) * perJob)].map { TensorBuffer($0) }
                buffers.append(b)
                let config = AggregationConfig(job: UInt8(j + 1), workers: perJob, elementsPerPacket: k, poolSlots: slots)
                runs.append(try InNetworkRun(emulator: emulator, switchName: "sw",
                                             workers: ((j * perJob + 1)...((j + 1) * perJob)).map { "h\($0)" },
                                             buffers: b, config: config, slotBase: j * slots))
            }
            _ = emulator.run()
            let wall = MonotonicClock.seconds(since: clock)
            for j in 0..<jobs {
                let t = seconds(runs[j].outcome.time)
                let bound = bound(.inNetwork(k: k), workers: perJob, elements: count, rateGbps: 100)
                add(ExperimentRow(experiment: "ina-e6", scheme: "switchml-k\(k)", workers: perJob, rateGbps: 100, sizeBytes: count * 4,
                                  elementsPerPacket: k, poolSlots: slots, loss: 0, timeoutS: nil, timeS: t,
                                  elementsPerS: t.map { Double(count) / $0 },
                                  exact: buffers[j].allSatisfy { $0.values == refs[j] }, maxAbsError: nil, withinBound: nil,
                                  boundS: bound, timeOverBound: t.map { $0 / bound },
                                  retransmissions: runs[j].stats.reduce(0) { $0 + $1.retransmissions },
                                  jobs: jobs, job: j + 1,
                                  note: together ? "two jobs, slots \(j * slots) ..< \((j + 1) * slots) each" : "alone", wallS: wall))
            }
        }
        try e6ATP(s, perJob: perJob, count: count, inputs: inputs, refs: refs, add)
    }
}

extension Experiments {
    /// E6 with `atp`: two jobs claim aggregators by hashing (job, sequence); supply from 2x
    /// down to 0.25x of demand (demand = both jobs' windows). What does not fit goes to the
    /// parameter server, which aggregates in software.
    static func e6ATP(_ s: ExperimentSettings, perJob: Int, count: Int, inputs: [[Int32]], refs: [[Int32]],
                      _ add: (ExperimentRow) -> Void) throws {
        let k = 64, window = 128
        let demand = 2 * window
        for supply in [2.0, 1.0, 0.5, 0.25] {
            // Odd counts: the index is a CRC, linear over GF(2), and a power-of-two modulus keeps
            // only its low bits, which maps two jobs' windows of consecutive sequences onto the
            // same or disjoint sets (whole-window collisions or none) instead of spreading them.
            let aggregators = Int(Double(demand) * supply) | 1
            // Two jobs of perJob workers plus one parameter server each.
            var setup = StarSetup(workers: 2 * perJob + 2, rateGbps: 100)
            setup.seed = s.seed
            setup.progress = s.progress
            let spec = try TopologyFile.parse(setup.yaml(hosts: 2 * perJob + 2, program: ATP.name), file: "e6-atp.yaml",
                                              baseDirectory: ".", seed: s.seed, programs: .builtIn)
            var options = setup.options
            let programs = ProgramResolver.builtIn.replacing(ATP.name) { try ATP.program(k: k, aggregators: aggregators).verified() }
            let emulator = try Emulator(spec, options: options, programs: programs)
            var buffers: [[TensorBuffer<Int32>]] = []
            var jobs: [ATPRun.JobSpec] = []
            for j in 0..<2 {
                let b = inputs[(j * perJob)..<((j + 1) * perJob)].map { TensorBuffer($0) }
                buffers.append(b)
                jobs.append(ATPRun.JobSpec(workers: ((j * perJob + 1)...((j + 1) * perJob)).map { "h\($0)" },
                                           server: "h\(2 * perJob + 1 + j)", buffers: b, window: window, timeout: 1_000_000_000))
            }
            let clock = MonotonicClock.nanoseconds
            let run = try ATPRun(emulator: emulator, switchName: "sw", jobs: jobs, k: k)
            _ = emulator.run()
            let wall = MonotonicClock.seconds(since: clock)
            let outcomes = run.outcomes
            let share = Double(run.fallbackPackets) / Double(max(1, run.fallbackPackets + run.switchAggregated))
            for j in 0..<2 {
                let t = seconds(outcomes[j].time)
                let bound = bound(.inNetwork(k: k), workers: perJob, elements: count, rateGbps: 100)
                add(ExperimentRow(experiment: "ina-e6", scheme: "atp-k\(k)", workers: perJob, rateGbps: 100, sizeBytes: count * 4,
                                  elementsPerPacket: k, poolSlots: aggregators, loss: 0, timeoutS: 1e-3, timeS: t,
                                  elementsPerS: t.map { Double(count) / $0 },
                                  exact: buffers[j].allSatisfy { $0.values == refs[j] }, maxAbsError: nil, withinBound: nil,
                                  boundS: bound, timeOverBound: t.map { $0 / bound }, retransmissions: nil, jobs: 2, job: j + 1,
                                  note: String(format: "supply %gx (%d aggregators for a demand of %d), %.1f%% of contributions via the server", supply, aggregators, demand, share * 100),
                                  wallS: wall))
            }
        }
    }
}
