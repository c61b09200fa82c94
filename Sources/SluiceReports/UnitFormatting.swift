import Foundation

/// "45.0 Gb/s": decimal (SI) units, one decimal.
public func formatRate(bitsPerSecond: Double) -> String {
    scaledUnit(bitsPerSecond, base: 1000, units: ["b/s", "kb/s", "Mb/s", "Gb/s", "Tb/s", "Pb/s"], decimalsBelowBase: 1)
}

/// "4.0 MiB": binary units, one decimal; whole bytes below 1 KiB ("512 B").
public func formatBytes<T: BinaryInteger>(_ bytes: T) -> String {
    scaledUnit(Double(bytes), base: 1024, units: ["B", "KiB", "MiB", "GiB", "TiB", "PiB"], decimalsBelowBase: 0)
}

/// `value` in the largest unit that keeps it at or above 1 (after rounding to one decimal);
/// the first unit uses `decimalsBelowBase` decimals.
private func scaledUnit(_ value: Double, base: Double, units: [String], decimalsBelowBase: Int) -> String {
    guard value.isFinite else { return "\(value) \(units[0])" }
    var v = value, i = 0
    while i < units.count - 1 && (abs(v) * 10).rounded() / 10 >= base {
        v /= base; i += 1
    }
    let decimals = i == 0 ? decimalsBelowBase : 1
    return String(format: "%.\(decimals)f", v) + " " + units[i]
}

/// "1.234 ms", "320 ns", "1.5 us", "2 s": the largest unit that keeps the value at or above 1,
/// at most three decimals, trailing zeros dropped. Exact integer arithmetic, rounding half up.
public func formatTime(picoseconds: Int64) -> String {
    if picoseconds == 0 { return "0 s" }
    let sign = picoseconds < 0 ? "-" : ""
    let ps = picoseconds.magnitude
    if ps < 1000 { return "\(sign)\(ps) ps" }
    // Thousandths of a unit are (ps / scale * 1000), i.e. ps divided by scale/1000.
    let units: [(UInt64, String)] = [(1, "ns"), (1000, "us"), (1_000_000, "ms"), (1_000_000_000, "s")]
    var u = 0
    while u < units.count - 1 && ps >= units[u + 1].0 * 1000 { u += 1 }
    var thousandths = (ps + units[u].0 / 2) / units[u].0
    if thousandths >= 1_000_000 && u < units.count - 1 {
        u += 1
        thousandths = (ps + units[u].0 / 2) / units[u].0
    }
    var text = String(thousandths / 1000)
    let frac = thousandths % 1000
    if frac != 0 {
        var digits = String(frac)
        digits = String(repeating: "0", count: 3 - digits.count) + digits
        while digits.hasSuffix("0") { digits.removeLast() }
        text += "." + digits
    }
    return sign + text + " " + units[u].1
}
