import Testing
import SluiceRuntime
@testable import SluiceML

@Suite struct QuantizationTests {
    /// Values where the packet loops could part from the value-by-value formulas: zeros of both
    /// signs, NaNs, infinities, subnormals, float32's extremes, and products at and around
    /// +-(2^31 - 1) and the rounding ties of the scales below.
    static let edges: [Float] = [0, -0, .nan, -.nan, .infinity, -.infinity, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
                                 .leastNormalMagnitude, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
                                 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 1, -1, 3e-7, 65535.5, -65535.5, 1e9, -1e9,
                                 2_147_483_520, -2_147_483_520, 2_147_483_648, -2_147_483_648, 4.3e9, -4.3e9, 1e20, -1e20]

    static func values(seed: UInt64, count: Int) -> [Float] {
        var rng = SplitMix64(seed: seed)
        return edges + (0..<count).map { _ in
            // Random bit patterns (every exponent, NaNs among them) and gradient-sized values.
            rng.next() & 1 == 0 ? Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()))
                                : Float(Double.random(in: -1..<1, using: &rng)) * 1e-3
        }
    }

    @Test func thePacketLoopsGiveTheValueByValueResults() {
        let seed: UInt64 = 0xB17_5EED
        print("QuantizationTests seed \(seed)")
        let v = Self.values(seed: seed, count: 20_000)
        // A block of k values at every offset: the loops' vector bodies and their remainders.
        for k in [1, 3, 64, 67, 256] {
            for start in stride(from: 0, to: v.count - k, by: 97) {
                let block = Array(v[start..<(start + k)])
                let expected = block.reduce(Float(0)) { max($0, abs($1)) }
                let got = block.withUnsafeBufferPointer { Quantization.maxMagnitude($0.baseAddress!, count: k) }
                #expect(got.bitPattern == expected.bitPattern, "maxMagnitude of k = \(k) values at \(start)")
            }
        }
        for f in [0, 1, 0.5, 1.0 / 3, 2_147_483_647.0 / 8 / 4, 1e-10, 1e10, 2_147_483_647.0] as [Double] {
            var bytes = [UInt8](repeating: 0xAA, count: 4 * v.count)
            v.withUnsafeBufferPointer { src in
                bytes.withUnsafeMutableBytes { Quantization.quantizeBigEndian(src.baseAddress!, count: v.count, scale: f, into: $0.baseAddress!) }
            }
            for (i, x) in v.enumerated() {
                let q = Int32(bitPattern: UInt32(bytes[4 * i]) << 24 | UInt32(bytes[4 * i + 1]) << 16 | UInt32(bytes[4 * i + 2]) << 8 | UInt32(bytes[4 * i + 3]))
                if q != Quantization.quantize(x, scale: f) { Issue.record("quantize \(x) at scale \(f): \(q), value by value \(Quantization.quantize(x, scale: f))"); break }
            }
            // Sums back: every int32, big-endian.
            var sums = [Float](repeating: 1, count: v.count)
            bytes.withUnsafeBytes { b in sums.withUnsafeMutableBufferPointer { Quantization.dequantizeBigEndian(b.baseAddress!, count: v.count, scale: f, into: $0.baseAddress!) } }
            for i in 0..<v.count {
                let s = Int32(bitPattern: UInt32(bytes[4 * i]) << 24 | UInt32(bytes[4 * i + 1]) << 16 | UInt32(bytes[4 * i + 2]) << 8 | UInt32(bytes[4 * i + 3]))
                if sums[i].bitPattern != Quantization.dequantize(s, scale: f).bitPattern { Issue.record("dequantize \(s) at scale \(f)"); break }
            }
        }
    }

    @Test func exponentBoundsTheBlock() {
        for m: Float in [1e-30, 0.001, 0.5, 0.75, 1, 1.5, 2, 3.9, 1024, 3e38] {
            let e = Int(Quantization.exponent(maxMagnitude: m)) - Quantization.bias
            // The smallest e with m < 2^e.
            #expect(Double(m) < Quantization.pow2(e), "m = \(m), e = \(e)")
            #expect(Double(m) >= Quantization.pow2(e - 1), "m = \(m), e = \(e)")
        }
        #expect(Quantization.exponent(maxMagnitude: 0) == 0)
        #expect(Quantization.exponent(maxMagnitude: .infinity) == 255)
    }

    /// n workers' values at the largest magnitude their exponent allows never overflow int32
    /// when summed, and the dequantized sum is within n * 0.5 / f of the exact sum.
    @Test(arguments: [2, 3, 8, 32]) func sumsFitAndStayWithinTheBound(workers n: Int) {
        let seed: UInt64 = 0x51_1CE + UInt64(n)
        print("QuantizationTests seed \(seed)")
        var rng = SplitMix64(seed: seed)
        for _ in 0..<200 {
            let scaleExp = Int(rng.next() % 40) - 20
            let values = (0..<n).map { _ in Float(Double.random(in: -1..<1, using: &rng)) * Float(Quantization.pow2(scaleExp)) }
            let biased = values.map { Quantization.exponent(maxMagnitude: abs($0)) }.max()!
            let f = Quantization.scale(biased: biased, workers: n)
            var sum: Int64 = 0
            for v in values { sum += Int64(Quantization.quantize(v, scale: f)) }
            #expect(sum <= Int64(Int32.max) && sum >= -Int64(Int32.max))
            let exact = values.reduce(0.0) { $0 + Double($1) }
            let result = Quantization.dequantize(Int32(sum), scale: f)
            let bound = Quantization.errorBound(biased: biased, workers: n) + Double(result.ulp) / 2
            #expect(abs(Double(result) - exact) <= bound, "values \(values)")
        }
        // The extreme: every worker at just under 2^e, same sign.
        let top = Float(Quantization.pow2(3)).nextDown
        let f = Quantization.scale(biased: Quantization.exponent(maxMagnitude: top), workers: n)
        let q = Int64(Quantization.quantize(top, scale: f))
        #expect(q * Int64(n) <= Int64(Int32.max))
    }

    /// Rounding is to nearest, and values that are not finite saturate instead of trapping.
    @Test func roundingAndNonFiniteValues() {
        #expect(Quantization.quantize(1.25, scale: 2) == 2)       // 2.5: ties to even
        #expect(Quantization.quantize(1.75, scale: 2) == 4)       // 3.5
        #expect(Quantization.quantize(-1.3, scale: 10) == -13)
        #expect(Quantization.quantize(.infinity, scale: 1) == Int32.max)
        #expect(Quantization.quantize(-.infinity, scale: 1) == -Int32.max)
        _ = Quantization.quantize(.nan, scale: 1)                 // must not trap
    }
}
