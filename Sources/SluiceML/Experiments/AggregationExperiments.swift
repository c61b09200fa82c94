import SluiceEmulator
import Foundation

extension Experiments {
    /// Run experiment `name`; `emit` gets each row as soon as it is measured.
    public static func run(_ name: String, _ s: ExperimentSettings, emit: (ExperimentRow) -> Void = { _ in }) throws -> [ExperimentRow] {
        var rows: [ExperimentRow] = []
        let add: (ExperimentRow) -> Void = { rows.append($0); emit($0) }
        switch name {
        case "ina-e1": try e1Rows(s, rates: [10, 100], add)
        case "ina-e2": try e2(s, add)
        case "ina-e3": try e3(s, add)
        case "ina-e4": try e4(s, add)
        case "ina-e5": try e5(s, add)
        case "ina-e6": try e6(s, add)
        default: throw AggregationError(unknown(name))
        }
        return rows
    }

    static func elements(_ bytes: Double, _ s: ExperimentSettings) -> Int {
        max(1024, Int(bytes * s.scale) / 4)
    }

    /// The seconds of a picosecond time.
    static func seconds(_ t: Int64?) -> Double? { t.map { Double($0) / 1e12 } }

    /// Bandwidth-bound time (s) of `scheme` for `elements` per worker among n at `rate`.
    public static func bound(_ scheme: AllReduceScheme, workers n: Int, elements: Int, rateGbps: Double, mtu: Int = 1500) -> Double {
        let bytes = Double(elements * 4)
        let b = rateGbps * 1e9 / 8
        switch scheme {
        case .inNetwork(let k):
            // Every worker sends S (and receives S): S / (eta B), independent of n.
            return bytes / (SwitchMLFormat.efficiency(elements: k) * b)
        case .baseline(let x):
            let eta = TransportFormat.efficiency(mtu: mtu, countingAcks: true)
            switch x {
            case .ring, .tree, .psSharded: return 2 * Double(n - 1) / Double(n) * bytes / (eta * b)
            case .ps: return Double(n) * bytes / (eta * b)
            }
        }
    }

    static func row(_ experiment: String, _ scheme: AllReduceScheme, _ setup: StarSetup, elements: Int,
                    _ m: AllReduceMeasurement) -> ExperimentRow {
        var k: Int? = nil, slots: Int? = nil, timeout: Double? = nil
        if case .inNetwork(let kk) = scheme {
            k = kk; slots = setup.poolSlots
            timeout = setup.timeout.map { Double($0) / 1e12 }
        }
        let t = seconds(m.time)
        let bound = bound(scheme, workers: setup.workers, elements: elements, rateGbps: setup.rateGbps, mtu: setup.mtu)
        return ExperimentRow(experiment: experiment, scheme: scheme.description, workers: setup.workers, rateGbps: setup.rateGbps,
                             sizeBytes: elements * 4, elementsPerPacket: k, poolSlots: slots, loss: setup.loss,
                             timeoutS: timeout, timeS: t, elementsPerS: t.map { Double(elements) / $0 },
                             exact: false, maxAbsError: nil, withinBound: nil, boundS: bound,
                             timeOverBound: t.map { $0 / bound }, retransmissions: m.retransmissions,
                             jobs: nil, job: nil, note: nil, wallS: m.wallSeconds, events: m.work.events.total, engine: m.engine)
    }

    // MARK: E1

    /// Seeded int32 tensors for n workers, their exact sum, and buffers to reduce them in.
    static func int32Problem(workers n: Int, elements count: Int, seed: UInt64) -> ([[Int32]], [Int32], [TensorBuffer<Int32>]) {
        let inputs = (0..<n).map { SyntheticTensors.integers(count: count, worker: $0, seed: seed) }
        return (inputs, Reference.sum(inputs), inputs.map { TensorBuffer($0) })
    }

    /// One int32 run of `scheme` on `setup`: `buffers` refilled from `inputs`, the row exact
    /// when every worker finished with `reference`.
    static func int32Row(_ experiment: String, _ scheme: AllReduceScheme, _ setup: StarSetup, inputs: [[Int32]],
                         buffers: [TensorBuffer<Int32>], reference: [Int32], elements count: Int) throws -> ExperimentRow {
        refill(buffers, from: inputs)
        let m = try AllReduceRunner.run(scheme, setup: setup, buffers: buffers)
        var r = row(experiment, scheme, setup, elements: count, m)
        r.exact = m.time != nil && buffers.allSatisfy { $0.values == reference }
        return r
    }

