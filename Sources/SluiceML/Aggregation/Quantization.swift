/// Block floating point, as SwitchML does it: each packet-sized block of float32 values is
/// sent as int32 at a scale chosen from the largest exponent any worker has in that block, so
/// that the sum of n values can never overflow int32.
///
/// - A block's exponent `e` is the smallest integer with `max|x| < 2^e`; it travels biased
///   (`e + 127`, clamped to 1 ... 255; 0 means an all-zero block) so the switch max-reduces it
///   with an unsigned max.
/// - The scale for a block whose reduced exponent is `E` is `f = floor((2^31 - 1) / n) / 2^E`.
///   Every `|x| < 2^E`, so `|round(x * f)| <= floor((2^31 - 1) / n)` and a sum of n of them
///   fits in int32.
/// - Each value is off by at most `0.5 / f` after rounding, so a sum of n is off by at most
///   `n * 0.5 / f` (`errorBound`), plus half a float32 ulp when the sum is rounded back to
///   float32. Tests check exactly this against a double-precision reference.
public enum Quantization {
    public static let bias = 127

    /// The biased exponent of a block (0 for a block of zeros). Non-finite values take the
    /// largest exponent (their sum is meaningless anyway).
    @inline(__always) public static func exponent(maxMagnitude m: Float) -> UInt8 {
        guard m != 0 else { return 0 }
        guard m.isFinite else { return 255 }
        let e = Int(m.exponent) + 1                 // m < 2^(exponent + 1)
        return UInt8(clamping: max(1, min(255, e + bias)))
    }

    /// The scale for a block of reduced biased exponent `biased` among `workers` workers (0 when
    /// every worker's block was zero).
    @inline(__always) public static func scale(biased: UInt8, workers: Int) -> Double {
        guard biased != 0 else { return 0 }
        let limit = Double((Int(Int32.max)) / max(1, workers))
        return limit / pow2(Int(biased) - bias)
    }

    /// `round(x * f)`, which `scale` keeps inside int32 for the sum of all workers.
    @inline(__always) public static func quantize(_ x: Float, scale f: Double) -> Int32 {
        guard f != 0 else { return 0 }
        // Round to nearest (ties to even) by adding and subtracting 1.5 x 2^52, exact for
        // |x f| < 2^51 (here below 2^31): no libm call per value.
        let d = Double(x) * f
        let q = (d + 6_755_399_441_055_744.0) - 6_755_399_441_055_744.0
        return Int32(max(-Double(Int32.max), min(Double(Int32.max), q)))
    }

    @inline(__always) public static func dequantize(_ sum: Int32, scale f: Double) -> Float {
        f == 0 ? 0 : Float(Double(sum) / f)
    }

    // MARK: a packet's values at once
    //
    // The worker's per-packet loops: the same results as `exponent(maxMagnitude:)`'s input,
    // `quantize` and `dequantize` value by value (`QuantizationTests` compares them), with
    // nothing inside the loops that checks and traps (a float-to-int conversion, index
    // arithmetic): `sluice demo --scale 0.02` runs 6% fewer instructions in all (callgrind),
    // and the compiler turns the dequantizing loop into vector divisions.

    /// The largest |x| of `count` values at `v`, ignoring NaNs as `max` does: the integer
    /// maximum of the magnitudes' bit patterns, which order as the magnitudes do.
    @inline(__always) public static func maxMagnitude(_ v: UnsafePointer<Float>, count: Int) -> Float {
        var m: UInt32 = 0
        for i in 0..<count {
            let b = v[i].bitPattern & 0x7FFF_FFFF
            m = Swift.max(m, b > 0x7F80_0000 ? 0 : b)
        }
        return Float(bitPattern: m)
    }

    /// `quantize` of `count` values at `v`, stored big-endian at `out`. Clamping to
    /// +-(2^31 - 1) before rounding gives what rounding then clamping gives, and the low 32 bits
    /// of `c + 1.5 x 2^52` are `c` rounded to the nearest integer (ties to even).
    @inline(__always) public static func quantizeBigEndian(_ v: UnsafePointer<Float>, count: Int, scale f: Double,
                                                           into out: UnsafeMutableRawPointer) {
        guard f != 0 else { out.initializeMemory(as: UInt8.self, repeating: 0, count: 4 * count); return }
        let limit = Double(Int32.max)
        for i in 0..<count {
            let d = Double(v[i]) * f
            let c = d < limit ? (d > -limit ? d : -limit) : limit    // NaN: limit, as `quantize`
            let r = UInt32(truncatingIfNeeded: (c + 6_755_399_441_055_744.0).bitPattern)
            out.storeBytes(of: r.bigEndian, toByteOffset: 4 &* i, as: UInt32.self)
        }
    }

    /// `dequantize` of `count` big-endian int32 sums at `sums`, into `out`.
    @inline(__always) public static func dequantizeBigEndian(_ sums: UnsafeRawPointer, count: Int, scale f: Double,
                                                             into out: UnsafeMutablePointer<Float>) {
        guard f != 0 else { out.update(repeating: 0, count: count); return }
        for i in 0..<count {
            let s = Int32(bitPattern: UInt32(bigEndian: sums.loadUnaligned(fromByteOffset: 4 &* i, as: UInt32.self)))
            out[i] = Float(Double(s) / f)
        }
    }

    /// The most a dequantized sum of `workers` values can differ from the exact sum (before the
    /// final rounding to float32): `n * 0.5 / f`.
    public static func errorBound(biased: UInt8, workers: Int) -> Double {
        let f = scale(biased: biased, workers: workers)
        return f == 0 ? 0 : Double(workers) * 0.5 / f
    }

    @inline(__always) static func pow2(_ e: Int) -> Double {
        Double(sign: .plus, exponent: e, significand: 1)
    }
}
