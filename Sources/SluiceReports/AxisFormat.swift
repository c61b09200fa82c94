import Foundation

/// How an axis labels its values.
public enum AxisFormat: Sendable, Equatable {
    /// Plain numbers with SI suffixes: 250, 1.5k, 2M.
    case number
    /// Seconds, labelled in the unit that fits each tick: 500 ns, 1.5 us, 2 ms, 1 s.
    case seconds
    /// A fraction labelled as a percentage: 0.25 -> 25%.
    case percent

    /// The label of `value` on an axis whose ticks are `step` apart: just enough decimals to
    /// tell neighbouring ticks apart, trailing zeros dropped.
    public func label(_ value: Double, step: Double) -> String {
        if value == 0 { return self == .percent ? "0%" : "0" }
        switch self {
        case .number:
            let scales: [(Double, String)] = [(1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]
            for (scale, suffix) in scales where abs(value) >= scale {
                return decimal(value / scale, step: step / scale) + suffix
            }
            return decimal(value, step: step)
        case .seconds:
            let scales: [(Double, String)] = [(1, "s"), (1e-3, "ms"), (1e-6, "us"), (1e-9, "ns")]
            for (scale, unit) in scales where abs(value) >= scale * 0.999_999 {
                return decimal(value / scale, step: step / scale) + " " + unit
            }
            return decimal(value / 1e-12, step: step / 1e-12) + " ps"
        case .percent:
            return decimal(value * 100, step: step * 100) + "%"
        }
    }

    private func decimal(_ v: Double, step: Double) -> String {
        let digits = step > 0 && step.isFinite ? min(max(0, Int((-log10(step)).rounded(.up))), 6) : 3
        var s = String(format: "%.\(digits)f", v)
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        return s == "-0" ? "0" : s
    }
}

/// Axis ticks at 1, 2 or 5 x 10^n, the smallest such step that needs at most about `count`
/// intervals, from the multiple of the step at or below `min` to the one at or above `max`.
/// Values are built as integer x power of ten, so 0.3 prints as 0.3.
public func niceTicks(min lo: Double, max hi: Double, count: Int = 5) -> [Double] {
    guard lo.isFinite, hi.isFinite else { return [0, 1] }
    var lo = lo, hi = hi
    if lo > hi { swap(&lo, &hi) }
    if lo == hi {
        let pad = lo == 0 ? 1 : abs(lo) * 0.5
        lo -= pad; hi += pad
    }
    guard (hi - lo).isFinite else { return [lo, hi] }
    let (mantissa, exponent) = niceStep(range: hi - lo, count: Swift.max(count, 1))
    let step = scaled(Double(mantissa), exponent)
    let first = (lo / step).rounded(.down), last = (hi / step).rounded(.up)
    guard last - first < 10_000 else { return [lo, hi] }
    return (Int(first)...Int(last)).map { scaled(Double($0 * mantissa), exponent) }
}

/// The step of `niceTicks` as mantissa (1, 2 or 5) and power of ten.
private func niceStep(range: Double, count: Int) -> (Int, Int) {
    let rough = range / Double(count)
    var exponent = Int(log10(rough).rounded(.down))
    let base = scaled(1, exponent)
    // Tolerate rounding: a rough step of 0.19999999 is 0.2.
    let r = rough / base * (1 - 1e-9)
    let mantissa: Int
    if r <= 1 { mantissa = 1 } else if r <= 2 { mantissa = 2 } else if r <= 5 { mantissa = 5 } else { mantissa = 1; exponent += 1 }
    return (mantissa, exponent)
}

private func scaled(_ v: Double, _ exponent: Int) -> Double {
    exponent >= 0 ? v * pow(10, Double(exponent)) : v / pow(10, Double(-exponent))
}

/// How an axis maps values to positions. Log axes suit parameters that double (workers, pool
/// sizes: base 2) or span decades (loss rates: base 10); they drop values at or below zero.
public enum AxisScale: Sendable, Equatable {
    case linear
    case log2
    case log10

    func transform(_ v: Double) -> Double {
        switch self {
        case .linear: return v
        case .log2: return Foundation.log2(v)
        case .log10: return Foundation.log10(v)
        }
    }

    func accepts(_ v: Double) -> Bool { self == .linear || v > 0 }
}

/// Ticks of a log axis over [lo, hi] (both > 0): every power of the base inside, or every
/// other when there are more than 12; on base 10 over less than two decades, 2 and 5 times each
/// power too. The first and last tick bracket the range.
public func logTicks(min lo: Double, max hi: Double, scale: AxisScale) -> [Double] {
    guard lo > 0, hi >= lo, lo.isFinite, hi.isFinite else { return [1] }
    let base = scale == .log2 ? 2.0 : 10.0
    let a = Int((scale.transform(lo) + 1e-9).rounded(.down)), b = Int((scale.transform(hi) - 1e-9).rounded(.up))
    var powers = (a...max(a, b)).map { pow(base, Double($0)) }
    if powers.count > 13 { powers = powers.enumerated().filter { $0.offset % 2 == 0 }.map(\.element) }
    if scale == .log10 && b - a <= 2 {
        powers = powers.flatMap { [$0, 2 * $0, 5 * $0] }.filter { $0 <= pow(base, Double(b)) * 1.000_001 }
        // Keep the ticks that bracket the data and those inside.
        let first = powers.lastIndex { $0 <= lo * 1.000_001 } ?? 0
        let last = powers.firstIndex { $0 >= hi * 0.999_999 } ?? powers.count - 1
        powers = Array(powers[first...last])
    }
    return powers
}
