#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
        var exponents = [UInt8](repeating: 0, count: blocks)
        exponents.withUnsafeMutableBufferPointer { e in
            for w in inputs {
                w.withUnsafeBufferPointer { x in
                    for b in 0..<blocks {
                        let m = Quantization.maxMagnitude(x.baseAddress! + b * k, count: min(count, b * k + k) - b * k)
                        e[b] = max(e[b], Quantization.exponent(maxMagnitude: m))
                    }
                }
            }
        }
        return exponents.map { Quantization.errorBound(biased: $0, workers: workers) }
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
        return bounds.withUnsafeBufferPointer { b in
            check(outputs) { v, s in Self.errors(v, s) { i, x in b[i / k] + Double(x.ulp) / 2 } }
        }
    }

    /// Host collectives: n - 1 float32 additions in some order, each rounding by at most half
    /// an ulp of a partial sum no larger than the sum of magnitudes: (n - 1) * 2^-24 * sum|x|.
    public func checkSummation(_ outputs: [TensorBuffer<Float>]) -> Check {
        let g = Double(max(1, workers - 1)) * 0x1p-24 * 1.000001
        return magnitude.withUnsafeBufferPointer { m in
            check(outputs) { v, s in Self.errors(v, s) { i, _ in g * m[i] } }
        }
    }

    /// The largest error of `v` against `s`, and whether every element is within `bound(i, v[i])`
    /// (a NaN stays the largest error and is within no bound). Inlined with its bound, so the
    /// loop makes no call per element.
    @inline(__always)
    static func errors(_ v: UnsafeBufferPointer<Float>, _ s: UnsafeBufferPointer<Double>, bound: (Int, Float) -> Double) -> (Double, Bool) {
        var worst = 0.0, within = true
        for i in 0..<v.count {
            let e = abs(Double(v[i]) - s[i])
            if e > worst || e.isNaN { worst = e }
            if !(e <= bound(i, v[i])) { within = false }
        }
        return (worst, within)
    }

    /// `measure(values, reference)` gives a tensor's largest error and whether every element is
    /// within its bound. Workers that hold bit-for-bit the first worker's tensor are not measured
    /// again (in the usual case, one pass instead of n).
    func check(_ outputs: [TensorBuffer<Float>],
               measure: (UnsafeBufferPointer<Float>, UnsafeBufferPointer<Double>) -> (Double, Bool)) -> Check {
        var worst = 0.0
        var within = true
        var agree = true
        let first = outputs[0].values
        first.withUnsafeBufferPointer { f in
            for (w, o) in outputs.enumerated() {
                o.values.withUnsafeBufferPointer { v in
                    let same = w > 0 && v.count == f.count
                        && (v.count == 0 || memcmp(v.baseAddress!, f.baseAddress!, v.count * MemoryLayout<Float>.stride) == 0)
                    if w > 0 && !same { agree = false }
                    if w == 0 || !same {
                        sum.withUnsafeBufferPointer { s in
                            guard v.count == s.count else { within = false; return }
                            let (e, ok) = measure(v, s)
                            if e > worst || e.isNaN { worst = e }   // a NaN stays
                            within = within && ok
                        }
                    }
                }
            }
        }
        return Check(maxAbsError: worst, withinBound: within, workersAgree: agree)
    }
}
