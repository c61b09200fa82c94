import Testing
import SluiceRuntime
@testable import SluiceML

@Suite struct QuantizationTests {
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