    /// Copy `inputs` into `buffers` in place (same sizes).
    static func refill<T>(_ buffers: [TensorBuffer<T>], from inputs: [[T]]) {
        for (b, x) in zip(buffers, inputs) {
            b.willWrite(0..<b.count)
            b.values.withUnsafeMutableBufferPointer { d in x.withUnsafeBufferPointer { _ = d.update(fromContentsOf: $0) } }
        }
    }

    /// E1 at the given link rates (the demo runs 100 Gb/s only).
    public static func e1(_ s: ExperimentSettings, rates: [Double], emit: (ExperimentRow) -> Void) throws -> [ExperimentRow] {
        var rows: [ExperimentRow] = []
        try e1Rows(s, rates: rates) { rows.append($0); emit($0) }
        return rows
    }

    static func e1Rows(_ s: ExperimentSettings, rates: [Double], _ add: (ExperimentRow) -> Void) throws {
        let n = 8
        let count = elements(100e6, s)
        let inputs = gradients(workers: n, count: count, seed: s.seed, threads: s.rowsAtOnce)
        let reference = FloatReference(inputs)
        let schemes: [AllReduceScheme] = [.inNetwork(k: 64), .inNetwork(k: 256), .baseline(.ring), .baseline(.tree),
                                          .baseline(.ps), .baseline(.psSharded)]
        let runs = rates.flatMap { rate in schemes.map { (rate: rate, scheme: $0) } }
        // Rows run `s.rowsAtOnce` at a time, each lane with one set of buffers, refilled from the
        // inputs before each of its rows: 800 MB of fresh pages per row cost seconds of page
        // faults.
        try ConcurrentRows.run(count: runs.count, lanes: s.rowsAtOnce, progress: s.progress,
                               label: { String(format: "%@ at %g Gb/s", runs[$0].scheme.description, runs[$0].rate) },
                               state: { inputs.map { TensorBuffer($0) } }) { buffers, i in
            let (rate, scheme) = runs[i]
            var setup = StarSetup(workers: n, rateGbps: rate)
            setup.seed = s.seed
            // One row's emulator progress line at a time; rows at once share the lanes' line.
            setup.progress = s.progress && s.rowsAtOnce == 1
            refill(buffers, from: inputs)
            let m = try AllReduceRunner.run(scheme, setup: setup, buffers: buffers)
            var r = row("ina-e1", scheme, setup, elements: count, m)
            let check: FloatReference.Check
            if case .inNetwork(let k) = scheme { check = reference.checkBlocks(buffers, k: k) } else { check = reference.checkSummation(buffers) }
            r.maxAbsError = check.maxAbsError
            r.withinBound = check.withinBound && check.workersAgree
            r.exact = check.maxAbsError == 0
            return r
        } emit: { add($0) }
    }

