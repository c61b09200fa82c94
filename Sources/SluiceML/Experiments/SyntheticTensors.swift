/// Seeded synthetic tensors for the experiments: the same seed gives the same bytes.
public enum SyntheticTensors {
    /// Gradient-like float32 values: roughly normal (a sum of four uniforms, scaled to
    /// standard deviation `sigma`) with heavy-tailed outliers: one value in 1024 is multiplied
    /// by 2^4 ... 2^11. One random draw per value, so 100 MB per worker takes a fraction of a
    /// second.
    public static func gradients(count: Int, worker: Int, seed: UInt64, sigma: Float = 1e-3) -> [Float] {
        var rng = Mix(seed ^ (UInt64(worker + 1) &* 0xA24B_AED4_963E_E407))
        let unit: Float = 1.0 / 65536.0
        // Sum of 4 uniforms on [0, 1): mean 2, variance 4/12.
        let norm = sigma / (4.0 / 12.0 as Float).squareRoot()
        return [Float](unsafeUninitializedCapacity: count) { b, n in
            for i in 0..<count {
                let r = rng.next()
                let s = Float(r & 0xFFFF) + Float((r >> 16) & 0xFFFF) + Float((r >> 32) & 0xFFFF) + Float((r >> 48) & 0xFFFF)
                var x = (s * unit - 2) * norm
                if r & 0x3FF == 0x155 {   // about 1 in 1024: an outlier
                    x *= Float(1 << (4 + Int((r >> 10) & 7)))
                }
                b[i] = x
            }
            n = count
        }
    }

    /// int32 values over the whole range, so sums wrap around (and must still be bit-exact).
    public static func integers(count: Int, worker: Int, seed: UInt64) -> [Int32] {
        var rng = Mix(seed ^ (UInt64(worker + 1) &* 0x9FB2_1C65_1E98_DF25))
        return [Int32](unsafeUninitializedCapacity: count) { b, n in
            var i = 0
            while i + 1 < count {
                let r = rng.next()
                b[i] = Int32(truncatingIfNeeded: r); b[i + 1] = Int32(truncatingIfNeeded: r >> 32)
                i += 2
            }
            if i < count { b[i] = Int32(truncatingIfNeeded: rng.next()) }
            n = count
        }
    }

    /// SplitMix64.
    struct Mix {
        var state: UInt64
        init(_ seed: UInt64) { state = seed }
        @inline(__always) mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}

/// The exact answer to compare every scheme against.
public enum Reference {
    /// Wrap-around int32 sum (any order gives the same bits).
    public static func sum(_ inputs: [[Int32]]) -> [Int32] {
        var out = inputs[0]
        out.withUnsafeMutableBufferPointer { o in
            for w in inputs.dropFirst() {
                w.withUnsafeBufferPointer { x in for i in 0..<o.count { o[i] = o[i] &+ x[i] } }
            }
        }
        return out
    }

    /// The sum in double precision (exact enough to measure float32 errors against).
    public static func sum(_ inputs: [[Float]]) -> [Double] {
        var out = [Double](repeating: 0, count: inputs[0].count)
        out.withUnsafeMutableBufferPointer { o in
            for w in inputs {
                w.withUnsafeBufferPointer { x in for i in 0..<o.count { o[i] += Double(x[i]) } }
            }
        }
        return out
    }
}
