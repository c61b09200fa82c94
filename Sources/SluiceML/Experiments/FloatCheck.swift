/// Checks reduced tensors against the reference, with each scheme's documented error bound.
public struct FloatReference {
    public let workers: Int
    /// The exact (double) sum and the sum of magnitudes, per element.
    public let sum: [Double]
    public let magnitude: [Double]
    let inputs: [[Float]]

    public init(_ inputs: [[Float]]) {
        self.inputs = inputs
        workers = inputs.count
        sum = Reference.sum(inputs)
        var m = [Double](repeating: 0, count: inputs[0].count)
        m.withUnsafeMutableBufferPointer { o in
            for w in inputs { w.withUnsafeBufferPointer { x in for i in 0..<o.count { o[i] += Double(abs(x[i])) } } }
        }
        magnitude = m
    }

    /// The block floating point bound for blocks of k: n * 0.5 / f of each block's reduced
    /// exponent (`Quantization.errorBound`).
    public func blockBounds(k: Int) -> [Double] {
        let count = sum.count
        let blocks = (count + k - 1) / k
        var out = [Double](repeating: 0, count: blocks)
        for b in 0..<blocks {
            var e: UInt8 = 0
            for w in inputs {
                var m: Float = 0
                for i in (b * k)..<min(count, b * k + k) { m = max(m, abs(w[i])) }
                e = max(e, Quantization.exponent(maxMagnitude: m))
            }
            out[b] = Quantization.errorBound(biased: e, workers: workers)
        }
        return out
    }

    public struct Check: Sendable {
        public var maxAbsError: Double
        /// Every element of every worker within its bound.
        public var withinBound: Bool
        /// Every worker holds bit-for-bit the same tensor.
        public var workersAgree: Bool
    }

    /// In-network results: within the block bound plus half an ulp of the float32 result.
    public func checkBlocks(_ outputs: [TensorBuffer<Float>], k: Int) -> Check {
        let bounds = blockBounds(k: k)
        return check(outputs) { i, r in bounds[i / k] + Double(r.ulp) / 2 }
    }

    /// Host collectives: n - 1 float32 additions in some order, each rounding by at most half
    /// an ulp of a partial sum no larger than the sum of magnitudes: (n - 1) * 2^-24 * sum|x|.
    public func checkSummation(_ outputs: [TensorBuffer<Float>]) -> Check {
        let g = Double(max(1, workers - 1)) * 0x1p-24 * 1.000001
        return check(outputs) { i, _ in g * magnitude[i] }
    }

    func check(_ outputs: [TensorBuffer<Float>], bound: (Int, Float) -> Double) -> Check {
        var worst = 0.0
        var within = true
        var agree = true
        let first = outputs[0].values
        for o in outputs {
            o.values.withUnsafeBufferPointer { v in
                sum.withUnsafeBufferPointer { s in
                    for i in 0..<v.count {
                        let e = abs(Double(v[i]) - s[i])
                        if e > worst { worst = e }
                        if e > bound(i, v[i]) { within = false }
                    }
                }
            }
            if agree && o.values != first { agree = false }
        }
        return Check(maxAbsError: worst, withinBound: within, workersAgree: agree)
    }
}