    /// `SyntheticTensors.gradients` of workers 0 ..< n, on every core when `threads` is above 1
    /// (each worker's tensor is its own seeded stream: the same bytes however they are made).
    static func gradients(workers n: Int, count: Int, seed: UInt64, threads: Int) -> [[Float]] {
        guard threads > 1 else { return (0..<n).map { SyntheticTensors.gradients(count: count, worker: $0, seed: seed) } }
        var out = [[Float]](repeating: [], count: n)
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: n) { w in
            let t = SyntheticTensors.gradients(count: count, worker: w, seed: seed)
            lock.lock(); out[w] = t; lock.unlock()
        }
        return out
    }

    /// The E1 figures the issue sets targets for: in-network time over its bound, and the
    /// speedup over ring against 2(n-1)/n corrected for the two formats' efficiency.
    public static func e1Summary(_ rows: [ExperimentRow]) -> [String] {
        var out: [String] = []
        for rate in Set(rows.map(\.rateGbps)).sorted() {
            let at = rows.filter { $0.rateGbps == rate }
            guard let ring = at.first(where: { $0.scheme == "ring" }), let rt = ring.timeS else { continue }
            for r in at where r.scheme.hasPrefix("switchml") {
                guard let t = r.timeS, let k = r.elementsPerPacket, let ob = r.timeOverBound else { continue }
                let n = Double(r.workers)
                let ideal = 2 * (n - 1) / n * SwitchMLFormat.efficiency(elements: k) / TransportFormat.efficiency(mtu: 1500, countingAcks: true)
                let speedup = rt / t
                out.append(String(format: "%@ at %g Gb/s: %.2f%% above its bound S/(eta B); speedup over ring %.3f vs ideal %.3f (2(n-1)/n x eta %.3f / eta_ring %.3f): %+.2f%%",
                                  r.scheme, rate, (ob - 1) * 100, speedup, ideal,
                                  SwitchMLFormat.efficiency(elements: k), TransportFormat.efficiency(mtu: 1500, countingAcks: true),
                                  (speedup / ideal - 1) * 100))
            }
        }
        return out
    }

    // MARK: E2

    static func e2(_ s: ExperimentSettings, _ add: (ExperimentRow) -> Void) throws {
        let count = elements(10e6, s)
        for n in [2, 4, 8, 16, 32] {
            let (inputs, reference, buffers) = int32Problem(workers: n, elements: count, seed: s.seed)
            for scheme in [AllReduceScheme.inNetwork(k: 256), .baseline(.ring)] {
                var setup = StarSetup(workers: n, rateGbps: 100)
                setup.seed = s.seed
                setup.progress = s.progress
                add(try int32Row("ina-e2", scheme, setup, inputs: inputs, buffers: buffers, reference: reference, elements: count))
            }
        }
    }

    // MARK: E3

    static func e3(_ s: ExperimentSettings, _ add: (ExperimentRow) -> Void) throws {
        let n = 8, k = 256
        let count = elements(10e6, s)
        let (inputs, reference, buffers) = int32Problem(workers: n, elements: count, seed: s.seed)
        for slots in [4, 8, 16, 32, 64, 128, 256] {
            var setup = StarSetup(workers: n, rateGbps: 100)
            setup.seed = s.seed
            setup.poolSlots = slots
            setup.progress = s.progress
            var r = try int32Row("ina-e3", .inNetwork(k: k), setup, inputs: inputs, buffers: buffers, reference: reference, elements: count)
            let (lineRate, windowRate, rtt) = e3Bound(slots: Double(slots), k: k, setup: setup)
            let best = min(lineRate, windowRate)
            r.boundS = Double(count) / best
            r.timeOverBound = r.timeS.map { $0 / r.boundS! }
            r.note = String(format: "bound %.3g elements/s (%@), base RTT %.2f us", best, windowRate < lineRate ? "window" : "line rate", rtt * 1e6)
            add(r)
        }
    }

    /// E3's bound in elements per second: the line rate, and s x k elements per base round
    /// trip (both hops: serialization and delay); and that round trip (s).
    static func e3Bound(slots: Double, k: Int, setup: StarSetup) -> (lineRate: Double, windowRate: Double, rtt: Double) {
        let wire = Double(14 + 20 + 8 + SwitchMLFormat.payloadBytes(elements: k) + 24)
        let ser = wire * 8 / (setup.rateGbps * 1e9)
        let rtt = 2 * (ser + Double(setup.delay) / 1e12)
        let lineRate = SwitchMLFormat.efficiency(elements: k) * setup.rateGbps * 1e9 / 32
        return (lineRate, slots * Double(k) / rtt, rtt)
    }

    // MARK: E4

    static func e4(_ s: ExperimentSettings, _ add: (ExperimentRow) -> Void) throws {
        let n = 8, k = 64
        let count = elements(10e6, s)
        let (inputs, reference, buffers) = int32Problem(workers: n, elements: count, seed: s.seed)
        var base: Double?
        for loss in [0, 0.0001, 0.001, 0.01] {
            for timeout: Int64 in loss == 0 ? [1_000_000_000] : [100_000_000, 1_000_000_000, 10_000_000_000] {
                var setup = StarSetup(workers: n, rateGbps: 100)
                setup.seed = s.seed
                setup.loss = loss
                setup.timeout = timeout
                setup.progress = s.progress
                var r = try int32Row("ina-e4", .inNetwork(k: k), setup, inputs: inputs, buffers: buffers, reference: reference, elements: count)
                if loss == 0 { base = r.timeS }
                if let b = base, let t = r.timeS { r.note = String(format: "inflation %.2fx over no loss", t / b) }
                add(r)
            }
        }
    }

    // MARK: E5

    static func e5(_ s: ExperimentSettings, _ add: (ExperimentRow) -> Void) throws {
        let n = 8, k = 256
        let count = elements(4e6, s)
        let inputs = (0..<n).map { SyntheticTensors.gradients(count: count, worker: $0, seed: s.seed) }
        let reference = FloatReference(inputs)
        // The fp32 reference: a plain float32 sum in rank order.
        var fp32 = inputs[0]
        for w in inputs.dropFirst() { for i in 0..<count { fp32[i] += w[i] } }
        func errors(_ v: [Float]) -> (exact: Double, fp32: Double, mean: Double) {
            var worst = 0.0, worstFP = 0.0, total = 0.0
            for i in 0..<count {
                let e = abs(Double(v[i]) - reference.sum[i])
                worst = max(worst, e); total += e
                worstFP = max(worstFP, abs(Double(v[i]) - Double(fp32[i])))
            }
            return (worst, worstFP, total / Double(count))
        }
        var setup = StarSetup(workers: n, rateGbps: 100)
        setup.seed = s.seed
        setup.progress = s.progress
        let buffers = inputs.map { TensorBuffer($0) }
        let m = try AllReduceRunner.run(.inNetwork(k: k), setup: setup, buffers: buffers)
        var r = row("ina-e5", .inNetwork(k: k), setup, elements: count, m)
        let check = reference.checkBlocks(buffers, k: k)
        let e = errors(buffers[0].values)
        r.scheme = "switchml-bfp-k\(k)"
        r.maxAbsError = e.exact
        r.withinBound = check.withinBound && check.workersAgree
        r.note = String(format: "block floating point: max error vs fp32 sum %.3g, mean error vs exact %.3g", e.fp32, e.mean)
        add(r)

        // ATP's fixed scale: round(x * 1e6) in int32, summed with wrap-around, divided back.
        var fixed = [Float](repeating: 0, count: count)
        var clipped = 0, wrapped = 0
        for i in 0..<count {
            var sum: Int32 = 0, wide: Int64 = 0
            for w in inputs {
                let q = (Double(w[i]) * 1e6).rounded()
                let c = Int32(max(Double(Int32.min), min(Double(Int32.max), q)))
                if Double(c) != q { clipped += 1 }
                sum = sum &+ c; wide += Int64(c)
            }
            if Int64(sum) != wide { wrapped += 1 }
            fixed[i] = Float(Double(sum) / 1e6)
        }
        let f = errors(fixed)
        add(ExperimentRow(experiment: "ina-e5", scheme: "fixed-scale-1e6", workers: n, rateGbps: 100, sizeBytes: count * 4,
                          elementsPerPacket: nil, poolSlots: nil, loss: 0, timeoutS: nil, timeS: nil, elementsPerS: nil,
                          exact: false, maxAbsError: f.exact, withinBound: nil, boundS: nil, timeOverBound: nil,
                          retransmissions: nil, jobs: nil, job: nil,
                          note: String(format: "fixed scale 1e6: max error vs fp32 sum %.3g, mean error vs exact %.3g, %d values clipped, %d sums wrapped", f.fp32, f.mean, clipped, wrapped),
                          wallS: 0))
        let p = errors(fp32)
        add(ExperimentRow(experiment: "ina-e5", scheme: "fp32-sum", workers: n, rateGbps: 100, sizeBytes: count * 4,
                          elementsPerPacket: nil, poolSlots: nil, loss: 0, timeoutS: nil, timeS: nil, elementsPerS: nil,
                          exact: false, maxAbsError: p.exact, withinBound: nil, boundS: nil, timeOverBound: nil,
                          retransmissions: nil, jobs: nil, job: nil,
                          note: String(format: "the float32 reference itself: mean error vs exact %.3g", p.mean), wallS: 0))
    }
}
