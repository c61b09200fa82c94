import SluiceEmulator
import SluicePrograms
import Sluice
import Foundation

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
            let spec = try TopologyFile.parse(setup.yaml(hosts: 2 * perJob, program: SwitchML.name), file: "e6.yaml", baseDirectory: ".", seed: s.seed)
            let options = setup.options
            let emulator = try Emulator(spec, options: options)
            var runs: [InNetworkRun<Int32>] = []
            var buffers: [[TensorBuffer<Int32>]] = []
            let clock = ContinuousClock.now
            for j in 0..<jobs {
                let b = inputs[(j * perJob)..<((j + 1) * perJob)].map { TensorBuffer($0) }
                buffers.append(b)
                let config = AggregationConfig(job: UInt8(j + 1), workers: perJob, elementsPerPacket: k, poolSlots: slots)
                runs.append(try InNetworkRun(emulator: emulator, switchName: "sw",
                                             workers: ((j * perJob + 1)...((j + 1) * perJob)).map { "h\($0)" },
                                             buffers: b, config: config, slotBase: j * slots))
            }
            _ = emulator.run()
            let wall = clock.duration(to: .now).seconds
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
    }
}
